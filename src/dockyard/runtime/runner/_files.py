"""Copying files the job's code could have tampered with, without following its links.

The runner is trusted code that may run with more rights than the job (as root when
``DOCKYARD_JOB_USER`` is set, always with the store's credentials). A job can leave a symlink in
``checkpoints/``, ``model/`` or ``output/`` (or plant one in a checkpoint folder of a data root),
hoping the runner reads or writes through it. So what the runner takes from those folders is
copied here: folders are walked by file descriptor (``os.fwalk``), every file is opened with
``O_NOFOLLOW`` and kept only when it is a regular file, and every file written is created fresh
(``O_EXCL | O_NOFOLLOW``) and renamed into place, which replaces a link instead of writing
through it. Swapping a folder for a link mid-walk does not help either: nothing is looked up by
path twice.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO

from dockyard.errors import PermissionDenied

__all__ = ["copy_tree", "read_text"]

_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def _open_regular(name: str, dir_fd: int | None) -> int | None:
    """A read descriptor for ``name`` if it is a regular file (not a link, pipe or device)."""
    try:
        fd = os.open(name, _READ, dir_fd=dir_fd)
    except OSError:
        return None  # a link (ELOOP), gone meanwhile, or unreadable
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return fd


def copy_tree(src: Path, dest: Path, *, inside: Callable[[Path], bool] | None = None) -> int:
    """Copy the regular files under ``src`` into ``dest``; returns how many were copied.

    Links under ``src`` (to files or folders) are skipped. ``inside``, when given, must accept
    every folder written to after it was created (the allowed roots for a destination that is
    not private to the runner).

    Raises:
        PermissionDenied: A destination folder resolves outside what ``inside`` accepts.
    """
    count = 0
    if not src.is_dir() or src.is_symlink():
        return 0
    for folder, _dirs, files, dir_fd in os.fwalk(src, follow_symlinks=False):
        relative = Path(folder).relative_to(src)
        for name in sorted(files):
            fd = _open_regular(name, dir_fd)
            if fd is None:
                continue
            with os.fdopen(fd, "rb") as reader:
                _write(reader, dest / relative, name, inside)
            count += 1
    return count


def _write(
    reader: IO[bytes], folder: Path, name: str, inside: Callable[[Path], bool] | None
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if inside is not None and not inside(folder):
        raise PermissionDenied(f"{folder} is outside the allowed roots")
    temporary = folder / f".{name}.{uuid.uuid4().hex[:8]}.tmp"
    fd = os.open(temporary, _CREATE, 0o644)
    try:
        with os.fdopen(fd, "wb") as writer:
            shutil.copyfileobj(reader, writer, 1 << 20)
        temporary.replace(folder / name)  # replaces a link at the name, never its target
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def read_text(path: Path, limit: int = 1 << 20) -> str | None:
    """The start of ``path`` if it is a regular file (a link is not followed), else None."""
    fd = _open_regular(str(path), None)
    if fd is None:
        return None
    with os.fdopen(fd, "rb") as handle:
        return handle.read(limit).decode("utf-8", "replace")
