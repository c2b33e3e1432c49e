"""Settings: a bad one is refused by the name it was given, without pydantic's dump."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.errors import InvalidArgument
from dockyard.settings import Settings


def test_a_bad_setting_from_the_environment_is_named_as_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCKYARD_PORT", "abc")
    monkeypatch.setenv("DOCKYARD_MAX_UPLOAD_MB", "lots")
    with pytest.raises(InvalidArgument) as caught:
        Settings()
    message = caught.value.message
    assert message.startswith("invalid settings: "), message
    assert "DOCKYARD_PORT: Input should be a valid integer" in message
    assert "DOCKYARD_MAX_UPLOAD_MB: " in message
    assert "pydantic" not in message and "\n" not in message


def test_a_bad_setting_given_in_code_is_named_as_the_field(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCKYARD_PORT", "abc")
    with pytest.raises(InvalidArgument, match=r"^invalid setting: port: "):
        Settings(port="nope")
    assert Settings(port=5051).port == 5051  # the environment's bad value is not read


def test_pipeline_functions_that_are_not_json_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKYARD_PIPELINE_FUNCTIONS", "{'score': 'mypkg.tasks:score'}")
    with pytest.raises(InvalidArgument) as caught:
        Settings()
    assert caught.value.message.startswith("invalid setting: DOCKYARD_PIPELINE_FUNCTIONS: ")
    assert "not JSON" in caught.value.message
    monkeypatch.setenv("DOCKYARD_PIPELINE_FUNCTIONS", '{"score": "mypkg.tasks:score"}')
    assert Settings().pipeline_functions == {"score": "mypkg.tasks:score"}
    monkeypatch.setenv("DOCKYARD_PIPELINE_FUNCTIONS", "")
    assert Settings().pipeline_functions == {}


def test_with_tls_local_processes_get_the_loopback_listener(tmp_path: Path) -> None:
    plain = Settings(home=tmp_path, host="0.0.0.0", port=8443)
    assert plain.server_url == "http://127.0.0.1:8443" and plain.resolved_local_port is None
    tls = Settings(home=tmp_path, host="0.0.0.0", port=8443, ssl_certfile="cert.pem")
    assert tls.server_url == "http://127.0.0.1:8444"
    chosen = Settings(home=tmp_path, port=8443, ssl_certfile="c.pem", local_port=9000)
    assert chosen.server_url == "http://127.0.0.1:9000"


def test_local_processes_reach_a_server_bound_to_an_ipv6_address(tmp_path: Path) -> None:
    """A server bound to ``::1`` handed its jobs ``http://::1:5050``, which no client parses
    (the port reads as part of the address): an IPv6 address is bracketed in a URL."""
    assert Settings(home=tmp_path, host="::1").server_url == "http://[::1]:5050"
    assert Settings(home=tmp_path, host="fd00::5", port=80).server_url == "http://[fd00::5]:80"
    assert Settings(home=tmp_path, host="::").server_url == "http://127.0.0.1:5050"
