"""Input URIs a job may read: local paths, ``file://``, ``s3://`` and ``runs:/<run>/<path>``.

Checked once at submit (so an unreadable channel is refused before anything runs; the allowed
roots, :mod:`dockyard.artifacts.roots`, are checked before this) and fetched by the runner on
whichever machine runs the job.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from dockyard.artifacts.roots import local_path
from dockyard.errors import InvalidArgument, NotFound, PermissionDenied

if TYPE_CHECKING:
    from dockyard.artifacts.roots import AllowedRoots

__all__ = ["check_readable", "copy_local", "local_path", "scheme"]


def scheme(uri: str, field: str | None = None) -> str:
    """``local``, ``s3`` or ``runs``; anything else is refused (naming ``field``)."""
    if uri.startswith("runs:/"):
        return "runs"
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return "local"
    if parsed.scheme == "s3":
        return "s3"
    raise InvalidArgument(
        f"unsupported URI {uri!r}: use a local path, file://, s3:// or runs:/<run_id>/<path>",
        field=field,
    )


def check_readable(uri: str, field: str, *, s3_endpoint_url: str | None) -> None:
    """Refuse a URI that names nothing readable, naming the field."""
    kind = scheme(uri, field)
    if kind == "local":
        path = local_path(uri, field)
        try:
            if not path.exists():
                raise InvalidArgument(f"{uri} does not exist", field=field)
            if path.is_dir() and not any(path.iterdir()):
                raise InvalidArgument(f"{uri} is an empty folder", field=field)
        except OSError as exc:  # a name too long, a folder we may not read, ...
            raise InvalidArgument(f"cannot read {uri[:200]}: {exc.strerror}", field=field) from exc
    elif kind == "s3":
        from dockyard.artifacts import open_artifact_store

        bucket_and_key = uri[len("s3://") :]
        bucket, _, key = bucket_and_key.partition("/")
        store = open_artifact_store(f"s3://{bucket}", s3_endpoint_url=s3_endpoint_url)
        try:
            if not store.exists(key) and not store.list(key, recursive=True):
                raise InvalidArgument(f"nothing is stored at {uri}", field=field)
        except NotFound as exc:
            raise InvalidArgument(f"nothing is stored at {uri}", field=field) from exc


def copy_local(src: Path, dest: Path, roots: AllowedRoots | None = None) -> None:
    """Copy a file or folder into ``dest`` (a folder).

    Always a copy, never a hard link: a job may write to its code and channel files (appending,
    truncating, rewriting in place), and through a link that would change the stored dataset or
    the user's own script for every later job.

    With ``roots`` (the runner's copy of the server's allowed roots), ``src`` is checked again
    now, resolved, and a link to a file is followed only when its target lies inside the roots:
    a link planted in a data root after submit cannot pull other files into the job. Links to
    folders are never followed.

    Raises:
        PermissionDenied: ``src`` or a link under it leads outside the allowed roots.
    """
    dest.mkdir(parents=True, exist_ok=True)
    if roots is not None and not roots.contains(src):
        raise PermissionDenied(f"{src} is outside the allowed roots")
    if src.is_file():
        shutil.copy2(src, dest / src.name)
        return
    for folder, _dirs, files in os.walk(src):
        for name in sorted(files):
            file = Path(folder) / name
            if not file.is_file():
                continue  # a dangling link, a socket, a device
            if file.is_symlink() and roots is not None and not roots.contains(file):
                raise PermissionDenied(
                    f"{file.relative_to(src)} in {src} is a link that leads outside the "
                    "allowed roots"
                )
            target = dest / file.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, target)
