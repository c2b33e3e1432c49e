"""Artifact keys: the one place that decides which user-supplied paths are acceptable.

A key is a relative POSIX path such as ``1/abc123/artifacts/model/MLmodel``. Every backend receives
keys only after :func:`normalize_artifact_path` accepted them, so no backend has to reason about
``..``, absolute paths or odd separators again. (The local backend still checks symlinks, which only
the filesystem can answer.)
"""

from __future__ import annotations

import re

from dockyard.errors import InvalidArgument

__all__ = ["MAX_KEY_BYTES", "join_artifact_path", "normalize_artifact_path"]

#: S3's limit on object keys; local filesystems accept more, but a key must work on every backend.
MAX_KEY_BYTES = 1024
# NAME_MAX of common filesystems (ext4, xfs, apfs).
_MAX_SEGMENT_BYTES = 255
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
# "C:/x" or "c:x" is a Windows drive path: it means a place outside the store, never a folder "C:".
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")


def normalize_artifact_path(path: str, *, allow_root: bool = False) -> str:
    """Validate a user-supplied relative artifact path and return its canonical form.

    ``.`` segments and one trailing ``/`` are dropped, and a ``..`` that stays inside the path is
    folded (``a/c/../b`` becomes ``a/b``), so two spellings of one artifact give one key.

    Args:
        path: The relative path, with ``/`` as separator.
        allow_root: Accept a path that names the store's root (``""``, ``"."``, ``"/"`` is still
            refused as absolute) and return ``""`` for it; listings and ``stat`` use this.

    Returns:
        The canonical key: no leading or trailing ``/``, no empty, ``.`` or ``..`` segments.

    Raises:
        InvalidArgument: The path is absolute, climbs out with ``..``, contains a backslash, a NUL
            or another control character, has an empty segment (``a//b``), is too long, or names
            the root while ``allow_root`` is false. The message names the path.
    """
    if not isinstance(path, str):
        raise InvalidArgument(f"artifact path must be a string, not {type(path).__name__}")
    shown = repr(path)
    if "\x00" in path:
        raise InvalidArgument(f"artifact path {shown} contains a NUL byte", field="path")
    if _CONTROL_CHARS.search(path):
        raise InvalidArgument(f"artifact path {shown} contains a control character", field="path")
    if "\\" in path:
        # Refused outright: from a Windows client "..\\x" is a traversal, while a POSIX server
        # would take the same bytes as a file name, so no reading of it is safe.
        raise InvalidArgument(
            f"artifact path {shown} contains a backslash; use '/' as the separator", field="path"
        )
    if path.startswith("/") or _WINDOWS_DRIVE.match(path):
        raise InvalidArgument(f"artifact path {shown} must be relative, not absolute", field="path")
    if len(path.encode("utf-8")) > MAX_KEY_BYTES:
        raise InvalidArgument(
            f"artifact path {shown} is longer than {MAX_KEY_BYTES} bytes", field="path"
        )

    segments = path.split("/")
    if len(segments) > 1 and segments[-1] == "":
        segments.pop()  # one trailing slash is how people write folders
    kept: list[str] = []
    for segment in segments:
        if segment == "":
            if path == "":
                break
            raise InvalidArgument(f"artifact path {shown} has an empty segment", field="path")
        if segment == ".":
            continue
        if segment == "..":
            if not kept:
                raise InvalidArgument(
                    f"artifact path {shown} escapes its root with '..'", field="path"
                )
            kept.pop()
            continue
        if len(segment.encode("utf-8")) > _MAX_SEGMENT_BYTES:
            raise InvalidArgument(
                f"artifact path {shown} has a segment longer than {_MAX_SEGMENT_BYTES} bytes",
                field="path",
            )
        kept.append(segment)

    if not kept and not allow_root:
        raise InvalidArgument(f"artifact path {shown} does not name an artifact", field="path")
    return "/".join(kept)


def join_artifact_path(*parts: str) -> str:
    """Join key parts, each validated on its own, so no part can climb out of the ones before it.

    Unlike :func:`posixpath.join`, an absolute later part is refused instead of replacing the
    prefix, and ``..`` may not cross a part boundary: ``join_artifact_path(run_prefix, user_path)``
    always names something under ``run_prefix``.

    Args:
        *parts: Relative paths; empty parts (or ``"."``) are skipped.

    Returns:
        The canonical key, ``""`` if every part was empty.

    Raises:
        InvalidArgument: A part is not an acceptable relative path (see
            :func:`normalize_artifact_path`) or the joined key is too long.
    """
    joined = "/".join(
        normalized
        for part in parts
        if (normalized := normalize_artifact_path(part, allow_root=True))
    )
    if len(joined.encode("utf-8")) > MAX_KEY_BYTES:
        raise InvalidArgument(
            f"artifact path {joined!r} is longer than {MAX_KEY_BYTES} bytes", field="path"
        )
    return joined
