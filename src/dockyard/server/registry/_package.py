"""Copying a package between the artifact store and a staging folder, and checking it there.

Registration copies the source into a private staging folder first and checks *that* copy: what
is verified is exactly what is uploaded, however the source changes meanwhile.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.artifacts import ArtifactStore
from dockyard.artifacts.paths import normalize_artifact_path
from dockyard.errors import DockyardError, InvalidArgument, NotFound
from dockyard.models.uris import MANIFEST

__all__ = ["MAX_FILES", "PackageFacts", "copy_local", "download_prefix", "inspect", "upload"]

#: A package is a handful of files; a source with more is almost certainly the wrong folder.
MAX_FILES = 10_000
_LIBRARY_VERSION = re.compile(r"\d+\.\d+")


@dataclass(frozen=True, slots=True)
class PackageFacts:
    """What registration records about a checked package."""

    digest: str
    flavor: str
    library_version: str | None
    signature: dict[str, Any] | None
    sealed_by_registry: bool


def _too_many(source: str) -> InvalidArgument:
    return InvalidArgument(
        f"{source} holds more than {MAX_FILES} files: is it a model package folder?",
        field="source",
    )


def download_prefix(store: ArtifactStore, prefix: str, dest: Path, source: str) -> None:
    """Copy every file under ``prefix`` in ``store`` into ``dest``."""
    files = [f for f in store.list(prefix, recursive=True) if not f.is_dir]
    if not files:
        what = "a file, not a package folder" if prefix and store.exists(prefix) else "nothing"
        raise NotFound(f"{source} names {what}", field="source")
    if len(files) > MAX_FILES:
        raise _too_many(source)
    cut = len(prefix) + 1 if prefix else 0
    for item in files:
        store.get_file(item.path, dest / normalize_artifact_path(item.path[cut:]))


def copy_local(folder: Path, dest: Path, source: str) -> None:
    """Copy a package folder on this machine into ``dest`` (symlinks are refused, not followed)."""
    try:
        _copy_local(folder, dest, source)
    except OSError as exc:  # a name too long, a folder we may not read, ...
        raise InvalidArgument(
            f"cannot read {source[:200]}: {exc.strerror}", field="source"
        ) from exc


def _copy_local(folder: Path, dest: Path, source: str) -> None:
    if not folder.exists():
        raise NotFound(f"{source}: no such folder", field="source")
    if not folder.is_dir():
        raise InvalidArgument(f"{source} is a file, not a package folder", field="source")
    count = 0
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            raise InvalidArgument(
                f"{source}: {path.relative_to(folder)} is a symlink; packages hold only files",
                field="source",
            )
        if path.is_file():
            count += 1
            if count > MAX_FILES:
                raise _too_many(source)
            target = dest / path.relative_to(folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


def upload(folder: Path, store: ArtifactStore, prefix: str) -> None:
    """Store every file of ``folder`` under ``prefix``."""
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        store.put_file(f"{prefix}/{path.relative_to(folder).as_posix()}", path)


def _refuse(source: str, exc: DockyardError) -> InvalidArgument:
    return InvalidArgument(
        f"cannot register {source}: {exc.message}", field="source", details=exc.details
    )


def _signature_json(signature: Any) -> dict[str, Any] | None:
    if signature is None:
        return None
    parts = signature.to_dict()
    return {k: json.loads(v) for k, v in parts.items() if v is not None}


def inspect(folder: Path, source: str) -> PackageFacts:
    """Verify the staged package and read what the registry records.

    A package without digests (saved by MLflow) is sealed here: its digests then vouch for the
    files as they were copied, and the version records ``sealed_by_registry``.

    Raises:
        InvalidArgument: No manifest, a malformed one, a file that is missing, extra or changed
            (the message names it), an unknown flavor or an unreadable library version.
    """
    from dockyard.models import flavors, open_package, seal

    if not (folder / MANIFEST).is_file():
        raise InvalidArgument(
            f"{source} is not a model package: it has no {MANIFEST} file", field="source"
        )
    try:
        opened = open_package(folder, allow_unverified=True)
        sealed = not opened.verified
        if sealed:
            seal(folder)
            opened = open_package(folder)
        flavor = flavors.for_manifest(opened.manifest)
    except (InvalidArgument, NotFound) as exc:
        raise _refuse(source, exc) from exc
    manifest = opened.manifest
    library = manifest.flavors.get(flavor.name, {}).get(flavor.version_key)
    if library is None:
        library = manifest.python_function.get(flavor.version_key)
    if library is not None and not _LIBRARY_VERSION.match(str(library)):
        raise InvalidArgument(
            f"cannot register {source}: unsupported {flavor.library} version {library!r} in "
            f"flavors.{flavor.name}.{flavor.version_key}",
            field="source",
            details={"library": flavor.library, "version": str(library)},
        )
    return PackageFacts(
        digest=opened.digest,
        flavor=flavor.name,
        library_version=None if library is None else str(library),
        signature=_signature_json(manifest.signature),
        sealed_by_registry=sealed,
    )
