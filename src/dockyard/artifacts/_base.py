"""The byte-level contract every artifact backend fulfils."""

from __future__ import annotations

import builtins
import io
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from dockyard.artifacts._streams import (
    ByteSource,
    SizedReader,
    translate_os_error,
    write_file_atomically,
)
from dockyard.artifacts.paths import normalize_artifact_path
from dockyard.errors import InvalidArgument, NotFound

__all__ = ["ArtifactInfo", "ArtifactStore", "ByteSource"]


@dataclass(frozen=True, slots=True)
class ArtifactInfo:
    """One entry of a listing, or what a write stored.

    Attributes:
        path: The key, relative to the store's root (``model/MLmodel``), never a backend path.
        is_dir: Whether this names a folder (a key prefix that has artifacts under it).
        size: Size in bytes of a file; ``None`` for a folder.
    """

    path: str
    is_dir: bool
    size: int | None = None


class ArtifactStore(ABC):
    """Bytes under relative keys: put and get as streams, list, stat and delete.

    Keys are relative POSIX paths, checked and canonicalised by
    :func:`~dockyard.artifacts.paths.normalize_artifact_path` in the public methods here, so a
    backend only ever sees canonical keys. Folders exist only as prefixes of stored files, as in
    S3: a delete or a failed write removes the folders it left empty.

    Every method raises :class:`~dockyard.errors.DockyardError` subclasses only:
    :class:`~dockyard.errors.InvalidArgument` for an unacceptable key,
    :class:`~dockyard.errors.NotFound` (naming the key) for a missing artifact,
    :class:`~dockyard.errors.Unavailable` when the backend cannot be reached. An exception raised
    by a caller's source stream propagates unchanged. Instances are safe to share between threads.
    """

    def put_stream(self, key: str, stream: ByteSource, size: int | None = None) -> ArtifactInfo:
        """Store everything ``stream`` yields under ``key``, replacing any previous content.

        The write is all-or-nothing: until it completes, readers see the previous content (or
        nothing), and if it fails (including when ``stream`` raises) nothing of it is visible.
        Memory use does not grow with the size of the stream.

        Args:
            key: The artifact's relative path.
            stream: Any object with ``read(n) -> bytes`` (a binary file, ``io.BytesIO``...); it
                is read from its current position to its end.
            size: The number of bytes ``stream`` will yield, if known; any other count fails the
                write.

        Returns:
            The stored artifact's info, with the number of bytes written.

        Raises:
            InvalidArgument: The key is unacceptable, or the stream did not yield ``size`` bytes.
        """
        canonical = normalize_artifact_path(key)
        if size is not None and size < 0:
            raise InvalidArgument(f"size of artifact {canonical!r} must not be negative: {size}")
        return self._put_stream(canonical, SizedReader(stream, canonical, size))

    def put_bytes(self, key: str, data: bytes) -> ArtifactInfo:
        """Store ``data`` under ``key`` (see :meth:`put_stream`)."""
        return self.put_stream(key, io.BytesIO(data), size=len(data))

    def put_file(self, key: str, local_path: str | os.PathLike[str]) -> ArtifactInfo:
        """Store the content of a local file under ``key`` (see :meth:`put_stream`).

        Raises:
            NotFound: ``local_path`` does not exist or is not a file.
        """
        canonical = normalize_artifact_path(key)
        shown = repr(os.fspath(local_path))
        try:
            # Opened apart from the with-block below so that only opening errors are mapped here.
            source = Path(local_path).open("rb")  # noqa: SIM115
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise NotFound(f"no local file {shown} to store") from exc
        except OSError as exc:
            raise translate_os_error(f"cannot read local file {shown}", exc) from exc
        with source:
            size = os.fstat(source.fileno()).st_size
            return self._put_stream(canonical, SizedReader(source, canonical, size))

    def open_read(self, key: str, *, start: int = 0) -> BinaryIO:
        """Open an artifact for streaming reads from byte ``start``; close it (or use ``with``)
        when done. A reader of one range of a large object fetches only what it reads.

        Raises:
            NotFound: No file is stored under ``key``.
            InvalidArgument: ``start`` is negative.
        """
        if start < 0:
            raise InvalidArgument(f"cannot read {key!r} from byte {start}", field="start")
        return self._open_read(normalize_artifact_path(key), start)

    def get_file(self, key: str, local_path: str | os.PathLike[str]) -> None:
        """Stream an artifact to a local file, creating its folders.

        The file appears complete or not at all: a failed download leaves ``local_path`` as it was.

        Raises:
            NotFound: No file is stored under ``key``.
        """
        self._get_file(normalize_artifact_path(key), Path(local_path))

    def list(self, prefix: str = "", *, recursive: bool = False) -> builtins.list[ArtifactInfo]:
        """List what is under a folder, sorted by path.

        ``prefix`` names a folder, not a string prefix: ``list("a/b")`` never shows ``a/bc``.
        A missing folder, or a key that names a file, lists as empty (as MLflow does).

        Args:
            prefix: The folder to list; ``""`` is the store's root.
            recursive: ``False`` lists direct children, folders included (``is_dir=True``);
                ``True`` lists every file at any depth, and no folders.

        Returns:
            Entries whose ``path`` is the full key (``a/b/c``, not ``c``).
        """
        return self._list(normalize_artifact_path(prefix, allow_root=True), recursive=recursive)

    def stat(self, key: str) -> ArtifactInfo:
        """Describe the file or folder at ``key`` (``""`` is the root, always a folder).

        Raises:
            NotFound: Nothing is stored at or under ``key``.
        """
        canonical = normalize_artifact_path(key, allow_root=True)
        if not canonical:
            return ArtifactInfo(path="", is_dir=True)
        return self._stat(canonical)

    def exists(self, key: str) -> bool:
        """Whether a file or a folder exists at ``key``."""
        try:
            self.stat(key)
        except NotFound:
            return False
        return True

    def check(self) -> None:
        """Make one cheap request of the store, so that a server refuses to start over a store it
        cannot use (a missing bucket, refused credentials, an unreachable endpoint) with the
        reason, rather than failing its first upload. Nothing to ask of a local folder, which
        is created when first written.

        Raises:
            DockyardError: As the store's first real request would.
        """
        return

    def delete(self, prefix: str) -> int:
        """Delete the file at ``prefix`` and everything under the folder ``prefix``.

        Deleting what does not exist is not an error, so a delete interrupted halfway can be
        retried. The root cannot be deleted this way.

        Returns:
            The number of files deleted.
        """
        return self._delete(normalize_artifact_path(prefix))

    # Backends implement these; keys are canonical and never empty unless stated.

    @abstractmethod
    def _put_stream(self, key: str, reader: SizedReader) -> ArtifactInfo: ...

    @abstractmethod
    def _open_read(self, key: str, start: int) -> BinaryIO: ...

    @abstractmethod
    def _list(self, prefix: str, *, recursive: bool) -> builtins.list[ArtifactInfo]:
        """``prefix`` may be ``""``."""

    @abstractmethod
    def _stat(self, key: str) -> ArtifactInfo: ...

    @abstractmethod
    def _delete(self, prefix: str) -> int: ...

    def _get_file(self, key: str, local_path: Path) -> None:
        with self._open_read(key, 0) as source:
            write_file_atomically(
                local_path,
                source,
                lambda exc: translate_os_error(f"cannot write local file {str(local_path)!r}", exc),
            )
