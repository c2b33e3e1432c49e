"""Prints, as one JSON line, what a job sees of itself and of its runner (its parent)."""

import json
import os
from pathlib import Path

runner = os.getppid()
proc = Path(f"/proc/{runner}")


def fields(path: Path, names: tuple[str, ...]) -> dict[str, str]:
    lines = path.read_text().splitlines()
    pairs = (line.split(":", 1) for line in lines if ":" in line)
    return {k: v.strip() for k, v in pairs if k in names}


def descriptors() -> list[str]:
    """The runner's descriptors: 0-2 in order, then the others by what they are. Their numbers
    depend on whether one of the uplink's connections (left out: they come and go) held a
    lower one when each was opened. The pidfd the runner waits on this process with is left
    out too: the runner opens it once this process has started, so whether it is open yet
    when this process looks is a race between the two."""
    found = []
    for fd in sorted((proc / "fd").iterdir(), key=lambda p: int(p.name)):
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if not target.startswith("socket:") and target != "anon_inode:[pidfd]":
            found.append(target.split("[")[0])
    return found[:3] + sorted(found[3:])


report = {
    "runner_cmdline": (proc / "cmdline").read_bytes().split(b"\0")[:3],
    "runner_status": fields(
        proc / "status",
        ("Uid", "Gid", "Groups", "Umask", "SigBlk", "SigIgn", "SigCgt", "NoNewPrivs", "CapEff"),
    ),
    "runner_limits": (proc / "limits").read_text(),
    "runner_session_leader": os.getsid(runner) == runner,
    "runner_group_leader": os.getpgid(runner) == runner,
    "runner_cwd": os.readlink(proc / "cwd"),
    "runner_fds": descriptors(),
    "env": dict(os.environ),
}
report["runner_cmdline"] = [part.decode() for part in report["runner_cmdline"]]
print("IDENTITY " + json.dumps(report), flush=True)
