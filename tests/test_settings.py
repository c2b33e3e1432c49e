"""Settings: a bad one is refused by the name it was given, without pydantic's dump."""

from __future__ import annotations

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
