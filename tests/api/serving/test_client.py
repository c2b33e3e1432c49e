"""The worker admin client: a worker that is gone is one of Dockyard's errors, not httpx's."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from dockyard.api.serving.client import WorkerAdmin
from dockyard.errors import Unavailable


@pytest.mark.parametrize("call", ["stats", "metrics", "health"])
def test_a_worker_that_is_gone_is_unavailable(tmp_path: Path, call: str) -> None:
    socket = str(tmp_path / "admin.sock")  # nothing listens: the worker died
    with (
        WorkerAdmin(socket, timeout_s=1) as admin,
        pytest.raises(Unavailable) as caught,
        warnings.catch_warnings(),
    ):
        # httpcore leaves the socket of a refused unix connection to the garbage collector.
        warnings.simplefilter("ignore", ResourceWarning)
        getattr(admin, call)()
    assert socket in caught.value.message
