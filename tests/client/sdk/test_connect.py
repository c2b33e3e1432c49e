"""How the SDK reaches a server: a variable that looks like the server's URL but is not read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from tests.services.live_server import LiveServer

from dockyard.client.http import ClientSettings, SocketTransport
from dockyard.client.sdk._connect import connect
from dockyard.settings import Settings


def test_a_lookalike_of_the_servers_url_is_named_with_the_one_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DOCKYARD_URI", raising=False)
    monkeypatch.setenv("DOCKYARD_URL", "http://127.0.0.1:9")
    with pytest.warns(UserWarning, match="DOCKYARD_URL is set, but .* DOCKYARD_URI") as seen:
        connect(Settings(home=tmp_path)).close()
    assert str(tmp_path) in str(seen[0].message)  # where the embedded default keeps its data


def test_no_warning_when_the_url_is_set_where_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, recwarn: pytest.WarningsRecorder
) -> None:
    monkeypatch.setenv("DOCKYARD_URL", "http://127.0.0.1:9")
    connect(Settings(home=tmp_path, uri="http://127.0.0.1:9")).close()
    monkeypatch.delenv("DOCKYARD_URL")
    connect(Settings(home=tmp_path)).close()
    assert not [w for w in recwarn if "DOCKYARD_URI" in str(w.message)]


def test_the_cli_prints_the_warning_as_one_plain_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKYARD_")}
    env.update(DOCKYARD_HOME=str(tmp_path), DOCKYARD_URL="http://127.0.0.1:9")
    dockyard = Path(sys.executable).parent / "dockyard"
    done = subprocess.run(
        [str(dockyard), "experiments", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith(
        "warning: DOCKYARD_URL is set, but Dockyard reads a server's URL from DOCKYARD_URI"
    )
    assert len(done.stderr.splitlines()) == 1  # no source line under it


@pytest.fixture
def proxy() -> Iterator[tuple[str, list[str]]]:
    """A forward proxy that answers every request itself and records its target."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *_: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
def test_a_proxy_named_by_the_environment_carries_the_sdks_requests(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    proxy: tuple[str, list[str]],
    variable: str,
) -> None:
    # Plain HTTP goes over the light socket transport, which knows no proxies: a proxy in the
    # environment must still be used, as it was when every SDK request went through httpx.
    address, seen = proxy
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv(variable, address)
    with connect(Settings(home=tmp_path, uri="http://dockyard.invalid:5050")) as client:
        assert client.request("GET", "/api/v1/ping") == {}
    assert seen == ["http://dockyard.invalid:5050/api/v1/ping"]


def test_without_a_proxy_plain_http_keeps_one_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, proxy: tuple[str, list[str]]
) -> None:
    address, seen = proxy  # here the server itself: requests reach it directly
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    with connect(Settings(home=tmp_path, uri=address)) as client:
        assert isinstance(client._transport, SocketTransport)
        client.request("GET", "/api/v1/ping")
    assert seen == ["/api/v1/ping"]


# A training script as users write them; then the modules it loaded.
_SCRIPT = """
import json, sys
import dockyard as dy
with dy.start_run():
    dy.log_metric("loss", 0.5)
print(json.dumps(sorted(name for name, module in sys.modules.items() if module is not None)))
"""


def test_a_script_against_a_server_loads_no_settings_stack(
    live_server: LiveServer, tmp_path: Path
) -> None:
    # pydantic-settings (for every setting the server has) was a sixth of a script's start.
    env = {**os.environ, "DOCKYARD_URI": live_server.url, "DOCKYARD_HOME": str(tmp_path)}
    env.pop("DOCKYARD_TOKEN", None)
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    loaded = set(json.loads(done.stdout.splitlines()[-1]))
    heavy = {"pydantic_settings", "dockyard.settings", "httpx", "dockyard.server", "fastapi"}
    assert loaded & heavy == set()


@pytest.mark.parametrize(
    "given",
    [
        {"DOCKYARD_URI": "http://127.0.0.1:5050"},
        {
            "dockyard_uri": "http://h:1",
            "DOCKYARD_token": "tok",
            "Dockyard_Run_Id": "r1",
            "DOCKYARD_HOME": "~/elsewhere",
        },
        {"DOCKYARD_URI": "http://h:1", "DOCKYARD_TOKEN": "", "DOCKYARD_RUN_ID": ""},
        {"DOCKYARD_URI": "http://h:1", "DOCKYARD_HOME": "/srv/dockyard"},
    ],
)
def test_the_clients_settings_are_read_as_settings_reads_them(
    monkeypatch: pytest.MonkeyPatch, given: dict[str, str]
) -> None:
    for name in list(os.environ):
        if name.lower().startswith("dockyard_"):
            monkeypatch.delenv(name)
    for name, value in given.items():
        monkeypatch.setenv(name, value)
    light = ClientSettings.from_env()
    full = Settings()
    assert light is not None
    assert light.uri == full.uri
    assert light.token == (full.token.get_secret_value() if full.token else None)
    assert light.run_id == (full.run_id or None)
    assert light.home == full.home
    monkeypatch.delenv("DOCKYARD_URI", raising=False)
    monkeypatch.delenv("dockyard_uri", raising=False)
    assert ClientSettings.from_env() is None  # the embedded default: every setting is read
