"""Integrity: every file of a package has its sha256 in the manifest, checked before loading.

Pickles are code, so a changed file must be caught before anything reads it. Loading a package
therefore (1) reads the manifest bytes once, (2) compares every file on disk with the digests
listed there, refusing missing files, extra files, symlinks and changed contents, each error
naming the file, and only then (3) lets a flavor read its files; pickles are read into memory,
digested again and unpickled from those same bytes (:func:`read_verified`), so a file swapped
between the check and the load is caught too.

The manifest cannot list its own digest. The *package digest* is the sha256 of the manifest
bytes; since the manifest lists every other file's digest, it pins the whole package. A registry
stores it when a version is created and passes it back as ``expected_digest`` to detect a
rewritten manifest.

Byte-code caches (``__pycache__``) count as extra files: Python would run a planted ``.pyc``
instead of the verified source next to it.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.errors import InvalidArgument
from dockyard.models._manifest import (
    FORMAT,
    MANIFEST,
    Manifest,
    inside,
    parse_manifest,
    read_manifest_bytes,
    write_manifest,
)

__all__ = [
    "Opened",
    "compute_digests",
    "open_package",
    "package_digest",
    "read_verified",
    "seal",
    "verify",
]

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Opened:
    """A package whose manifest was read and whose files were checked (when it has digests)."""

    path: Path
    manifest: Manifest
    digest: str
    verified: bool


def _fail(reason: str, message: str, name: str | None = None) -> InvalidArgument:
    details: dict[str, Any] = {"reason": reason}
    if name is not None:
        details["file"] = name
    return InvalidArgument(message, field=name, details=details)


def file_digest(path: Path) -> str:
    """The sha256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def package_digest(manifest_bytes: bytes) -> str:
    """The package digest: ``sha256:`` + the hex digest of the manifest bytes."""
    return "sha256:" + hashlib.sha256(manifest_bytes).hexdigest()


def _list_files(model_dir: Path) -> list[str]:
    names: list[str] = []
    for root, dirs, files in os.walk(model_dir):
        base = Path(root)
        for entry in [*dirs, *files]:
            path = base / entry
            mode = path.lstat().st_mode
            name = path.relative_to(model_dir).as_posix()
            if stat.S_ISLNK(mode):
                raise _fail("symlink", f"{name} is a symlink; packages hold only files", name)
            if entry in files and not stat.S_ISREG(mode):
                # a FIFO or device would block or never end when read for its digest
                raise _fail("not_a_file", f"{name} is not a regular file", name)
        names.extend((base / f).relative_to(model_dir).as_posix() for f in files)
    return sorted(n for n in names if n != MANIFEST)


def compute_digests(model_dir: Path) -> dict[str, str]:
    """The sha256 of every file in ``model_dir`` except the manifest, by relative POSIX path."""
    return {name: file_digest(model_dir / name) for name in _list_files(model_dir)}


def check_files(model_dir: Path, digests: dict[str, str]) -> None:
    """Compare the files on disk with ``digests``; raise naming the first file that differs."""
    on_disk = _list_files(model_dir)
    missing = sorted(set(digests) - set(on_disk))
    if missing:
        raise _fail("missing_file", f"{missing[0]} is listed in {MANIFEST} but missing", missing[0])
    extra = sorted(set(on_disk) - set(digests))
    if extra:
        hint = (
            " (byte-code cache: delete the __pycache__ directory)"
            if "__pycache__" in extra[0]
            else ""
        )
        raise _fail("extra_file", f"{extra[0]} is not listed in {MANIFEST}{hint}", extra[0])
    for name in on_disk:
        if file_digest(model_dir / name) != digests[name]:
            raise _fail("digest_mismatch", f"{name} was changed after the model was saved", name)


def _normalise(digest: str) -> str:
    return digest if digest.startswith("sha256:") else f"sha256:{digest}"


def open_package(
    path: str | os.PathLike[str],
    *,
    expected_digest: str | None = None,
    allow_unverified: bool = False,
) -> Opened:
    """Read a package's manifest and check its files; nothing is loaded yet.

    Args:
        path: The package directory.
        expected_digest: The package digest a registry recorded; a different manifest is refused.
        allow_unverified: Accept a package without digests (such as one saved by MLflow).

    Raises:
        NotFound: No package there.
        InvalidArgument: Malformed manifest, digest mismatch, missing/extra file, or no digests.
    """
    model_dir = Path(path)
    data = read_manifest_bytes(model_dir)
    digest = package_digest(data)
    if expected_digest is not None and _normalise(expected_digest) != digest:
        raise _fail(
            "manifest_changed",
            f"{MANIFEST} does not match the recorded package digest {expected_digest}",
            MANIFEST,
        )
    manifest = parse_manifest(data)
    digests = manifest.digests
    if digests is None:
        if not allow_unverified:
            raise _fail(
                "unsealed",
                f"{model_dir} has no file digests (saved by MLflow?): load it with "
                "allow_unverified=True only if you trust its source, or seal() it",
            )
        return Opened(model_dir, manifest, digest, verified=False)
    check_files(model_dir, digests)
    return Opened(model_dir, manifest, digest, verified=True)


def read_verified(opened: Opened, name: Any, field: str) -> bytes:
    """The bytes of a package file, checked against its digest after reading them."""
    path = inside(opened.path, name, field)
    data = path.read_bytes()
    digests = opened.manifest.digests
    if digests is not None and hashlib.sha256(data).hexdigest() != digests.get(str(name)):
        raise _fail("digest_mismatch", f"{name} was changed after the model was saved", str(name))
    return data


def verify(path: str | os.PathLike[str], *, expected_digest: str | None = None) -> str:
    """Check every file of a package against the digests in its manifest.

    Args:
        path: The package directory.
        expected_digest: The package digest recorded at registration, if any.

    Returns:
        The package digest (``sha256:<hex>`` of the manifest bytes).

    Raises:
        NotFound: No package at ``path``.
        InvalidArgument: A file is missing, extra, a symlink or changed (``details['file']``
            names it, ``details['reason']`` says which), the manifest is malformed or was
            rewritten, or the package has no digests.
    """
    return open_package(path, expected_digest=expected_digest).digest


def seal(path: str | os.PathLike[str]) -> str:
    """Record the digests of a package's current files (adopting, say, an MLflow package).

    Sealing vouches for the files as they are now: do it only for a package from a trusted
    source.

    Args:
        path: The package directory; its manifest is rewritten with a ``dockyard.digests``
            section.

    Returns:
        The new package digest.

    Raises:
        NotFound: No package at ``path``.
        InvalidArgument: A malformed manifest, a symlink or a special file in the package.
    """
    model_dir = Path(path)
    manifest = parse_manifest(read_manifest_bytes(model_dir))
    section = {"format": FORMAT, **(manifest.dockyard or {})}
    section["digests"] = compute_digests(model_dir)
    manifest.dockyard = section
    return package_digest(write_manifest(model_dir, manifest))
