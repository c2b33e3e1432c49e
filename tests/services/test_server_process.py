"""The server-process helper the end-to-end tests start servers with."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.services.server_process import ServerProcess


def test_a_start_that_times_out_leaves_no_server_running(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "home")
    with pytest.raises(RuntimeError, match="did not answer"):
        server.start(timeout=0)
    assert server.stop() is None  # nothing left running to stop
