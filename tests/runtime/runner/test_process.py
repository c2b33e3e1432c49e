"""A runner keeps its memory and environment from the job's processes of the same user, and
learns at once when the job's process ends."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from subprocess import PIPE

import pytest

from dockyard.runtime.runner import _runner
from dockyard.runtime.runner._process import ExitWatch

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


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="pidfds are Linux's")
def test_exit_watch_returns_when_the_child_ends_not_at_the_timeout() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=PIPE)
    with ExitWatch(child.pid) as exits:
        started = time.monotonic()
        assert exits.wait(0.01) is True  # still running: waited out the timeout
        assert child.poll() is None
        assert child.stdin is not None
        child.stdin.close()  # the child ends
        assert exits.wait(60) is True
        assert time.monotonic() - started < 30
        assert child.poll() == 0  # reaped by the caller, as before


def test_exit_watch_leaves_the_waiting_to_the_caller_without_pidfds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refused(pid: int) -> int:
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr(os, "pidfd_open", refused, raising=False)
    with ExitWatch(os.getpid()) as exits:
        assert exits.wait(60) is False  # at once: nothing to wait on
