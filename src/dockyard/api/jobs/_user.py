"""The user a job's code runs as (``DOCKYARD_JOB_USER``), and handing the job folder to it.

Unset, jobs run as the server's own user and can read whatever it can. Set, and with the server
running as root, the runner (trusted Dockyard code, still root) starts the training script, the
module or built-in algorithm, and the model packaging that unpickles what the script saved, as
that user: ``setgid``/``setgroups``/``setuid`` through ``subprocess.Popen``'s ``user``,
``group`` and ``extra_groups``, with umask 077.

The job folder is laid out so that the job user can work in it and nowhere else::

    <home>/             0711 root   (traverse only: the database and other folders stay shut)
      dockyard.db       0600 root
      artifacts/ ...    0700 root
      envs/             0755 root   (the job's interpreter may come from a cached environment)
      jobs/             0711 root   (no listing of other jobs)
        <job>/          0711 root   (root-owned: the job cannot swap .dockyard/ for its own)
          .dockyard/    0700 root   (status, log, job.json: the runner's alone)
          code/ input/ model/ output/ checkpoints/ home/ tmp/   0700 job user

When the job ends its folder is closed (0700 root), so a later job, which runs as the same user,
cannot read it. Jobs that run *at the same time* share the user: one can read another's folder
if it guesses the name.
"""

from __future__ import annotations

import os
import pwd
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from dockyard.api.jobs._layout import JobDir
from dockyard.errors import InvalidArgument

__all__ = ["JobUser", "chown_tree", "close_folder", "hand_over", "resolve_job_user"]


@dataclass(frozen=True, slots=True)
class JobUser:
    """A resolved ``DOCKYARD_JOB_USER``."""

    name: str
    uid: int
    gid: int
    groups: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> JobUser:
        return cls(str(value["name"]), int(value["uid"]), int(value["gid"]), tuple(value["groups"]))

    def popen_options(self) -> dict[str, Any]:
        """``subprocess.Popen`` arguments that start a process as this user."""
        return {
            "user": self.uid,
            "group": self.gid,
            "extra_groups": list(self.groups),
            "umask": 0o077,
        }


def resolve_job_user(name: str | None) -> JobUser | None:
    """The user jobs run as; None when jobs run as the server's own user.

    Raises:
        InvalidArgument: No such user, root itself, or a server that is not root and so
            cannot switch users (naming ``job_user``).
    """
    if not name:
        return None
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise InvalidArgument(
            f"DOCKYARD_JOB_USER={name!r}: no such user on this machine", field="job_user"
        ) from None
    if entry.pw_uid == os.geteuid():
        return None  # already the server's user: nothing to switch
    if entry.pw_uid == 0:
        raise InvalidArgument("DOCKYARD_JOB_USER must not be root", field="job_user")
    if os.geteuid() != 0:
        raise InvalidArgument(
            f"DOCKYARD_JOB_USER={name!r} needs a server running as root to switch to it "
            f"(this one runs as uid {os.geteuid()})",
            field="job_user",
        )
    groups = tuple(g for g in os.getgrouplist(name, entry.pw_gid) if g != 0)
    return JobUser(name, entry.pw_uid, entry.pw_gid, groups)


def chown_tree(top: Path, user: JobUser) -> None:
    """Give ``top`` and everything under it to ``user`` (mode 0700 on ``top``).

    Only for folders the runner itself just wrote, while no process of the job runs: walked by
    file descriptor and never through a link, so nothing outside ``top`` changes owner.
    """
    os.chown(top, user.uid, user.gid, follow_symlinks=False)
    top.chmod(0o700)
    for _folder, dirs, files, dir_fd in os.fwalk(top, follow_symlinks=False):
        for name in (*dirs, *files):
            os.chown(name, user.uid, user.gid, dir_fd=dir_fd, follow_symlinks=False)


def hand_over(jd: JobDir, user: JobUser) -> None:
    """Give the job's working folders to ``user`` before its first attempt; the folder itself
    and ``.dockyard/`` stay the runner's."""
    jd.root.chmod(0o711)
    jd.control.chmod(0o700)
    for folder in (jd.root / "input", jd.model, jd.output, jd.checkpoints, jd.home, jd.tmp):
        folder.mkdir(parents=True, exist_ok=True)
        chown_tree(folder, user)
    if jd.code.exists():
        chown_tree(jd.code, user)


def close_folder(jd: JobDir) -> None:
    """Shut the finished job's folder to every user but the server's."""
    jd.root.chmod(0o700)
