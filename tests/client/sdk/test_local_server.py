"""The SDK reuses the local server it started only while that server runs the same code."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from dockyard.client.sdk import _local_server
from dockyard.settings import Settings


class _Healthy(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 404)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def healthy_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Healthy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def old_server(healthy_url: str) -> Iterator[subprocess.Popen[bytes]]:
    # Its command line reads as the recorded server's: only such a process is ever signalled.
    port = healthy_url.rsplit(":", 1)[1]
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    proc = subprocess.Popen([*sleeper, "dockyard", "server", "--port", port])
    yield proc
    proc.kill()
    proc.wait()


def _settings(home: Path, **fields: object) -> Settings:
    return Settings(home=home, **fields)  # type: ignore[arg-type]


def test_a_server_running_this_code_is_reused(tmp_path: Path, healthy_url: str) -> None:
    settings = _settings(tmp_path, pipeline_functions={"score": "tasks:score"})
    state = tmp_path / "server.json"
    state.write_text(json.dumps({"url": healthy_url, "pid": -1, **_local_server._code(settings)}))
    assert _local_server._reusable(state, settings) == healthy_url


@pytest.mark.parametrize("field", ["version", "code", "python"])
def test_a_server_running_other_code_is_stopped_not_reused(
    tmp_path: Path, healthy_url: str, old_server: subprocess.Popen[bytes], field: str
) -> None:
    settings = _settings(tmp_path)
    recorded = {"url": healthy_url, "pid": old_server.pid, **_local_server._code(settings)}
    recorded[field] = "something else"
    state = tmp_path / "server.json"
    state.write_text(json.dumps(recorded))
    assert _local_server._reusable(state, settings) is None
    assert old_server.wait(timeout=10) == -15  # SIGTERM


def test_a_server_started_with_other_functions_is_replaced(
    tmp_path: Path, healthy_url: str, old_server: subprocess.Popen[bytes]
) -> None:
    # An earlier script's server knows only its functions: this one's would be "no function".
    earlier = _settings(tmp_path, pipeline_functions={"other": "tasks:other"})
    recorded = {"url": healthy_url, "pid": old_server.pid, **_local_server._code(earlier)}
    state = tmp_path / "server.json"
    state.write_text(json.dumps(recorded))
    now = _settings(tmp_path, pipeline_functions={"score": "tasks:score"})
    assert _local_server._reusable(state, now) is None
    assert old_server.wait(timeout=10) == -15


def test_a_server_started_with_more_functions_is_reused(tmp_path: Path, healthy_url: str) -> None:
    # The demo's server knows its functions; a script registering none, or some of them, uses it.
    demo = _settings(tmp_path, pipeline_functions={"score": "tasks:score", "x": "tasks:x"})
    state = tmp_path / "server.json"
    state.write_text(json.dumps({"url": healthy_url, "pid": -1, **_local_server._code(demo)}))
    assert _local_server._reusable(state, _settings(tmp_path)) == healthy_url
    some = _settings(tmp_path, pipeline_functions={"score": "tasks:score"})
    assert _local_server._reusable(state, some) == healthy_url


def test_a_server_over_another_store_is_replaced(
    tmp_path: Path, healthy_url: str, old_server: subprocess.Popen[bytes]
) -> None:
    earlier = _settings(tmp_path, artifact_root=str(tmp_path / "elsewhere"))
    recorded = {"url": healthy_url, "pid": old_server.pid, **_local_server._code(earlier)}
    state = tmp_path / "server.json"
    state.write_text(json.dumps(recorded))
    assert _local_server._reusable(state, _settings(tmp_path)) is None
    assert old_server.wait(timeout=10) == -15


def test_functions_imported_from_another_path_replace_the_server(
    tmp_path: Path,
    healthy_url: str,
    old_server: subprocess.Popen[bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = _settings(tmp_path, pipeline_functions={"score": "tasks:score"})
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "before"))
    recorded = {"url": healthy_url, "pid": old_server.pid, **_local_server._code(settings)}
    state = tmp_path / "server.json"
    state.write_text(json.dumps(recorded))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "functions"))
    assert _local_server._reusable(state, _settings(tmp_path)) == healthy_url  # none to import
    assert _local_server._reusable(state, settings) is None
    assert old_server.wait(timeout=10) == -15


def test_a_record_from_before_versions_were_recorded_is_replaced(
    tmp_path: Path, healthy_url: str, old_server: subprocess.Popen[bytes]
) -> None:
    state = tmp_path / "server.json"
    state.write_text(json.dumps({"url": healthy_url, "pid": old_server.pid}))
    assert _local_server._reusable(state, _settings(tmp_path)) is None
    assert old_server.wait(timeout=10) == -15


def test_a_torn_record_starts_a_new_server(tmp_path: Path) -> None:
    state = tmp_path / "server.json"
    state.write_text('{"url": "http://127.0.0.1:1"')
    assert _local_server._reusable(state, _settings(tmp_path)) is None


def test_the_record_keeps_no_database_password(tmp_path: Path, healthy_url: str) -> None:
    url = "postgresql://dockyard:s3cret-pw@db.example/dockyard"
    settings = _settings(tmp_path, database_url=url)
    state = tmp_path / "server.json"
    state.write_text(json.dumps({"url": healthy_url, "pid": -1, **_local_server._code(settings)}))
    assert "s3cret-pw" not in state.read_text()
    assert _local_server._reusable(state, settings) == healthy_url
    other = _settings(tmp_path, database_url=url.replace("db.example", "db2.example"))
    assert not _local_server._serves(json.loads(state.read_text()), other)


def test_a_stale_records_pid_that_is_no_server_is_not_signalled(
    tmp_path: Path, healthy_url: str
) -> None:
    other = subprocess.Popen(["sleep", "60"])
    try:
        state = tmp_path / "server.json"
        state.write_text(json.dumps({"url": healthy_url, "pid": other.pid}))
        assert _local_server._reusable(state, _settings(tmp_path)) is None
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()
