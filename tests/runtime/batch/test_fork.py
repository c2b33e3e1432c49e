"""Workers forked from the runner's process: the transform a started worker makes, and a child
that is what a started worker would be (descriptors, environment, signals, thread limits).

A process forks workers only while it runs no other thread (as a job's process does between
transforms), and a test process that ran other tests first has threads left over: the tests
that fork run in a fresh pytest process of their own (:func:`test_forking_in_a_fresh_process`).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.runtime.batch.conftest import features, write_csv

import dockyard
from dockyard.api.batch import TransformSpec
from dockyard.runtime.batch import TransformResult
from dockyard.runtime.batch import _fork as fork_module
from dockyard.runtime.batch import _worker as worker_module
from dockyard.runtime.batch._fork import can_fork, fork_worker

Run = Callable[..., TransformResult]

_FRESH = "DOCKYARD_TEST_FORK_FRESH"
#: Tests that fork: run by :func:`test_forking_in_a_fresh_process` in a single-threaded process.
forks = pytest.mark.skipif(
    os.environ.get(_FRESH) != "1", reason="forks: run in a fresh process by the test below"
)


@pytest.mark.skipif(os.environ.get(_FRESH) == "1", reason="this is the fresh process")
def test_forking_in_a_fresh_process(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--basetemp",
            str(tmp_path / "fresh"),
            "-k",
            "not fresh_process",
            __file__,
        ],
        env={**os.environ, _FRESH: "1"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=Path(__file__).parents[3],
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "skipped" not in done.stdout, done.stdout[-2000:]


def _dockyard_of_workers(caplog: pytest.LogCaptureFixture) -> set[str]:
    """Where each worker's ``ready`` said its Dockyard came from."""
    return {
        r.getMessage().rpartition("dockyard from ")[2].rstrip(")")
        for r in caplog.records
        if r.name == "dockyard.runtime.batch" and " ready (" in r.getMessage()
    }


@forks
@pytest.mark.parametrize("package", ["linear", "xgb"])
def test_forked_workers_score_what_started_workers_do(
    package: str,
    packages: dict[str, Path],
    xgb_package: Path,
    tmp_path: Path,
    transform: Run,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="dockyard.runtime.batch")
    model = xgb_package if package == "xgb" else packages[package]
    columns = 4 if package == "xgb" else 3
    write_csv(tmp_path / "in.csv", features(60_000, seed=3)[:, :columns])
    outputs = {}
    for forked in (True, False):
        assert can_fork()  # this process is single-threaded between transforms
        caplog.clear()
        out = tmp_path / f"out-{forked}"
        spec = TransformSpec(
            model_uri=str(model),
            input={"uri": str(tmp_path / "in.csv")},
            output={"uri": str(out)},
            max_concurrent_transforms=2,
            shard_bytes=256 * 1024,
        )
        result = transform(spec, work=tmp_path / f"work-{forked}", in_process=forked)
        assert result.status == "Completed"
        assert result.records == 60_000
        origins = _dockyard_of_workers(caplog)
        assert len(origins) == 1  # worker 1 is forked from worker 0 either way
        # A forked worker runs this process's Dockyard, a started one the work folder's copy.
        assert (origins == {dockyard.__file__}) == forked
        # The copy a started worker imported goes when the transform ends: kept, it was about
        # a megabyte per job in the job folders, which stay (a transform whose process holds
        # S3 credentials always starts its workers).
        assert not (tmp_path / f"work-{forked}" / "runtime").exists()
        outputs[forked] = (out / "in.csv.out").read_bytes()
    assert outputs[True] == outputs[False]


def _probe() -> int:
    """Stands in for the worker's entry point in the forked child (it sees this process's
    patches): reports what the child is."""
    import threadpoolctl

    fds = []
    for fd in range(1024):
        try:
            os.fstat(fd)
        except OSError:
            continue
        fds.append(fd)
    report = {
        "fds": fds,
        "cwd": str(Path.cwd()),
        "marker": os.environ.get("PROBE_MARKER"),
        "inherited": os.environ.get("PROBE_PARENT_ONLY"),
        "sigterm_default": signal.getsignal(signal.SIGTERM) == signal.SIG_DFL,
        "threads": {
            info["internal_api"]: info["num_threads"] for info in threadpoolctl.threadpool_info()
        },
        "stdin": sys.stdin.readline(),
    }
    sys.stdout.write(json.dumps(report) + "\n")
    sys.stderr.write("to the error pipe\n")
    return 7


@forks
@pytest.mark.parametrize("prepared", [True, False], ids=["pools-found-before", "pools-found-after"])
def test_a_forked_worker_is_what_a_started_one_would_be(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prepared: bool
) -> None:
    import xgboost  # noqa: F401  (OpenMP loaded before the fork, as in a warm job process)

    monkeypatch.setattr(fork_module, "_prepared", None)
    if prepared:  # as a warm process does: the child limits the pools found here
        import threadpoolctl

        fork_module.prepare_limits()
        assert fork_module._prepared is not None

        def looked_again(**_: object) -> None:
            raise AssertionError("the child looked for the thread pools again")

        monkeypatch.setattr(threadpoolctl, "threadpool_limits", looked_again)
    monkeypatch.setattr(worker_module, "main", _probe)
    monkeypatch.setenv("PROBE_PARENT_ONLY", "yes")
    closed_read, closed_write = os.pipe()
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        child = fork_worker(
            {"PROBE_MARKER": "worker", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"},
            tmp_path,
            (closed_read, closed_write),
        )
    finally:
        signal.signal(signal.SIGTERM, previous)
        for fd in (closed_read, closed_write):
            os.close(fd)
    assert child.stdin is not None and child.stdout is not None and child.stderr is not None
    parent_ends = {child.stdin.fileno(), child.stdout.fileno(), child.stderr.fileno()}
    child.stdin.write(b"hello\n")
    child.stdin.close()
    report = json.loads(child.stdout.readline())
    assert child.stderr.read() == b"to the error pipe\n"
    assert child.wait() == 7
    assert child.poll() == 7
    child.stdout.close()
    child.stderr.close()
    open_here = set(report["fds"]) - {0, 1, 2}
    assert not open_here & {closed_read, closed_write}
    assert not open_here & parent_ends  # its pipes' other ends: EOF must reach it
    assert report["cwd"] == str(tmp_path)
    assert report["marker"] == "worker"
    assert report["inherited"] is None
    assert report["sigterm_default"]
    assert report["stdin"] == "hello\n"
    assert report["threads"].get("openmp") == 1
    assert set(report["threads"].values()) == {1}


def test_thread_pools_are_looked_for_again_only_when_the_loaded_libraries_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threadpoolctl

    loaded = [(b"", b"libc.so.6")]
    built: list[object] = []

    class Controller:
        def __init__(self) -> None:
            built.append(self)

    monkeypatch.setattr(fork_module, "_prepared", None)
    monkeypatch.setattr(fork_module, "_loaded_objects", lambda: loaded[-1])
    monkeypatch.setattr(threadpoolctl, "ThreadpoolController", Controller)
    fork_module.prepare_limits()
    fork_module.prepare_limits()
    assert len(built) == 1
    assert fork_module._prepared_pools() is built[0]  # what a worker forked now limits
    loaded.append((b"", b"libc.so.6", b"libgomp.so.1"))  # a library with a pool came in
    assert fork_module._prepared_pools() is None  # a worker forked now looks for itself
    fork_module.prepare_limits()
    assert len(built) == 2
    assert fork_module._prepared == (loaded[-1], built[-1])
    assert fork_module._prepared_pools() is built[-1]


@forks
def test_the_loaded_libraries_are_listed_only_while_one_thread_runs() -> None:
    import threading

    loaded = fork_module._loaded_objects()
    assert loaded is not None
    assert any(b"libc.so" in name for name in loaded)
    started, release = threading.Event(), threading.Event()
    other = threading.Thread(target=lambda: (started.set(), release.wait(30)))
    other.start()
    try:
        started.wait(30)
        assert fork_module._loaded_objects() is None  # the loader's lock could deadlock
    finally:
        release.set()
        other.join()


@forks
def test_a_killed_forked_worker_reports_its_signal(tmp_path: Path) -> None:
    child = fork_worker({}, tmp_path)  # waits for its init message on standard input
    child.kill()
    assert child.wait(timeout=30) == -signal.SIGKILL
    for stream in (child.stdin, child.stdout, child.stderr):
        assert stream is not None
        stream.close()


def test_started_workers_tell_what_loading_the_model_imported(
    xgb_package: Path, tmp_path: Path, transform: Run
) -> None:
    write_csv(tmp_path / "in.csv", features(20_000, seed=4)[:, :4])
    spec = TransformSpec(
        model_uri=str(xgb_package),
        input={"uri": str(tmp_path / "in.csv")},
        output={"uri": str(tmp_path / "out")},
        max_concurrent_transforms=2,
    )
    told: list[list[str]] = []
    transform(spec, in_process=False, on_imported=told.append)
    assert len(told) == 1
    assert {"xgboost", "xgboost.core"} <= set(told[0])
    assert "sklearn" not in told[0]  # a Booster's predict never needs it
