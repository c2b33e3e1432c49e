"""Allowed roots: the only places a job, transform or endpoint spec may name.

A spec is written by whoever may call the API, and what it names is read and written by the
server's own processes. So every storage URI in a spec (a training job's ``source_dir``, input
channels and checkpoint URI; a transform's model, input and output; an endpoint's local model
folders and capture destination) must lie under one of:

* the artifact store's root (``DOCKYARD_ARTIFACT_ROOT``, default ``$DOCKYARD_HOME/artifacts``);
* a data root of ``DOCKYARD_DATA_ROOTS`` (local folders and ``s3://bucket/prefix`` URIs that
  the operator chose to share with jobs).

Writes into the store itself are narrower: only its ``transform/``, ``capture/`` and
``checkpoints/`` areas, so a spec cannot overwrite runs' artifacts, registered packages or
uploaded data. ``models:/`` and ``runs:/`` URIs are not storage locations (the registry and the
tracking service resolve them) and pass unchanged.

How a URI is read, in one place (:func:`local_path`), so the check and every consumer agree:

* ``/abs/path``: a path on the server's machine;
* ``file:///abs/path`` (or ``file://localhost/...``): the same path, percent-decoded;
* ``s3://bucket/key``: an object or prefix; keys may not contain ``.`` or ``..`` segments;
* a relative path or ``~`` path: refused, since the server cannot know what it is relative to
  (clients upload their local files and send the store URI instead).

Local paths are resolved (``os.path.realpath``: ``..`` and symlinks) *before* anything asks
whether they exist, and every refusal carries the same message whether or not the path exists,
so the check is no oracle for the server's disk. The checks run at submit, in the services; the
runner and the batch transform re-check at run time, when they follow links inside a root
(:meth:`AllowedRoots.contains`).

This module lives with the artifact store because it decides which storage locations a request
may reach, which the jobs, batch and endpoint services all need and none of them owns.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from dockyard.errors import InvalidArgument, PermissionDenied
from dockyard.paths import expand_user

__all__ = ["WRITABLE_STORE_AREAS", "AllowedRoots", "S3Root", "local_path", "parse_root"]

#: Areas of the artifact store a spec may name as a destination.
WRITABLE_STORE_AREAS = ("transform", "capture", "checkpoints")


@dataclass(frozen=True, slots=True)
class S3Root:
    """``s3://bucket/prefix``: every key equal to ``prefix`` or under ``prefix/``."""

    bucket: str
    prefix: str

    def contains(self, bucket: str, key: str) -> bool:
        if bucket != self.bucket:
            return False
        return not self.prefix or key == self.prefix or key.startswith(self.prefix + "/")

    def key_inside(self, key: str) -> str:
        """``key`` relative to the prefix (``""`` for the prefix itself)."""
        return key[len(self.prefix) :].lstrip("/") if self.prefix else key

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"


def _is_s3(uri: str) -> bool:
    return uri[:5].lower() == "s3://"


def _split_s3(uri: str, field: str | None) -> tuple[str, str]:
    parts = urlsplit(uri)
    bucket, key = parts.netloc, uri[len("s3://") + len(parts.netloc) :]
    if not bucket:
        raise InvalidArgument(f"S3 URI {uri!r} names no bucket", field=field)
    key = key.strip("/")
    if any(segment in (".", "..") for segment in key.split("/")):
        raise InvalidArgument(
            f"S3 URI {uri!r} has a '.' or '..' segment; name the key directly", field=field
        )
    return bucket, key


def local_path(uri: str, field: str | None = None) -> Path:
    """The local path a plain path or ``file://`` URI names (``~`` expanded, not resolved).

    Raises:
        InvalidArgument: A ``file://`` URI that names another machine, or a ``~user`` this
            machine cannot expand (naming ``field``).
    """
    if uri[:7].lower() == "file://":
        parts = urlsplit(uri)
        if parts.netloc not in ("", "localhost"):
            raise InvalidArgument(
                f"{uri!r} must be file:///absolute/path on this machine", field=field
            )
        return Path(unquote(parts.path))
    return expand_user(uri, field)


def _is_local(uri: str) -> bool:
    scheme = urlsplit(uri).scheme
    # "C:/x" parses with scheme "c": one letter is a drive, never a URI scheme worth honouring.
    return scheme in ("", "file") or len(scheme) == 1


def _resolved(path: str) -> str:
    return os.path.realpath(path)


def parse_root(root: str) -> str | S3Root:
    """A data root as configured: an absolute local folder (resolved) or an :class:`S3Root`.

    Raises:
        InvalidArgument: A relative path, another scheme, or a malformed S3 URI.
    """
    if _is_s3(root):
        bucket, prefix = _split_s3(root, "data_roots")
        return S3Root(bucket, prefix)
    if not _is_local(root):
        raise InvalidArgument(
            f"data root {root!r}: use an absolute folder, file:///folder or s3://bucket/prefix",
            field="data_roots",
        )
    path = local_path(root)
    if not path.is_absolute():
        raise InvalidArgument(f"data root {root!r} must be an absolute path", field="data_roots")
    return _resolved(str(path))


class AllowedRoots:
    """The artifact store's root plus the configured data roots, and the rule that uses them.

    Args:
        artifact_root: The store's root (a local folder, ``file://`` or ``s3://`` URI).
        data_roots: ``DOCKYARD_DATA_ROOTS``: local folders and ``s3://bucket/prefix`` URIs.
    """

    def __init__(self, artifact_root: str, data_roots: Iterable[str] = ()) -> None:
        store = parse_root(artifact_root if _is_s3(artifact_root) else _absolute(artifact_root))
        self.store: str | S3Root = store
        self.data: tuple[str | S3Root, ...] = tuple(parse_root(r) for r in data_roots)

    def to_list(self) -> list[str]:
        """Every root as a string (the store first), for a runner that re-checks at run time."""
        return [str(root) for root in (self.store, *self.data)]

    @classmethod
    def from_list(cls, roots: Sequence[str]) -> AllowedRoots:
        """The inverse of :meth:`to_list`."""
        return cls(roots[0], roots[1:])

    # -- the rule -------------------------------------------------------------------------------

    def check(self, uri: str, field: str, *, write: bool = False) -> str | None:
        """Refuse ``uri`` unless it lies under an allowed root, naming ``field``; return its key
        when it lies inside the artifact store (None otherwise), for the per-area permissions of
        :class:`dockyard.server.auth.StoreAreas`.

        ``models:/`` and ``runs:/`` URIs pass (their own rules apply). With ``write``, a
        location inside the artifact store must also lie in one of its
        :data:`WRITABLE_STORE_AREAS`.

        Raises:
            InvalidArgument: A relative or ``~`` path, a ``file://`` URI naming another machine,
                an S3 URI with ``.``/``..`` segments, or another scheme.
            PermissionDenied: The location is outside every allowed root (the same message
                whether or not it exists).
        """
        if uri.startswith(("models:", "runs:")):
            return None
        if _is_s3(uri):
            bucket, key = _split_s3(uri, field)
            return self._check_s3(uri, bucket, key, field, write)
        if _is_local(uri):
            return self._check_local(uri, field, write)
        else:
            raise InvalidArgument(
                f"unsupported URI {uri[:300]!r}: use an absolute path, file:// or s3://",
                field=field,
            )

    def _check_local(self, uri: str, field: str, write: bool) -> str | None:
        if uri.startswith("~") or not (uri[:7].lower() == "file://" or uri.startswith("/")):
            raise InvalidArgument(
                f"{uri!r} must be absolute: the server cannot tell what a relative or ~ path "
                "means (clients upload local files and send the store's URI)",
                field=field,
            )
        try:
            path = local_path(uri)
            resolved = _resolved(str(path))
        except InvalidArgument as exc:
            raise InvalidArgument(exc.message, field=field) from exc
        except (OSError, ValueError):  # a NUL byte, a name too long: outside by definition
            raise self._outside(uri, field) from None
        if isinstance(self.store, str) and _under(resolved, self.store):
            inside = os.path.relpath(resolved, self.store).replace(os.sep, "/")
            if not write or _in_writable_area(inside):
                return "" if inside == "." else inside
            raise self._read_only(uri, field)
        if any(isinstance(r, str) and _under(resolved, r) for r in self.data):
            return None
        raise self._outside(uri, field)

    def _check_s3(self, uri: str, bucket: str, key: str, field: str, write: bool) -> str | None:
        if isinstance(self.store, S3Root) and self.store.contains(bucket, key):
            inside = self.store.key_inside(key)
            if not write or _in_writable_area(inside):
                return inside
            raise self._read_only(uri, field)
        if any(isinstance(r, S3Root) and r.contains(bucket, key) for r in self.data):
            return None
        raise self._outside(uri, field)

    def contains(self, path: str | os.PathLike[str]) -> bool:
        """Whether a local path, resolved, lies under a local root (the store or a data root).

        Used at run time, where links inside a root are followed only when their targets stay
        inside the roots too.
        """
        resolved = _resolved(os.fspath(path))
        return any(
            isinstance(root, str) and _under(resolved, root) for root in (self.store, *self.data)
        )

    @staticmethod
    def _outside(uri: str, field: str) -> PermissionDenied:
        return PermissionDenied(
            f"{uri[:300]!r} is outside the allowed roots "
            "(the artifact store and DOCKYARD_DATA_ROOTS)",
            field=field,
        )

    @staticmethod
    def _read_only(uri: str, field: str) -> PermissionDenied:
        areas = ", ".join(f"{a}/" for a in WRITABLE_STORE_AREAS)
        return PermissionDenied(
            f"{uri[:300]!r} is in the artifact store outside the areas a spec may write "
            f"({areas}); write to one of those or to a data root",
            field=field,
        )


def _absolute(root: str) -> str:
    # The store's own root may be configured relative (to the server's working directory).
    path = local_path(root)
    return str(path if path.is_absolute() else Path.cwd() / path)


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _in_writable_area(relative: str) -> bool:
    first = relative.replace(os.sep, "/").split("/", 1)[0]
    return first in WRITABLE_STORE_AREAS
