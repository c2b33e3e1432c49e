"""Artifacts as files under one local folder (the embedded default)."""

from __future__ import annotations

import builtins
import os
import stat as stat_mode
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from dockyard.artifacts._base import ArtifactInfo, ArtifactStore
from dockyard.artifacts._streams import (
    TEMP_PREFIX,
    SizedReader,
    translate_os_error,
    write_file_atomically,
)
from dockyard.errors import Conflict, DockyardError, InvalidArgument, NotFound

__all__ = ["LocalArtifactStore"]


class LocalArtifactStore(ArtifactStore):
    """Stores each artifact as a file ``<root>/<key>``.

    Writes are atomic (temporary file, fsync, rename) and streamed in fixed-size chunks. No key
    may reach outside ``root``: a path whose real location, symlinks resolved, lies outside the
    root is refused, and deleting a symlink removes the link, never what it points to.

    Unlike S3, a file and a folder cannot share a name: writing ``a/b`` when ``a`` is a file (or
    ``a`` when it is a folder) raises :class:`~dockyard.errors.Conflict`.

    Args:
        root: The folder holding the artifacts; created on the first write.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        # Resolved once so that containment checks compare real paths with a real path.
        self._root = Path(root).expanduser().resolve()

    @property
    def root(self) -> Path:
        """The absolute, symlink-free folder holding the artifacts."""
        return self._root

    def __repr__(self) -> str:
        return f"LocalArtifactStore({str(self._root)!r})"

    def _put_stream(self, key: str, reader: SizedReader) -> ArtifactInfo:
        target = self._real_path(key)
        with self._errors(key):
            if target.is_dir():
                raise Conflict(f"cannot write artifact {key!r}: a folder has that name")
        try:
            written = write_file_atomically(target, reader, lambda exc: self._error(key, exc))
        except BaseException:
            self._prune_empty_folders(target.parent)
            raise
        return ArtifactInfo(path=key, is_dir=False, size=written)

    def _open_read(self, key: str, start: int) -> BinaryIO:
        path = self._real_path(key)
        try:
            stream = path.open("rb")
            stream.seek(start)
            return stream
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise NotFound(f"no artifact file at {key!r}") from exc
        except OSError as exc:
            raise self._error(key, exc) from exc

    def _stat(self, key: str) -> ArtifactInfo:
        path = self._real_path(key)
        try:
            info = path.stat()
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise NotFound(f"no artifact at {key!r}") from exc
        except OSError as exc:
            raise self._error(key, exc) from exc
        if stat_mode.S_ISDIR(info.st_mode):
            return ArtifactInfo(path=key, is_dir=True)
        return ArtifactInfo(path=key, is_dir=False, size=info.st_size)

    def _list(self, prefix: str, *, recursive: bool) -> builtins.list[ArtifactInfo]:
        folder = self._real_path(prefix)
        with self._errors(prefix):
            if not folder.is_dir():
                return []
            if recursive:
                entries = list(self._walk(folder, prefix))
            else:
                entries = [entry for entry, _ in self._children(folder, prefix)]
        return sorted(entries, key=lambda entry: entry.path)

    def _delete(self, prefix: str) -> int:
        # The last segment is not resolved: deleting a symlink must remove the link itself.
        _refuse_reserved(prefix)
        parent_key, _, name = prefix.rpartition("/")
        parent = self._real_path(parent_key)
        target = parent / name
        with self._errors(prefix):
            try:
                info = target.lstat()
            except (FileNotFoundError, NotADirectoryError):
                return 0
            if stat_mode.S_ISDIR(info.st_mode):
                deleted = _remove_tree(target)
            else:
                target.unlink()
                deleted = 1
        self._prune_empty_folders(parent)
        return deleted

    def _real_path(self, key: str) -> Path:
        _refuse_reserved(key)
        lexical = self._root.joinpath(*key.split("/")) if key else self._root
        # Checked per call, so symlinks created later are caught too; one swapped in between this
        # check and the open is not, which only whoever already writes inside the root could do.
        real = Path(os.path.realpath(lexical))
        if not real.is_relative_to(self._root):
            raise InvalidArgument(
                f"artifact path {key!r} resolves outside the artifact root", field="path"
            )
        return real

    def _children(self, folder: Path, prefix: str) -> Iterator[tuple[ArtifactInfo, bool]]:
        """Yield each visible entry of ``folder`` with whether it is a symlink."""
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith(TEMP_PREFIX):
                    continue
                is_link = entry.is_symlink()
                if is_link and not Path(os.path.realpath(entry.path)).is_relative_to(self._root):
                    continue
                path = f"{prefix}/{entry.name}" if prefix else entry.name
                try:
                    if entry.is_dir():
                        yield ArtifactInfo(path=path, is_dir=True), is_link
                    else:
                        size = entry.stat().st_size
                        yield ArtifactInfo(path=path, is_dir=False, size=size), is_link
                except FileNotFoundError:
                    continue  # deleted while we listed, or a dangling symlink

    def _walk(self, folder: Path, prefix: str) -> Iterator[ArtifactInfo]:
        for entry, is_link in self._children(folder, prefix):
            if not entry.is_dir:
                yield entry
            elif not is_link:
                # Symlinked folders are not descended into: one could loop, or list files twice.
                yield from self._walk(folder / entry.path.rpartition("/")[2], entry.path)

    def _prune_empty_folders(self, folder: Path) -> None:
        # Folders exist only as prefixes of artifacts (as on S3), so ones left empty by a delete
        # or a failed write go; rmdir refuses non-empty folders, which keeps concurrent writes safe.
        while folder != self._root and folder.is_relative_to(self._root):
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent

    @contextmanager
    def _errors(self, key: str) -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            raise self._error(key, exc) from exc

    @staticmethod
    def _error(key: str, exc: OSError) -> DockyardError:
        return translate_os_error(f"artifact {key!r}", exc)


def _refuse_reserved(key: str) -> None:
    if any(segment.startswith(TEMP_PREFIX) for segment in key.split("/")):
        raise InvalidArgument(
            f"artifact path {key!r} uses the reserved name prefix {TEMP_PREFIX!r}", field="path"
        )


def _remove_tree(folder: Path) -> int:
    """Delete ``folder`` and its content without following symlinks; return the files removed."""
    deleted = 0
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                deleted += _remove_tree(Path(entry.path))
            else:
                Path(entry.path).unlink(missing_ok=True)
                deleted += 0 if entry.name.startswith(TEMP_PREFIX) else 1
    folder.rmdir()
    return deleted
