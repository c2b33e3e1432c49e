"""Starts one process with ``subprocess.Popen`` and one with ``fork_job``, as a runner would,
and prints what each reports of itself (``report``), one JSON line each: ``cold``, ``forked``."""

import ctypes
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from dockyard.runtime.runner._forked import fork_job
from dockyard.runtime.runner._process import die_with_runner


def report() -> int:
    me = Path("/proc/self")
    status = dict(
        line.split(":", 1) for line in (me / "status").read_text().splitlines() if ":" in line
    )
    death = ctypes.c_int()
    ctypes.CDLL(None).prctl(2, ctypes.byref(death))  # PR_GET_PDEATHSIG
    fds = sorted(int(fd) for fd in os.listdir(me / "fd"))
    out = {
        "status": {k: status[k].strip() for k in ("Uid", "Gid", "SigBlk", "SigIgn", "SigCgt")},
        "death_signal": death.value,
        "session_leader": os.getsid(0) == os.getpid(),
        "parent_is_runner": os.getppid() == int(os.environ["RUNNER"]),
        "cwd": os.getcwd(),
        "fds": fds[:-1],  # the last one is the listing's own
        "stdout_is_pipe": os.readlink(me / "fd" / "1").startswith("pipe:"),
        "env": dict(os.environ),
        "sigterm_default": signal.getsignal(signal.SIGTERM) == signal.SIG_DFL,
    }
    print(json.dumps(out), flush=True)
    return 3


def main() -> None:
    # A runner's state that must not reach the job's process: a handler, a descriptor.
    signal.signal(signal.SIGTERM, lambda *_: None)
    held = open(__file__, "rb")  # noqa: SIM115
    cwd = Path(tempfile.mkdtemp())
    env = {"PATH": os.environ["PATH"], "RUNNER": str(os.getpid()), "PYTHONPATH": sys.path[0]}
    code = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
    code += "import forked_identity as f; sys.exit(f.report())"
    cold = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=die_with_runner(),  # noqa: PLW1509
    )
    forked = fork_job(report, cwd, env, die_with_runner())
    for name, proc in (("cold", cold), ("forked", forked)):
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        print(json.dumps({"name": name, "code": proc.wait(10), "report": json.loads(line)}))
    held.close()


if __name__ == "__main__":
    main()
