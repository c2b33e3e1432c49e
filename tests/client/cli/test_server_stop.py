"""``dockyard server stop``: the local server the SDK started, and with ``--endpoints`` the
endpoints' workers, stopped; nothing else is ever signalled, and stopping nothing is no error."""

from __future__ import annotations

import fcntl
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import httpx
import psutil
import pytest
from click.testing import CliRunner
from sqlalchemy import insert

from dockyard.api.serving.launcher import WorkerHandle
from dockyard.client.cli import cli
from dockyard.client.sdk._local_server import Stopped, ensure_server, stop_server
from dockyard.server.store import LeaderLock, open_database, schema
from dockyard.settings import Settings

pytestmark = pytest.mark.slow

# A process whose command line reads like the SDK's server's (``... dockyard server --port 1``)
# and which ends on SIGTERM, as one does: the guard against pids taken by other programs is what
# is tested. Its records name http://127.0.0.1:1.
SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]
LOOKALIKE = [*SLEEPER, "dockyard", "server", "--port", "1"]


@pytest.fixture
def lookalike() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(LOOKALIKE, start_new_session=True)
    yield proc
    proc.kill()
    proc.wait()


def _stop(home: Path, *args: str, code: int = 0) -> dict[str, object]:
    result = CliRunner().invoke(cli, ["server", "stop", "--home", str(home), "--json", *args])
    assert result.exit_code == code, result.output
    answer: dict[str, object] = json.loads(result.output)
    return answer


def test_the_sdks_server_is_stopped_and_a_second_stop_finds_none(tmp_path: Path) -> None:
    url = ensure_server(Settings(home=tmp_path))
    recorded = json.loads((tmp_path / "server.json").read_text())
    server = psutil.Process(recorded["pid"])
    answer = _stop(tmp_path)
    assert answer == {
        "home": str(tmp_path),
        "server": url,
        "stopped": True,
        "killed": False,
        "endpoints": None,  # not asked for
        "problems": {},
    }
    assert not server.is_running() or server.status() == psutil.STATUS_ZOMBIE
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/healthz", timeout=5)
    assert json.loads((tmp_path / "server.json").read_text()) == {"url": url}  # no process
    again = CliRunner().invoke(cli, ["server", "stop", "--home", str(tmp_path)])
    assert again.exit_code == 0, again.output
    assert again.output.splitlines()[0] == f"no local server was running over {tmp_path}"
    # The next server takes the same address: runners of the last one's jobs retry it.
    assert ensure_server(Settings(home=tmp_path)) == url
    assert _stop(tmp_path)["server"] == url


def test_a_pid_now_held_by_another_program_is_left_alone(
    tmp_path: Path, lookalike: subprocess.Popen[bytes]
) -> None:
    started = psutil.Process(lookalike.pid).create_time()
    record = {"url": "http://127.0.0.1:1", "pid": lookalike.pid, "create_time": started - 60}
    (tmp_path / "server.json").write_text(json.dumps(record))
    assert _stop(tmp_path)["stopped"] is False
    assert lookalike.poll() is None
    # The stale record keeps only the address; the same pid recorded with its start is ended.
    assert json.loads((tmp_path / "server.json").read_text()) == {"url": "http://127.0.0.1:1"}
    (tmp_path / "server.json").write_text(json.dumps({**record, "create_time": started}))
    assert _stop(tmp_path)["stopped"] is True
    lookalike.wait(timeout=10)  # stop reaped it (it is this test's child), so no status here
    assert not psutil.pid_exists(lookalike.pid)


@pytest.mark.parametrize(
    "argv", [SLEEPER, [*SLEEPER, "dockyard", "server", "--port", "2"]], ids=["no-server", "port"]
)
def test_a_pid_of_a_program_that_is_not_that_server_is_left_alone(
    tmp_path: Path, argv: list[str]
) -> None:
    # A record from before start times were kept names only the pid and the address.
    other = subprocess.Popen(argv)
    try:
        record = {"url": "http://127.0.0.1:1", "pid": other.pid}
        (tmp_path / "server.json").write_text(json.dumps(record))
        assert _stop(tmp_path)["stopped"] is False
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_a_stop_waits_for_a_start_under_way(
    tmp_path: Path, lookalike: subprocess.Popen[bytes]
) -> None:
    lock_path = tmp_path / "server.start.lock"
    answers: list[object] = []
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # as ensure_server holds it while a server starts
        stopping = threading.Thread(
            target=lambda: answers.append(stop_server(tmp_path, 10)), daemon=True
        )
        stopping.start()
        _wait_until_blocked_on(lock_path)
        started = psutil.Process(lookalike.pid).create_time()
        record = {"url": "http://127.0.0.1:1", "pid": lookalike.pid, "create_time": started}
        (tmp_path / "server.json").write_text(json.dumps(record))
        fcntl.flock(lock, fcntl.LOCK_UN)
        stopping.join(30)
    assert answers == [Stopped("http://127.0.0.1:1", killed=False)]
    lookalike.wait(timeout=10)
    assert not psutil.pid_exists(lookalike.pid)


def _wait_until_blocked_on(path: Path) -> None:
    """Until a process waits for the lock on ``path`` (``/proc/locks`` lists it, "->")."""
    inode = f":{path.stat().st_ino} "
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        locks = Path("/proc/locks").read_text().splitlines()
        if any("->" in line and inode in line for line in locks):
            return
        time.sleep(0.01)
    raise AssertionError(f"nothing waited for {path}")


def test_running_jobs_refuse_a_stop_unless_forced(
    tmp_path: Path, lookalike: subprocess.Popen[bytes]
) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'dockyard.db'}")
    try:
        with db.write() as conn:
            conn.execute(
                insert(schema.jobs),
                [
                    _job("train-1", "InProgress"),
                    _job("old", "Completed"),
                    _job("queued", "Pending"),
                ],
            )
    finally:
        db.dispose()
    started = psutil.Process(lookalike.pid).create_time()
    record = {"url": "http://127.0.0.1:1", "pid": lookalike.pid, "create_time": started}
    (tmp_path / "server.json").write_text(json.dumps(record))
    refused = CliRunner().invoke(cli, ["server", "stop", "--home", str(tmp_path)])
    assert refused.exit_code == 1, refused.output
    assert "1 job is running (train-1): its runner reports" in refused.output
    assert "--force" in refused.output
    assert lookalike.poll() is None
    assert _stop(tmp_path, "--force")["stopped"] is True


def test_running_jobs_of_a_server_that_is_gone_refuse_nothing(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'dockyard.db'}")
    try:
        with db.write() as conn:
            conn.execute(insert(schema.jobs), [_job("train-1", "InProgress")])
    finally:
        db.dispose()
    (tmp_path / "server.json").write_text(json.dumps({"url": "http://127.0.0.1:1", "pid": 1}))
    assert _stop(tmp_path)["stopped"] is False


def _job(name: str, status: str) -> dict[str, object]:
    return {
        "job_id": name,
        "name": name,
        "kind": "training",
        "spec": "{}",
        "status": status,
        "secondary_status": status,
        "cpus": 1.0,
        "created_time": 1,
    }


def test_endpoint_workers_are_stopped_only_when_asked_and_only_their_own(
    tmp_path: Path, lookalike: subprocess.Popen[bytes]
) -> None:
    folder = tmp_path / "endpoints" / "scores"
    folder.mkdir(parents=True)
    open_database(f"sqlite:///{tmp_path / 'dockyard.db'}").dispose()  # as a server left it
    worker = subprocess.Popen(LOOKALIKE, start_new_session=True)
    try:
        started = psutil.Process(worker.pid).create_time()
        handles = [
            WorkerHandle(worker.pid, started, "", "i-1"),
            # a recorded worker whose pid another program got since
            WorkerHandle(lookalike.pid, started - 60, "", "i-2"),
        ]
        (folder / "workers.json").write_text(json.dumps([asdict(h) for h in handles]))
        assert _stop(tmp_path)["endpoints"] is None  # not asked: nothing said of them
        assert worker.poll() is None
        answer = _stop(tmp_path, "--endpoints", "--grace", "10")
        assert answer["endpoints"] == {"scores": 1}
        assert worker.wait(timeout=10) == -15
        assert lookalike.poll() is None
        assert _stop(tmp_path, "--endpoints")["endpoints"] == {"scores": 0}
    finally:
        worker.kill()
        worker.wait()


def test_endpoints_a_server_looks_after_are_not_stopped(tmp_path: Path) -> None:
    (tmp_path / "endpoints" / "scores").mkdir(parents=True)
    db = open_database(f"sqlite:///{tmp_path / 'dockyard.db'}")
    lead = LeaderLock(db, tmp_path, "endpoints")  # as a running server's supervisor holds it
    try:
        assert lead.try_acquire()
        result = CliRunner().invoke(cli, ["server", "stop", "--home", str(tmp_path), "--endpoints"])
        assert result.exit_code == 1, result.output
        assert "looks after its endpoints" in result.output
    finally:
        lead.release()
        db.dispose()


def test_a_torn_workers_record_is_named_and_the_others_are_stopped(tmp_path: Path) -> None:
    (tmp_path / "endpoints" / "torn").mkdir(parents=True)
    (tmp_path / "endpoints" / "torn" / "workers.json").write_text("garbage")
    (tmp_path / "endpoints" / "bare").mkdir(parents=True)
    (tmp_path / "endpoints" / "bare" / "workers.json").write_text('[{"pid": 1}]')
    fine = tmp_path / "endpoints" / "fine"
    fine.mkdir(parents=True)
    worker = subprocess.Popen(SLEEPER, start_new_session=True)
    try:
        started = psutil.Process(worker.pid).create_time()
        handle = WorkerHandle(worker.pid, started, "", "i-1")
        (fine / "workers.json").write_text(json.dumps([asdict(handle)]))
        open_database(f"sqlite:///{tmp_path / 'dockyard.db'}").dispose()
        answer = _stop(tmp_path, "--endpoints", code=1)
        assert answer["endpoints"] == {"fine": 1}
        problems = answer["problems"]
        assert isinstance(problems, dict) and sorted(problems) == ["bare", "torn"]
        assert "workers.json could not be read" in problems["torn"]
        assert worker.wait(timeout=10) == -15
    finally:
        worker.kill()
        worker.wait()


@pytest.mark.parametrize(
    ("args", "says"),
    [(["--grace", "nan"], "is not a number of seconds"), (["--home", ""], "names no folder")],
)
def test_bad_options_are_usage_errors(tmp_path: Path, args: list[str], says: str) -> None:
    result = CliRunner().invoke(cli, ["server", "stop", *args])
    assert result.exit_code == 2, result.output
    assert says in result.output


def test_a_home_that_does_not_exist_is_said(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["server", "stop", "--home", str(tmp_path / "typo")])
    assert result.exit_code == 0, result.output
    assert "(no such folder)" in result.output.splitlines()[0]
    assert not (tmp_path / "typo").exists()


def test_the_servers_options_are_refused_before_a_subcommand(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["server", "--port", "5051", "stop", "--home", str(tmp_path)])
    assert result.exit_code == 2
    assert "the server's options do not apply to stop: --port" in result.output


def test_an_option_of_stop_given_before_it_is_pointed_after_it(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["server", "--home", str(tmp_path), "stop"])
    assert result.exit_code == 2
    assert "--home goes after stop: dockyard server stop --home ..." in result.output
