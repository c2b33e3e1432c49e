"""``/opt/ml`` inside a training job: the job's folder, where SageMaker scripts look for it.

Scripts written for SageMaker often hard-code ``/opt/ml/model``,
``/opt/ml/input/data/train``, ``/opt/ml/input/config/hyperparameters.json``,
``/opt/ml/output/failure`` or ``/opt/ml/checkpoints``. The training script's process therefore
runs in a private mount namespace (Linux ``unshare(CLONE_NEWNS)``) in which the job's folder is
bind-mounted at ``/opt/ml``: every job sees its own folder there, and nothing changes for the
rest of the machine. The namespace goes away with the job's last process.

How, depending on who runs the server:

- **root** (with or without ``DOCKYARD_JOB_USER``): the child unshares and mounts while still
  root, then switches to the job user itself (``setgroups``/``setresgid``/``setresuid``, the
  same steps ``subprocess.Popen(user=...)`` takes), then arms the runner's death signal, which a
  change of user would clear.
- **another user**: the child also unshares a user namespace (``CLONE_NEWUSER``) that maps its
  own uid and gid to themselves, which gives it the right to mount there. This needs
  unprivileged user namespaces (on by default in most kernels; some distributions restrict
  them).
- **no ``/opt/ml`` on the machine**: a mount needs a folder to mount on. The child lays an
  overlay over ``/opt`` (the real ``/opt`` below, an empty layer in the job's ``.dockyard/``
  above), creates ``ml`` in it and mounts there, so the machine's ``/opt`` is never written.
  Not done when ``/opt`` is missing or has mounts below it (the overlay would hide them).

When any step is refused (a container without ``CAP_SYS_ADMIN``, user namespaces disabled, no
overlay support, ``DOCKYARD_JOB_OPT_ML=false``) the job runs anyway, and the first line of its
log says why ``/opt/ml`` is missing (:data:`MISSING`). ``SM_MODEL_DIR``, ``SM_CHANNEL_*``,
``SM_CHECKPOINT_DIR`` and ``SAGEMAKER_BASE_DIR`` point at the job's folder in every case, and a
job that then fails on an ``/opt/ml`` path gets that hint in its failure reason.

Everything :meth:`OptMl.enter` does runs in the child between ``fork`` and ``exec``, while the
runner has other threads: system calls through functions looked up beforehand, no locks, and
no imports.
"""

from __future__ import annotations

import ctypes
import os
import signal
from pathlib import Path
from typing import Any

from dockyard.api.jobs import JobDir, JobUser

__all__ = ["MISSING", "OPT_ML", "OptMl"]

OPT_ML = "/opt/ml"
#: The log line a job without ``/opt/ml`` starts with; the runner looks for it.
MISSING = "[dockyard] /opt/ml is not available in this job"

_CLONE_NEWNS = 0x00020000
_CLONE_NEWUSER = 0x10000000
_MS_BIND = 4096
_MS_REC = 16384
_MS_PRIVATE = 1 << 18
_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4


def _mounts_below(folder: str) -> bool:
    """Whether anything is mounted under ``folder`` (read in the runner, before the fork)."""
    prefix = folder.rstrip("/") + "/"
    try:
        with Path("/proc/self/mountinfo").open() as info:
            return any(line.split()[4].startswith(prefix) for line in info)
    except (OSError, IndexError):
        return True  # unknown: do not risk hiding a mount


class OptMl:
    """What the child does to see the job's folder at ``/opt/ml``, prepared in the runner.

    Args:
        jd: The job's folder.
        user: The job user the child switches to after mounting (a root runner only).
        enabled: False to skip the namespace (the job's log says so).
    """

    def __init__(self, jd: JobDir, user: JobUser | None, *, enabled: bool = True) -> None:
        self._user = user
        self._runner = os.getpid()
        self._root = os.geteuid() == 0
        self._uid, self._gid = os.getuid(), os.getgid()
        self._source = os.fsencode(jd.root)
        self._overlay: tuple[bytes, bytes] | None = None
        # Looked up here: between fork and exec the child should do as little as possible.
        self._libc: ctypes.CDLL | None
        try:
            self._libc = ctypes.CDLL(None, use_errno=True)
            self._libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_char_p]
            self._libc.unshare.argtypes = [ctypes.c_int]
            self._libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong]
        except (OSError, AttributeError):
            self._libc = None
        self.problem: str | None = (
            "turned off by DOCKYARD_JOB_OPT_ML" if not enabled else self._plan(jd)
        )
        """Why the child will not even try (known before the fork), else None."""

    def _plan(self, jd: JobDir) -> str | None:
        if self._libc is None:
            return "this system has no mount namespaces"
        if Path(OPT_ML).is_dir():
            return None
        if not Path("/opt").is_dir():
            return "there is no /opt folder to mount it in"
        if _mounts_below("/opt"):
            return "/opt has mounts below it, which an overlay would hide"
        layer = jd.control / "opt-overlay"
        upper, work = layer / "upper", layer / "work"
        for folder in (upper / "ml", work):
            folder.mkdir(parents=True, exist_ok=True)
        self._overlay = (os.fsencode(upper), os.fsencode(work))
        return None

    def popen_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """``options`` without the switch of user, which :meth:`enter` makes itself (after
        mounting, which needs root)."""
        return {k: v for k, v in options.items() if k not in ("user", "group", "extra_groups")}

    # -- in the child, between fork and exec --------------------------------------------------

    def enter(self) -> None:
        """The child's ``preexec_fn``: mount, switch to the job user, arm the death signal."""
        if self.problem is not None:
            self._say(self.problem)
        else:
            try:
                self._mount()
            except OSError as exc:
                self._say(exc.strerror or str(exc))
        if self._user is not None:
            # Outside the try: a child that cannot drop root must not run the job at all.
            user = self._user
            os.setgroups(list(user.groups))
            os.setresgid(user.gid, user.gid, user.gid)
            os.setresuid(user.uid, user.uid, user.uid)
        # Last: a change of user or of user namespace clears the death signal.
        if self._libc is not None:
            self._libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
            if os.getppid() != self._runner:  # the runner died before the request took effect
                os.kill(os.getpid(), signal.SIGKILL)

    def _mount(self) -> None:
        libc = self._libc
        assert libc is not None
        if self._root:
            self._check(libc.unshare(_CLONE_NEWNS), "unshare(CLONE_NEWNS)")
        else:
            # The runner keeps itself undumpable (its token); the job's process is the job's
            # own, and /proc/self/uid_map belongs to root, unwritable, until it is dumpable.
            libc.prctl(_PR_SET_DUMPABLE, 1)
            self._check(libc.unshare(_CLONE_NEWNS | _CLONE_NEWUSER), "unshare(CLONE_NEWUSER)")
            self._write(b"/proc/self/setgroups", b"deny")
            self._write(b"/proc/self/uid_map", b"%d %d 1" % (self._uid, self._uid))
            self._write(b"/proc/self/gid_map", b"%d %d 1" % (self._gid, self._gid))
        # Private first: nothing mounted here may reach the machine's own mount table.
        self._check(libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None), "private /")
        if self._overlay is not None:
            upper, work = self._overlay
            options = b"lowerdir=/opt,upperdir=" + upper + b",workdir=" + work
            self._check(libc.mount(b"overlay", b"/opt", b"overlay", 0, options), "overlay /opt")
        self._check(libc.mount(self._source, b"/opt/ml", None, _MS_BIND, None), "bind /opt/ml")

    @staticmethod
    def _check(result: int, what: str) -> None:
        if result != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"{what}: {os.strerror(errno)}")

    @staticmethod
    def _write(path: bytes, data: bytes) -> None:
        fd = os.open(path, os.O_WRONLY)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)

    @staticmethod
    def _say(reason: str) -> None:
        hint = "SM_MODEL_DIR, SM_CHANNEL_*, SM_CHECKPOINT_DIR and SAGEMAKER_BASE_DIR name its "
        hint += "folder"
        os.write(1, f"{MISSING} ({reason}); {hint}\n".encode())
