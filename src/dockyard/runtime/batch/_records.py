"""Reading a text shard as mini-batches of line records, in bounded memory.

A shard is a byte range that starts and ends on line boundaries (or a whole gzip stream). It is
read in windows of at most ``batch_bytes``; each window is cut after its last newline, so a
batch holds whole records only and memory stays at about two windows whatever the file's size.
SageMaker's ``SplitType=Line`` splits on newlines and nothing else: a quoted CSV field that
contains a newline becomes two (malformed) records, as it would there.

Empty lines are not records (a trailing newline, or blank lines between records); their line
numbers are still counted, so reports point at the right line of the file. ``\\r\\n`` endings are
read as ``\\n``. A UTF-8 byte order mark at the start of a file is skipped.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np

from dockyard.runtime.batch._config import ShardTask, WorkerConfig

__all__ = ["BOM", "Oversized", "TextBatch", "text_batches"]

#: The UTF-8 byte order mark, which Excel's "CSV UTF-8" and some exports start a file with.
BOM = b"\xef\xbb\xbf"

_MIN_READ = 64 * 1024
_NEWLINE = 10


@dataclass(slots=True)
class TextBatch:
    """Consecutive line records of one shard.

    Attributes:
        data: The records joined by ``\\n`` (no empty lines, no trailing newline).
        count: How many records.
        first_line: The file line number of the first record.
        line_numbers: Each record's line number, when empty lines were dropped; else ``None``
            (records are on consecutive lines).
        nbytes: Input bytes this batch consumed, for progress.
        whole: The batch is one record (``split_type=None``): it is scored all or nothing.
        span: The file lines the batch covers: its records and any empty lines among them.
    """

    data: bytes
    count: int
    first_line: int
    line_numbers: list[int] | None
    nbytes: int
    whole: bool = False
    span: int = 0
    _lines: list[bytes] | None = field(default=None, repr=False)

    def line(self, index: int) -> int:
        """The file line number of record ``index``."""
        if self.line_numbers is not None:
            return self.line_numbers[index]
        return self.first_line + index

    def lines(self) -> list[bytes]:
        """The records, split once and cached."""
        if self._lines is None:
            self._lines = self.data.split(b"\n") if self.count else []
        return self._lines


@dataclass(frozen=True, slots=True)
class Oversized:
    """A record larger than the payload limit: a bad record, never read into memory whole."""

    line: int
    size: int
    nbytes: int


def text_batches(
    task: ShardTask, config: WorkerConfig, header: int = 0
) -> Iterator[TextBatch | Oversized]:
    """The batches (and oversized records) of a text shard, in file order.

    Args:
        task: The shard.
        config: The transform's configuration.
        header: Bytes of a header line to skip at the shard's start (only the first shard of a
            file has one).
    """
    with Path(task.path).open("rb") as raw:
        raw.seek(task.start)
        if task.kind == "gzip":
            reader = _Reader(gzip.GzipFile(fileobj=raw, mode="rb"), raw, None)
        else:
            reader = _Reader(raw, raw, None if task.end < 0 else task.end - task.start)
        if header:
            _skip(reader, header)
            task = dataclasses.replace(task, first_line=task.first_line + 1)
        elif task.start == 0:
            reader.skip_bom()
        if config.whole_file:
            yield from _whole(reader, task, config)
            return
        for item in _windows(reader, task, config):
            if isinstance(item, TextBatch) and config.single_record and item.count > 1:
                yield from _single_records(item)
            else:
                yield item


class _Reader:
    """Reads at most ``limit`` bytes of ``stream``, counting the raw bytes consumed."""

    def __init__(
        self, stream: IO[bytes] | gzip.GzipFile, raw: IO[bytes], limit: int | None
    ) -> None:
        self._stream = stream
        self._raw = raw
        self._left = limit
        self._position = raw.tell()
        self._pending = b""  # read ahead, not yet returned

    def skip_bom(self) -> None:
        """Drop a UTF-8 byte order mark at the stream's start (Excel's "CSV UTF-8" has one)."""
        start = self.read(len(BOM))
        if start != BOM:
            self._pending = start

    def read(self, size: int) -> bytes:
        if self._pending:
            data, self._pending = self._pending[:size], self._pending[size:]
            return data
        if self._left is not None:
            size = min(size, self._left)
            if size <= 0:
                return b""
        data = self._stream.read(size)
        if self._left is not None:
            self._left -= len(data)
        return data

    def consumed(self) -> int:
        """Raw (compressed, for gzip) bytes read since the last call."""
        position = self._raw.tell()
        used = position - self._position
        self._position = position
        return used


def _skip(reader: _Reader, count: int) -> None:
    while count > 0:
        data = reader.read(min(count, 1 << 20))
        if not data:
            return
        count -= len(data)


def _windows(
    reader: _Reader, task: ShardTask, config: WorkerConfig
) -> Iterator[TextBatch | Oversized]:
    window = config.batch_bytes
    limit = config.max_record_bytes
    line = task.first_line
    carry = b""
    while True:
        # Fill the window exactly, so a batch never exceeds the payload; read on in small steps
        # only while one record is longer than the window.
        room = window - len(carry)
        chunk = reader.read(room if room > 0 else _MIN_READ)
        buffer = carry + chunk if carry else chunk
        if not buffer:
            return
        if limit is not None:
            # Only the first record can outgrow the limit: any later one fits in the window,
            # which is no larger than the limit.
            first = buffer.find(b"\n")
            length = first if first >= 0 else len(buffer)
            if length > limit:
                if first >= 0:
                    yield Oversized(line, length, reader.consumed())
                    carry = buffer[first + 1 :]
                else:
                    carry = yield from _drain_oversized(reader, buffer, line, limit)
                line += 1
                continue
        if not chunk:  # the end: the last record has no newline
            yield _batch(buffer, line, reader.consumed())
            return
        cut = buffer.rfind(b"\n")
        if cut < 0:
            carry = buffer  # one record longer than a window but within the limit: read on
            continue
        batch = _batch(buffer[:cut], line, reader.consumed())
        line += batch.span
        carry = buffer[cut + 1 :]
        yield batch


def _drain_oversized(
    reader: _Reader, head: bytes, line: int, limit: int
) -> Generator[Oversized, None, bytes]:
    """Skip the record starting at ``head`` up to its newline; return what follows it."""
    size = len(head)
    while True:
        # Chunks no larger than the limit, so no whole record after the newline exceeds it.
        chunk = reader.read(min(1 << 20, limit))
        if not chunk:
            yield Oversized(line, size, reader.consumed())
            return b""
        newline = chunk.find(b"\n")
        if newline >= 0:
            yield Oversized(line, size + newline, reader.consumed())
            return chunk[newline + 1 :]
        size += len(chunk)


def _batch(data: bytes, first_line: int, nbytes: int, *, whole: bool = False) -> TextBatch:
    if b"\r" in data:
        data = (data + b"\n").replace(b"\r\n", b"\n")[:-1]
    # One vectorised pass finds every newline: the record count and any empty line at once
    # (a two-byte search for "\n\n" alone costs four times as much).
    newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == _NEWLINE)
    span = len(newlines) + 1
    blank = data == b"" or data[0] == _NEWLINE or data[-1] == _NEWLINE
    if not blank and not (len(newlines) > 1 and bool((np.diff(newlines) == 1).any())):
        return TextBatch(data, span, first_line, None, nbytes, whole, span)
    # Empty lines present (rare): drop them but remember every record's own line number.
    lines: list[bytes] = []
    numbers: list[int] = []
    for offset, line in enumerate(data.split(b"\n")):
        if line:
            lines.append(line)
            numbers.append(first_line + offset)
    batch = TextBatch(b"\n".join(lines), len(lines), first_line, numbers, nbytes, whole, span)
    batch._lines = lines
    return batch


def _single_records(batch: TextBatch) -> Iterator[TextBatch]:
    lines = batch.lines()
    for index, line in enumerate(lines):
        # The batch's bytes are credited with its last record, so progress sums stay exact.
        nbytes = batch.nbytes if index == len(lines) - 1 else 0
        yield TextBatch(line, 1, batch.line(index), None, nbytes, span=1)


def _whole(
    reader: _Reader, task: ShardTask, config: WorkerConfig
) -> Iterator[TextBatch | Oversized]:
    limit = config.max_record_bytes
    data = io.BytesIO()
    size = 0
    while True:
        chunk = reader.read(1 << 20)
        if not chunk:
            break
        size += len(chunk)
        if limit is not None and size > limit:
            while chunk:  # count the rest without keeping it
                chunk = reader.read(1 << 20)
                size += len(chunk)
            yield Oversized(task.first_line, size, reader.consumed())
            return
        data.write(chunk)
    content = data.getvalue().rstrip(b"\r\n")
    yield _batch(content, task.first_line, reader.consumed(), whole=True)
