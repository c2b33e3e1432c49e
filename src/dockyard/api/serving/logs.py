"""A serving worker's log on disk: what the worker writes and the server reads.

A worker's stdout and stderr (its access log, warnings, tracebacks, what a model prints) go
to one folder per worker, in segments named by the offset of their first byte in the
worker's whole output, as a job's log parts are::

    <endpoint folder>/logs/<worker id>/000000000000000         the first bytes
    <endpoint folder>/logs/<worker id>/000000000000000.times   when they were written
    <endpoint folder>/logs/<worker id>/000000004194321         from byte 4194321 on

The worker starts a new segment once the current one holds :data:`SEGMENT_BYTES` and deletes
all but the newest :data:`KEEP_SEGMENTS`, so a worker's log is bounded while offsets stay
stable: a reader that asks for bytes that were dropped is moved on to the oldest byte kept.
Each segment's ``.times`` index holds ``<offset> <unix ms>`` lines, written about once a
second while the worker writes (never per request): the bytes before ``offset`` had been
written by then. A line's time is the first mark at or past its end.

The folder is on the server's disk (the server's home), so it outlives a server restart and
a worker that exited; the newest :data:`KEEP_EXITED` exited workers' logs are kept per endpoint.
A worker on another machine (a replica on a cluster node) writes the same layout there, and
the server copies what it wrote into the endpoint's folder (:func:`copy_chunk`), so its log is
read the same way and outlives the node.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "KEEP_EXITED",
    "KEEP_SEGMENTS",
    "SEGMENT_BYTES",
    "LogChunk",
    "WorkerLog",
    "copy_chunk",
    "new_worker_id",
    "segment_name",
    "worker_logs",
    "worker_started_ms",
]

#: Bytes a segment holds before the worker starts the next.
SEGMENT_BYTES = 4 << 20
#: Segments kept per worker: a worker's log holds at most about twice SEGMENT_BYTES.
KEEP_SEGMENTS = 2
#: Marks a segment's time index holds before the worker starts the next segment anyway.
MAX_MARKS = 1 << 16
#: Exited workers whose logs an endpoint keeps (the newest).
KEEP_EXITED = 8
_DIGITS = 15
_TIMES = ".times"
_READ_TRIES = 3  # reads of a log whose segments the worker deleted meanwhile


def segment_name(offset: int) -> str:
    return f"{offset:0{_DIGITS}d}"


def new_worker_id() -> str:
    """An id for a worker about to start: ``i-`` and its start time in hex nanoseconds (as
    SageMaker names instances ``i-...``), so ids sort by start."""
    return f"i-{time.time_ns():x}"


def _started_ns(worker_id: str) -> int | None:
    digits = worker_id.removeprefix("i-")
    if not worker_id.startswith("i-") or not digits.isascii() or not digits.isalnum():
        return None
    try:
        return int(digits, 16)
    except ValueError:
        return None


def worker_started_ms(worker_id: str) -> int | None:
    """When the worker with ``worker_id`` started, or None for an id not made here."""
    ns = _started_ns(worker_id)
    return None if ns is None else ns // 1_000_000


@dataclass(frozen=True)
class LogChunk:
    """Bytes of a worker's log from ``offset`` (the first byte kept at or after the one asked
    for), and marks ``(offset, unix ms)``: the bytes before each offset were written by then."""

    offset: int
    data: bytes
    marks: tuple[tuple[int, int], ...]

    @property
    def end(self) -> int:
        return self.offset + len(self.data)

    def time_of(self, end: int, default: int) -> int:
        """When the bytes before ``end`` had all been written (``default`` if not known yet)."""
        for at, ms in self.marks:
            if at >= end:
                return ms
        return default


class WorkerLog:
    """The log in ``folder`` (one worker's), read by offset."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @property
    def worker_id(self) -> str:
        return self.folder.name

    def _segments(self) -> list[tuple[int, int]]:
        """``(start, size)`` of each segment, oldest first."""
        found = []
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(self.folder):
                if entry.name.isdigit():
                    with contextlib.suppress(FileNotFoundError):
                        found.append((int(entry.name), entry.stat().st_size))
        found.sort()
        # A segment's bytes end where the next begins (its writer moved on); a few bytes
        # written during the switch are cut rather than given two offsets.
        out = []
        for index, (start, size) in enumerate(found):
            cap = found[index + 1][0] - start if index + 1 < len(found) else size
            out.append((start, min(size, cap)))
        return out

    def bounds(self) -> tuple[int, int]:
        """The offsets of the first byte kept and of the end."""
        segments = self._segments()
        if not segments:
            return 0, 0
        return segments[0][0], segments[-1][0] + segments[-1][1]

    def modified_ms(self) -> int:
        """When the worker last wrote (the newest segment's change time), or 0."""
        segments = self._segments()
        if not segments:
            return 0
        with contextlib.suppress(FileNotFoundError):
            return (self.folder / segment_name(segments[-1][0])).stat().st_mtime_ns // 1_000_000
        return 0

    def read(self, offset: int, limit: int) -> LogChunk:
        """Up to ``limit`` bytes from ``offset`` (or from the oldest byte kept, if later)."""
        for _ in range(_READ_TRIES):
            try:
                return self._read(offset, limit)
            except FileNotFoundError:  # the worker deleted a segment meanwhile: look again
                continue
        return LogChunk(offset, b"", ())

    def _read(self, offset: int, limit: int) -> LogChunk:
        segments = self._segments()
        if segments:
            offset = max(offset, segments[0][0])
        out = bytearray()
        marks: list[tuple[int, int]] = []
        start_at = offset
        for start, size in segments:
            if start + size <= offset or len(out) >= limit:
                continue
            skip = max(0, offset + len(out) - start)
            try:
                with (self.folder / segment_name(start)).open("rb") as part:
                    part.seek(skip)
                    out += part.read(min(size - skip, limit - len(out)))
            except FileNotFoundError:
                if out:  # what was read is whole and in place: the rest on the next read
                    break
                raise  # nothing read yet: the bytes asked for are gone, start again
            marks += self._marks(start)
        end = start_at + len(out)
        # Marks past the chunk stay: the chunk's last line is dated by the next mark.
        chosen = tuple(m for m in marks if m[0] > start_at)
        return LogChunk(start_at, bytes(out), chosen if end else ())

    def marks(self) -> list[tuple[int, int]]:
        """Every time mark of the segments kept, in order."""
        return [m for start, _ in self._segments() for m in self._marks(start)]

    def _marks(self, start: int) -> list[tuple[int, int]]:
        marks = []
        with contextlib.suppress(FileNotFoundError):
            text = (self.folder / (segment_name(start) + _TIMES)).read_text("ascii", "replace")
            for line in text.splitlines():
                at, _, ms = line.partition(" ")
                if at.isdigit() and ms.isdigit():
                    marks.append((int(at), int(ms)))
        return marks


def worker_logs(root: Path) -> list[WorkerLog]:
    """Every worker's log under ``root`` (an endpoint's ``logs`` folder), oldest first."""
    with contextlib.suppress(FileNotFoundError):
        found = [p for p in root.iterdir() if _started_ns(p.name) is not None]
        return [WorkerLog(p) for p in sorted(found, key=lambda p: _started_ns(p.name) or 0)]
    return []


def copy_chunk(folder: Path, chunk: LogChunk) -> int:
    """Append ``chunk``, read from a worker's log elsewhere, to the copy of that log in
    ``folder``, in the same layout (bounded the same way); returns the copy's end offset.

    Bytes the copy already holds are skipped, so copying the same chunk twice (two server
    processes at once: a lock orders them) adds it once. A chunk starting past the copy's end
    (the worker dropped bytes before they were copied) starts the copy again at its offset:
    a reader asking for what was dropped moves on, as it does on the worker's own log.
    Its marks date its bytes; bytes no mark covers yet are dated now.
    """
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".copy.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        end = WorkerLog(folder).bounds()[1]
        data, offset = chunk.data, chunk.offset
        if offset < end:
            data, offset = data[end - offset :], end
        if not data:
            return end
        starts = sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit())
        if offset > end:  # a gap: the copy starts again there, as its offsets must not jump
            _remove_segments(folder, starts)
            starts = []
        if starts and end - starts[-1] < SEGMENT_BYTES:
            start = starts[-1]
        else:
            start = offset
            starts.append(start)
        stop = offset + len(data)
        marks = [(at, ms) for at, ms in chunk.marks if offset < at <= stop]
        if not marks or marks[-1][0] < stop:
            marks.append((stop, time.time_ns() // 1_000_000))
        with (folder / segment_name(start)).open("ab") as part:
            part.write(data)
        with (folder / (segment_name(start) + _TIMES)).open("a", encoding="ascii") as times:
            times.write("".join(f"{at} {ms}\n" for at, ms in marks))
        _remove_segments(folder, starts[:-KEEP_SEGMENTS])
        return stop


def _remove_segments(folder: Path, starts: list[int]) -> None:
    for start in starts:
        for name in (segment_name(start), segment_name(start) + _TIMES):
            with contextlib.suppress(FileNotFoundError):
                (folder / name).unlink()
