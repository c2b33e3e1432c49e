"""A worker's log copied from another machine: the copy reads as the worker's own, a chunk
copied twice is added once, the copy stays bounded, and after a gap it starts again."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.api.serving import logs
from dockyard.api.serving.logs import LogChunk, WorkerLog, copy_chunk


def test_copied_chunks_read_back_with_their_offsets_and_times(tmp_path: Path) -> None:
    copy = tmp_path / "logs" / "i-1"
    assert copy_chunk(copy, LogChunk(0, b"one\ntwo\n", ((4, 1000), (8, 2000)))) == 8
    # The next chunk overlaps what was copied (another process copied it meanwhile).
    assert copy_chunk(copy, LogChunk(4, b"two\nthree\n", ((14, 3000),))) == 14
    assert copy_chunk(copy, LogChunk(4, b"two\nthree\n", ((14, 3000),))) == 14
    read = WorkerLog(copy).read(0, 100)
    assert read.data == b"one\ntwo\nthree\n"
    assert [read.time_of(end, 0) for end in (4, 8, 14)] == [1000, 2000, 3000]
    assert copy_chunk(copy, LogChunk(14, b"", ())) == 14


def test_bytes_no_mark_covers_are_dated_when_copied(tmp_path: Path) -> None:
    copy = tmp_path / "i-2"
    copy_chunk(copy, LogChunk(0, b"late line\n", ()))
    read = WorkerLog(copy).read(0, 100)
    assert read.time_of(10, 0) > 0


def test_a_gap_starts_a_new_segment_and_old_ones_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logs, "SEGMENT_BYTES", 10)
    copy = tmp_path / "i-3"
    copy_chunk(copy, LogChunk(0, b"0123456789", ()))
    copy_chunk(copy, LogChunk(10, b"abcdefghij", ()))
    copy_chunk(copy, LogChunk(20, b"klmnopqrst", ()))
    # Two segments are kept, as a worker keeps them.
    assert WorkerLog(copy).bounds() == (10, 30)
    assert WorkerLog(copy).read(0, 100).data == b"abcdefghijklmnopqrst"
    # The worker dropped bytes 30-99 before they were copied: the copy starts again at 100,
    # and a reader asking for less moves on to what is kept.
    copy_chunk(copy, LogChunk(100, b"uvwxyz", ()))
    assert WorkerLog(copy).bounds() == (100, 106)
    chunk = WorkerLog(copy).read(25, 100)
    assert (chunk.offset, chunk.data) == (100, b"uvwxyz")


def test_a_segment_deleted_while_read_never_shifts_the_bytes_after_it(tmp_path: Path) -> None:
    folder = tmp_path / "i-4"
    copy_chunk(folder, LogChunk(0, b"AAAAAAAAAA", ()))
    (folder / logs.segment_name(10)).write_bytes(b"BBBBBBBBBB")
    stale = WorkerLog(folder)._segments()  # what a reader saw before the worker rotated
    (folder / logs.segment_name(0)).unlink()

    class Racing(WorkerLog):
        looks = 0

        def _segments(self) -> list[tuple[int, int]]:
            Racing.looks += 1
            return stale if Racing.looks == 1 else super()._segments()

    chunk = Racing(folder).read(5, 8)
    assert (chunk.offset, chunk.data) == (10, b"BBBBBBBB")
