"""DOCKYARD_JOB_USER, for real: a root server runs a job's code as a user this test creates."""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import subprocess
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.server.jobs.conftest import SCRIPTS, behaviour, wait_for
from tests.services.server_process import ServerProcess

from dockyard.client.http import Client

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs a server running as root"),
    pytest.mark.skipif(shutil.which("useradd") is None, reason="needs useradd to create a user"),
]

# The job user must be able to run Dockyard's interpreter. This checkout's venv links to an
# interpreter under /root (closed to other users), so the server here runs the system's
# Python 3.11 with the venv's packages on PYTHONPATH, passed on to jobs by DOCKYARD_JOB_ENV,
# as a system-wide install would be reachable.
_SYSTEM_PYTHON = "/usr/bin/python3.11"


@pytest.fixture(scope="module")
def job_user() -> Iterator[str]:
    name = f"dyjob{secrets.token_hex(3)}"
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        check=True,
    )
    yield name
    subprocess.run(["userdel", name], check=False)


@pytest.fixture(scope="module")
def server(job_user: str) -> Iterator[ServerProcess]:
    if not os.access(_SYSTEM_PYTHON, os.X_OK):
        pytest.skip(f"needs {_SYSTEM_PYTHON}, an interpreter other users may run")
    # Not under pytest's temporary folder: that one is closed to other users (0700).
    base = Path(tempfile.mkdtemp(prefix="dockyard-job-user-"))
    base.chmod(0o711)
    packages = sysconfig.get_path("purelib")
    src = str(Path(__file__).resolve().parents[3] / "src")
    proc = ServerProcess(
        base / "home",
        python=_SYSTEM_PYTHON,
        env={
            "PYTHONPATH": os.pathsep.join((src, packages)),
            "DOCKYARD_JOB_USER": job_user,
            "DOCKYARD_JOB_ENV": "PYTHONPATH",
            "DOCKYARD_DATA_ROOTS": str(SCRIPTS),
            "AWS_SECRET_ACCESS_KEY": "server-secret",
        },
    )
    proc.start()
    yield proc
    proc.stop()
    shutil.rmtree(base, ignore_errors=True)


def test_the_job_runs_as_the_job_user_and_reaches_only_its_own_folder(
    server: ServerProcess, job_user: str
) -> None:
    client = Client(server.url, retry_for=10)
    home = server.home
    # A private home: the database, and the folders other than jobs/ and envs/, are shut.
    assert home.stat().st_mode & 0o777 == 0o711
    assert (home / "dockyard.db").stat().st_mode & 0o777 == 0o600
    assert (home / "artifacts").stat().st_mode & 0o777 == 0o700
    client.request("POST", "/api/v1/jobs/training", json=behaviour("first", "ok"))
    assert wait_for(client, "first")["status"] == "Completed"
    first = home / "jobs" / "first"
    assert first.stat().st_mode & 0o777 == 0o700  # closed once it ended
    targets = [
        home / "dockyard.db",
        first,
        first / "model" / "notes.txt",
        home / "jobs",
        home,
        home / "artifacts",
    ]
    spec = behaviour("prying", "prying", hyperparameters={"paths": ",".join(map(str, targets))})
    spec["hyperparameters"]["mode"] = "prying"
    client.request("POST", "/api/v1/jobs/training", json=spec)
    job = wait_for(client, "prying")
    assert job["status"] == "Completed", job["failure_reason"]
    log = client._http.get("/api/v1/jobs/prying/logs").text
    report = json.loads(next(x for x in log.splitlines() if x.startswith("PRYING="))[7:])
    assert report["uid"] == pwd.getpwnam(job_user).pw_uid
    assert report["tried"] == {str(t): "PermissionError" for t in targets}, report
    # Its own work was done and uploaded; the links it left to /etc/shadow were not followed.
    run = job["run_id"]
    files = client.request(
        "GET", f"/api/v1/runs/{run}/artifacts", params={"path": "", "recursive": True}
    )["files"]
    paths = sorted(f["path"] for f in files if not f["is_dir"])
    assert "model-files/notes.txt" in paths and "output/result.txt" in paths
    assert not [p for p in paths if "leak" in p], paths
    client.close()


def test_the_job_user_sees_its_folder_at_opt_ml(server: ServerProcess, job_user: str) -> None:
    # The runner mounts /opt/ml as root, then the script runs as the job user.
    client = Client(server.url, retry_for=10)
    client.request("POST", "/api/v1/jobs/training", json=behaviour("optml-user", "opt-ml"))
    job = wait_for(client, "optml-user")
    assert job["status"] == "Completed", job["failure_reason"]
    log = client._http.get("/api/v1/jobs/optml-user/logs").text
    report = json.loads(next(x for x in log.splitlines() if x.startswith("OPTML="))[6:])
    assert report == {
        "uid": pwd.getpwnam(job_user).pw_uid,
        "same_model_dir": True,
        "hyperparameters": {"mode": "opt-ml"},
    }
    files = client.request(
        "GET", f"/api/v1/runs/{job['run_id']}/artifacts", params={"path": "", "recursive": True}
    )["files"]
    assert "model-files/from-opt-ml.txt" in [f["path"] for f in files]
    client.close()
