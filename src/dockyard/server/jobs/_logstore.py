"""Jobs' logs in the artifact store, appended through the API by their runners.

S3 has no append, so each append is a part of its own, named by the offset of its first byte::

    jobs/<job id>/log/000000000000000-1764930000123   the first bytes, stored at that unix ms
    jobs/<job id>/log/000000000004096-1764930000371   what came next, from byte 4096

The log is the parts in order, read back as one stream of bytes with stable offsets (``GET
/api/v1/jobs/{name}/logs?offset=`` and ``dockyard jobs logs -f`` follow it by offset). A
runner appends at the offset it believes is the end: a retried append (its answer was lost)
stores only the bytes the log does not hold yet, and an append past the end is refused with
the log's size, so the log never has a hole and never holds a byte twice.

Each server process remembers the parts it has seen, so an append at the end costs one write;
a read that asks for more than this process knows of lists the parts again (another server
process may have stored them). A runner sends its log at most every second or so (more slowly
as the job runs on), which bounds how many parts a long job leaves.

A part's name carries when it was stored, so every line has a time (within the runner's send
interval of when it was written: at most a couple of seconds) without a write of its own:
:meth:`JobLogs.marks` lists them. A part named by its offset alone (stored before parts had
times) has none.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import BinaryIO

from dockyard.artifacts import ArtifactStore
from dockyard.errors import Conflict, InvalidArgument

__all__ = ["JobLogs"]

_DIGITS = 15  # a petabyte of log
_REMEMBERED = 256  # jobs whose parts this process keeps in memory


class JobLogs:
    """Every job's log in ``store``."""

    def __init__(self, store: ArtifactStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        # Per job: (start, size, unix ms stored or None) of each part.
        self._parts: OrderedDict[str, list[tuple[int, int, int | None]]] = OrderedDict()

    @staticmethod
    def _folder(job_id: str) -> str:
        return f"jobs/{job_id}/log"

    def _key(self, job_id: str, start: int, stored: int | None) -> str:
        name = f"{start:0{_DIGITS}d}" if stored is None else f"{start:0{_DIGITS}d}-{stored}"
        return f"{self._folder(job_id)}/{name}"

    def _listed(self, job_id: str) -> list[tuple[int, int, int | None]]:
        """The log's parts as stored, up to the first gap (there is none unless a part was
        removed by hand)."""
        found = []
        for info in self._store.list(self._folder(job_id), recursive=True):
            at, dash, when = info.path.rsplit("/", 1)[-1].partition("-")
            if not (at.isascii() and at.isdigit()) or info.size is None:
                continue
            if dash and not (when.isascii() and when.isdigit()):
                continue
            found.append((int(at), info.size, int(when) if dash else None))
        parts: list[tuple[int, int, int | None]] = []
        end = 0
        for start, size, stored in sorted(found, key=lambda p: p[0]):
            if start != end:
                break
            parts.append((start, size, stored))
            end += size
        return parts

    def _known(self, job_id: str, *, refresh: bool) -> list[tuple[int, int, int | None]]:
        with self._lock:
            parts = None if refresh else self._parts.get(job_id)
        if parts is None:
            parts = self._listed(job_id)
            with self._lock:
                self._parts[job_id] = parts
                self._parts.move_to_end(job_id)
                while len(self._parts) > _REMEMBERED:
                    self._parts.popitem(last=False)
        return parts

    @staticmethod
    def _end(parts: list[tuple[int, int, int | None]]) -> int:
        return parts[-1][0] + parts[-1][1] if parts else 0

    def marks(self, job_id: str, upto: int = 0) -> list[tuple[int, int]]:
        """``(offset, unix ms)`` per part: the bytes before ``offset`` were stored by then; the
        parts this process knows of, looked for again if they end before ``upto``."""
        parts = self._known(job_id, refresh=False)
        if self._end(parts) < upto:
            parts = self._known(job_id, refresh=True)
        return [(start + size, stored) for start, size, stored in parts if stored is not None]

    def size(self, job_id: str) -> int:
        """How many bytes the log holds."""
        return self._end(self._known(job_id, refresh=True))

    def append(self, job_id: str, offset: int, data: bytes) -> int:
        """Store ``data`` as the log's bytes from ``offset``; returns the log's new size.

        Raises:
            Conflict: ``offset`` is past the end of the log (``details["size"]`` says where
                it ends).
        """
        parts = self._known(job_id, refresh=False)
        if offset > self._end(parts):
            parts = self._known(job_id, refresh=True)
        end = self._end(parts)
        if offset > end:
            raise Conflict(
                f"offset {offset} is past the end of the log ({end} bytes)",
                field="offset",
                details={"size": end},
            )
        data = data[end - offset :]  # what a retried append already stored is not stored twice
        if not data:
            return end
        stored = time.time_ns() // 1_000_000
        self._store.put_bytes(self._key(job_id, end, stored), data)
        with self._lock:
            known = self._parts.get(job_id)
            if known is not None and self._end(known) == end:
                known.append((end, len(data), stored))
        return end + len(data)

    def read(self, job_id: str, offset: int, limit: int) -> bytes:
        """Up to ``limit`` bytes of the log from ``offset``.

        Raises:
            InvalidArgument: ``offset`` is past the end of the log.
        """
        parts = self._known(job_id, refresh=False)
        if offset >= self._end(parts):  # a follower at the end: look for new parts
            parts = self._known(job_id, refresh=True)
        end = self._end(parts)
        if offset > end:
            raise InvalidArgument(
                f"offset {offset} is past the end of the log ({end} bytes)", field="offset"
            )
        out = bytearray()
        for start, size, stored in parts:
            if start + size <= offset:
                continue
            if len(out) >= limit:
                break
            skip = max(0, offset - start)
            with self._store.open_read(self._key(job_id, start, stored)) as part:
                if skip:
                    _skip(part, skip)
                out += part.read(min(size - skip, limit - len(out)))
        return bytes(out)


def _skip(stream: BinaryIO, count: int) -> None:
    """Move ``stream`` ``count`` bytes on (S3 bodies cannot seek)."""
    if stream.seekable():
        stream.seek(count, 1)
        return
    while count > 0:
        chunk = stream.read(min(count, 1 << 20))
        if not chunk:
            return
        count -= len(chunk)
