"""The server's side of the warm process leaves nothing open when it ends it, and a runner forked
``tied`` ends with the warm process."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import psutil
from tests.server.jobs.conftest import wait_gone
from tests.server.notifications._receiver import until

from dockyard.runtime.runner._zygote import Zygote


def test_closing_the_warm_process_closes_its_pipes(tmp_path: Path) -> None:
    warm = Zygote(sys.executable, dict(os.environ), tmp_path / "warm.log")
    proc = warm._start()  # what the first spawn does
    warm._proc = proc
    assert proc.stdin is not None and proc.stdout is not None
    warm.close()
    assert proc.returncode is not None and proc.stdin.closed
    # The reading thread sees the end of the output, closes it and ends.
    assert warm.reader is not None
    warm.reader.join(10)
    assert not warm.reader.is_alive() and proc.stdout.closed


_WAITER = """
import time
from pathlib import Path


def main(argv):
    Path(argv[0]).touch()  # started
    while Path(argv[0]).exists():  # until the test removes it
        time.sleep(0.05)
    return 0
"""


def test_a_tied_runner_dies_with_the_warm_process_and_an_untied_one_does_not(
    tmp_path: Path,
) -> None:
    (tmp_path / "waiter.py").write_text(_WAITER)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    warm = Zygote(sys.executable, env, tmp_path / "warm.log")
    started = {name: tmp_path / f"{name}.started" for name in ("tied", "free")}
    pids = {
        name: warm.spawn(
            [sys.executable, "-m", "waiter", str(mark)],
            env,
            tmp_path,
            tmp_path / f"{name}.log",
            tied=name == "tied",
        )
        for name, mark in started.items()
    }
    until(lambda: all(m.exists() for m in started.values()), 30, "both runners started")
    procs = {name: psutil.Process(pid) for name, pid in pids.items()}
    warm.close()  # as when the host holding it goes with its node
    wait_gone([procs["tied"]], timeout=10)
    assert procs["free"].is_running() and procs["free"].status() != psutil.STATUS_ZOMBIE
    started["free"].unlink()  # the untied runner ends when asked
    wait_gone([procs["free"]], timeout=10)


def test_a_pid_that_comes_back_does_not_inherit_an_earlier_childs_exit(tmp_path: Path) -> None:
    """Runners whose jobs reported their end are never asked about again, so their exit codes
    stay known; once the system's pids wrap round (every 32,768 processes by default), a new
    runner can get one of their pids. It must not be taken for ended."""
    import io
    import queue

    warm = Zygote(sys.executable, dict(os.environ), tmp_path / "warm.log")
    replies: queue.Queue[dict[str, object]] = queue.Queue()
    # What the warm process writes: a child reaped, then (much later) a fork given its pid,
    # then that new child's own end.
    warm._read(io.BytesIO(b'{"exited": 4242, "code": 0}\n{"pid": 4242}\n'), replies)
    assert replies.get_nowait() == {"pid": 4242}
    assert warm.exit_code(4242) is None
    warm._read(io.BytesIO(b'{"pid": 4242}\n{"exited": 4242, "code": 3}\n'), replies)
    assert warm.exit_code(4242) == 3


def test_the_warm_process_resolves_thread_pool_libraries_before_it_forks() -> None:
    # A forked batch worker limits its thread pools through threadpoolctl; the libraries'
    # paths resolved once in the warm process are not resolved again in every worker.
    import subprocess

    script = (
        "import sklearn, threadpoolctl\n"
        "from dockyard.runtime.runner._zygote import _freeze\n"
        "threadpoolctl._realpath.cache_clear()\n"
        "before = threadpoolctl._realpath.cache_info().currsize\n"
        "_freeze()\n"
        "print(before, threadpoolctl._realpath.cache_info().currsize)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    before, after = map(int, done.stdout.split())
    assert before == 0
    assert after > 0
