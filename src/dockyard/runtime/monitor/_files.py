"""Files by URI through the artifact store (local folders, ``file://`` and ``s3://`` alike)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from dockyard.artifacts import ArtifactStore, open_artifact_store
from dockyard.artifacts.roots import AllowedRoots, local_path
from dockyard.errors import DockyardError, PermissionDenied

__all__ = ["confine", "download", "files_under", "read_lines", "upload"]


def confine(uris: list[str], roots: AllowedRoots | None, field: str) -> list[str]:
    """``uris``, once each local one, resolved, is found inside the allowed roots: the server
    checked the folders at submit, and a link inside one may point anywhere since."""
    if roots is None:
        return uris
    for uri in uris:
        if not uri.startswith("s3://") and not roots.contains(local_path(uri)):
            raise PermissionDenied(f"{uri} is outside the allowed roots", field=field)
    return uris


def _store(uri: str, s3_endpoint_url: str | None) -> ArtifactStore:
    return open_artifact_store(uri, s3_endpoint_url=s3_endpoint_url)


def _split(uri: str) -> tuple[str, str]:
    head, _, name = uri.rstrip("/").rpartition("/")
    return head, name


def files_under(uris: tuple[str, ...], s3_endpoint_url: str | None) -> list[str]:
    """The files each URI names: itself when it is a file, else those under it (sorted, without
    markers such as a transform's ``_manifest.json``); a prefix with nothing under it (an hour
    without capture) names none."""
    found: list[str] = []
    for uri in uris:
        listed = _store(uri, s3_endpoint_url).list("", recursive=True)
        infos = [i for i in listed if not i.is_dir and not _is_marker(i.path)]
        if infos:
            base = uri.rstrip("/")
            found.extend(f"{base}/{i.path}" for i in sorted(infos, key=lambda i: i.path))
            continue
        head, name = _split(uri)
        if head and name and _is_file(_store(head, s3_endpoint_url), name):
            found.append(uri)
    return found


def _is_marker(path: str) -> bool:
    """A transform's ``_manifest.json``, a ``_SUCCESS`` or a hidden file: not data."""
    return path.rsplit("/", 1)[-1].startswith(("_", "."))


def _is_file(store: ArtifactStore, name: str) -> bool:
    """Whether ``name`` is a file of ``store`` (a folder with nothing listable under it, such
    as one whose only entries are links out of it, is not)."""
    try:
        return not store.stat(name).is_dir
    except DockyardError:
        return False


def read_lines(uri: str, s3_endpoint_url: str | None) -> Iterator[bytes]:
    """The non-empty lines of the file ``uri``."""
    head, name = _split(uri)
    with _store(head, s3_endpoint_url).open_read(name) as handle:
        for line in handle:
            if line.strip():
                yield line


def download(uri: str, names: tuple[str, ...], to: Path, s3_endpoint_url: str | None) -> Path:
    """Copy the files ``names`` of the folder ``uri`` into ``to``."""
    to.mkdir(parents=True, exist_ok=True)
    store = _store(uri, s3_endpoint_url)
    for name in names:
        store.get_file(name, to / name)
    return to


def upload(folder: Path, uri: str, s3_endpoint_url: str | None) -> list[str]:
    """Copy every file of ``folder`` under ``uri``; returns their names."""
    store = _store(uri, s3_endpoint_url)
    names = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        store.put_file(name, path)
        names.append(name)
    return names
