"""Stream plumbing shared by the backends: size checks, atomic local writes, OS error mapping."""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Protocol

from dockyard.errors import Conflict, DockyardError, InvalidArgument, NotFound, Unavailable

__all__ = [
    "COPY_BUFFER_SIZE",
    "TEMP_PREFIX",
    "ByteSource",
    "SizedReader",
    "translate_os_error",
    "write_file_atomically",
]

#: Bytes moved per read/write when copying; memory per transfer stays at about this much.
COPY_BUFFER_SIZE = 1024 * 1024
#: Name prefix of files still being written; listings hide them and keys may not use it.
TEMP_PREFIX = ".dockyard-tmp-"

# Failures of the storage itself rather than of the request: retrying later (or elsewhere) may work.
_UNAVAILABLE_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.ETIMEDOUT, errno.ESTALE}
)


class ByteSource(Protocol):
    """What a store needs from a stream it reads: ``read(n)`` returning bytes, ``b""`` at the end.

    Binary files, ``io.BytesIO`` and sockets' file objects qualify, as does any small adapter
    (over an HTTP request body, say) that implements just this method.
    """

    def read(self, size: int = -1, /) -> bytes: ...


class SizedReader:
    """Reads a caller's stream in full-sized chunks, counting bytes and enforcing a promised size.

    Sources such as sockets return short reads; S3 transfers would turn each short read into an
    undersized multipart part, so ``read(n)`` here returns exactly ``n`` bytes until the end.
    Exceptions raised by the source propagate unchanged.

    Args:
        source: The caller's binary stream.
        key: The artifact being written, for error messages.
        expected_size: The byte count the source must yield, or ``None`` if unknown.
    """

    def __init__(self, source: ByteSource, key: str, expected_size: int | None) -> None:
        self._source = source
        self._key = key
        self.expected_size = expected_size
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        # s3transfer seeks seekable sources; this reader is forward-only by design.
        return False

    def read(self, size: int | None = -1) -> bytes:
        """Read ``size`` bytes (fewer only at the end of the stream); ``-1`` reads to the end."""
        if size is None or size < 0:
            parts = []
            while part := self.read(COPY_BUFFER_SIZE):
                parts.append(part)
            return b"".join(parts)
        chunks: list[bytes] = []
        missing = size
        while missing > 0:
            chunk = self._source.read(missing)
            if not chunk:
                self._check_complete()
                break
            chunks.append(chunk)
            missing -= len(chunk)
            self.bytes_read += len(chunk)
            if self.expected_size is not None and self.bytes_read > self.expected_size:
                raise InvalidArgument(
                    f"artifact {self._key!r}: stream yielded more than the announced "
                    f"{self.expected_size} bytes"
                )
        # The usual case is one full read: return it without copying.
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def _check_complete(self) -> None:
        if self.expected_size is not None and self.bytes_read != self.expected_size:
            raise InvalidArgument(
                f"artifact {self._key!r}: stream ended after {self.bytes_read} bytes, "
                f"{self.expected_size} were announced"
            )


def translate_os_error(subject: str, exc: OSError) -> DockyardError:
    """Map a filesystem error about ``subject`` (a key or a path to show) to a Dockyard error."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    message = f"{subject}: {reason}"
    if isinstance(exc, FileNotFoundError):
        return NotFound(message)
    if isinstance(exc, IsADirectoryError | NotADirectoryError | FileExistsError):
        return Conflict(message)
    if exc.errno in _UNAVAILABLE_ERRNOS:
        return Unavailable(message)
    return DockyardError(message)


def write_file_atomically(
    target: Path, source: ByteSource, fail: Callable[[OSError], DockyardError]
) -> int:
    """Copy ``source`` into ``target`` so that readers see the old file or the whole new one.

    The bytes go to a temporary file in the target's folder (same filesystem, so the final
    ``os.replace`` is atomic), are fsynced, then renamed over ``target``; on any failure the
    temporary file is removed. Parent folders are created as needed.

    Args:
        target: The file to create or replace.
        source: Where the bytes come from; its exceptions propagate unchanged.
        fail: Turns a filesystem error on the target side into the error to raise.

    Returns:
        The number of bytes written.
    """
    try:
        temp_path, temp = _open_temp(target.parent)
    except OSError as exc:
        raise fail(exc) from exc
    try:
        written = 0
        with temp:
            while chunk := source.read(COPY_BUFFER_SIZE):
                try:
                    temp.write(chunk)
                except OSError as exc:
                    raise fail(exc) from exc
                written += len(chunk)
            try:
                temp.flush()
                os.fsync(temp.fileno())
            except OSError as exc:
                raise fail(exc) from exc
        try:
            temp_path.replace(target)
        except OSError as exc:
            raise fail(exc) from exc
    except BaseException:
        temp_path.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)
    return written


def _open_temp(folder: Path) -> tuple[Path, BinaryIO]:
    # A concurrent delete may prune the freshly created (still empty) folder before the temporary
    # file lands in it; creating the folder again is enough.
    attempts = 3
    for attempt in range(attempts):
        folder.mkdir(parents=True, exist_ok=True)
        temp_path = folder / f"{TEMP_PREFIX}{secrets.token_hex(8)}"
        try:
            # "x": never clobber; the default mode honours the umask, unlike mkstemp's 0600.
            return temp_path, temp_path.open("xb")
        except FileNotFoundError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable; some filesystems cannot fsync a folder, which only weakens
    # durability after a power cut, so that is not worth failing a completed write for.
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
