"""A runner keeps its memory and environment from the job's processes of the same user."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dockyard.runtime.runner import _runner

_CHILD = """
import ctypes, sys
from dockyard.runtime.runner._process import keep_private
prctl = ctypes.CDLL(None, use_errno=True).prctl
before = prctl(3, 0, 0, 0, 0)  # PR_GET_DUMPABLE
ok = keep_private()
print(before, ok, prctl(3, 0, 0, 0, 0))
"""


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_DUMPABLE is Linux's")
def test_keep_private_makes_the_process_undumpable() -> None:
    out = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "True", "0"]


def test_the_runner_goes_private_before_it_reads_its_token(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str | None] = []

    def record() -> bool:
        seen.append(_runner.os.environ.get(_runner.RUNNER_TOKEN))
        return True

    monkeypatch.setattr(_runner, "keep_private", record)
    monkeypatch.setenv(_runner.RUNNER_TOKEN, "secret")
    monkeypatch.delenv(_runner.RUNNER_SERVER, raising=False)
    assert _runner.main([]) == 2  # usage: no server named
    assert seen == ["secret"]  # called first, while the token was still unread
