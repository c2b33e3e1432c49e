"""/opt/ml for a runner that is not root: a user namespace of the job's own, for real."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create a user to test as"),
    pytest.mark.skipif(shutil.which("useradd") is None, reason="needs useradd to create a user"),
]

# An interpreter other users may run (this checkout's venv links to one under /root), with
# Dockyard's source and the venv's packages on its path (see test_job_user.py).
_SYSTEM_PYTHON = "/usr/bin/python3.11"

# Runs as the unprivileged user: prepares /opt/ml like the runner, starts a "job" with it.
_RUNNER = """
import json, subprocess, sys
from pathlib import Path
from dockyard.api.jobs._layout import JobDir
from dockyard.runtime.runner._optml import OptMl
from dockyard.runtime.runner._process import keep_private

keep_private()  # as the runner does
jd = JobDir(Path(sys.argv[1]))
jd.create()
(jd.model / "seen.txt").write_text("the job's own model folder")
optml = OptMl(jd, None)
job = subprocess.run(
    [sys.executable, "-c", "import json, os; print(json.dumps({"
     "'read': open('/opt/ml/model/seen.txt').read(), 'uid': os.getuid()}))"],
    preexec_fn=optml.enter, capture_output=True, text=True, check=False,
)
print(json.dumps({"problem": optml.problem, "out": job.stdout, "err": job.stderr}))
"""


def _user_namespaces(uid: int) -> bool:
    """Whether ``uid`` may create a user namespace here, asked of util-linux's ``unshare``."""
    if shutil.which("unshare") is None:
        return True  # cannot tell: assume so, so that a failure shows
    probe = subprocess.run(
        ["unshare", "--user", "true"], user=uid, capture_output=True, check=False
    )
    return probe.returncode == 0


@pytest.fixture
def unprivileged() -> Iterator[str]:
    if not os.access(_SYSTEM_PYTHON, os.X_OK):
        pytest.skip(f"needs {_SYSTEM_PYTHON}, an interpreter other users may run")
    name = f"dyns{secrets.token_hex(3)}"
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        check=True,
    )
    yield name
    subprocess.run(["userdel", name], check=False)


def test_a_runner_that_is_not_root_mounts_opt_ml_in_a_user_namespace(unprivileged: str) -> None:
    import pwd

    entry = pwd.getpwnam(unprivileged)
    base = Path(tempfile.mkdtemp(prefix="dockyard-optml-"))
    try:
        base.chmod(0o711)
        job = base / "job"
        job.mkdir()
        os.chown(job, entry.pw_uid, entry.pw_gid)
        src = str(Path(__file__).resolve().parents[3] / "src")
        env = {"PYTHONPATH": os.pathsep.join((src, sysconfig.get_path("purelib")))}
        done = subprocess.run(
            [_SYSTEM_PYTHON, "-c", _RUNNER, str(job)],
            user=entry.pw_uid,
            group=entry.pw_gid,
            extra_groups=[],
            env=env,
            cwd=base,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        if "not available" in result["out"] and not _user_namespaces(entry.pw_uid):
            pytest.skip(f"this kernel refuses user namespaces: {result['out']}")
        assert result["problem"] is None
        assert json.loads(result["out"]) == {
            "read": "the job's own model folder",
            "uid": entry.pw_uid,
        }, result
        # The overlay that made room for /opt/ml lives in the job's folder, not on the machine.
        assert (job / ".dockyard" / "opt-overlay" / "upper" / "ml").is_dir() != Path(
            "/opt/ml"
        ).is_dir()
    finally:
        shutil.rmtree(base, ignore_errors=True)
