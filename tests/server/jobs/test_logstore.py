"""Jobs' logs in the artifact store: appends by offset, retried safely, read back as one stream."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from dockyard.artifacts.local import LocalArtifactStore
from dockyard.errors import Conflict, InvalidArgument
from dockyard.server.jobs._logstore import JobLogs

JOB = "0123456789abcdef"


@pytest.fixture
def store(tmp_path: Path) -> LocalArtifactStore:
    return LocalArtifactStore(tmp_path / "store")


def test_appends_read_back_as_one_stream(store: LocalArtifactStore) -> None:
    logs = JobLogs(store)
    assert logs.size(JOB) == 0 and logs.read(JOB, 0, 100) == b""
    assert logs.append(JOB, 0, b"first line\n") == 11
    assert logs.append(JOB, 11, b"second line\n") == 23
    assert logs.read(JOB, 0, 1000) == b"first line\nsecond line\n"
    assert logs.read(JOB, 6, 10) == b"line\nsecon"  # across two parts
    assert logs.read(JOB, 23, 10) == b""
    # Another server process, with nothing remembered, reads the same.
    assert JobLogs(store).read(JOB, 0, 1000) == b"first line\nsecond line\n"


def test_a_retried_append_stores_nothing_twice(store: LocalArtifactStore) -> None:
    logs = JobLogs(store)
    logs.append(JOB, 0, b"abc")
    # The answer to the next append was lost; the runner sends it again, with what came since.
    assert logs.append(JOB, 3, b"def") == 6
    assert logs.append(JOB, 3, b"defgh") == 8
    assert logs.append(JOB, 0, b"abc") == 8  # all of it held already: nothing stored
    assert JobLogs(store).read(JOB, 0, 100) == b"abcdefgh"


def test_an_append_past_the_end_is_refused_with_the_size(store: LocalArtifactStore) -> None:
    logs = JobLogs(store)
    logs.append(JOB, 0, b"abc")
    with pytest.raises(Conflict) as caught:
        logs.append(JOB, 10, b"x")
    assert caught.value.details == {"size": 3}
    with pytest.raises(InvalidArgument) as read_past:
        logs.read(JOB, 4, 10)
    assert read_past.value.field == "offset"


def test_parts_another_process_appended_are_found(store: LocalArtifactStore) -> None:
    here, there = JobLogs(store), JobLogs(store)
    here.append(JOB, 0, b"one ")
    assert here.read(JOB, 0, 100) == b"one "
    there.append(JOB, 4, b"two")
    assert here.read(JOB, 4, 100) == b"two"  # a reader at the end looks for new parts
    assert here.append(JOB, 7, b"!") == 8


def test_each_part_carries_when_it_was_stored(store: LocalArtifactStore) -> None:
    logs = JobLogs(store)
    before = time.time_ns() // 1_000_000
    logs.append(JOB, 0, b"one\n")
    logs.append(JOB, 4, b"two\nthr")
    after = time.time_ns() // 1_000_000
    marks = JobLogs(store).marks(JOB)  # read back from the parts' names
    assert [at for at, _ in marks] == [4, 11]
    assert all(before <= ms <= after for _, ms in marks) and marks[0][1] <= marks[1][1]


def test_parts_stored_before_parts_had_times_are_read(store: LocalArtifactStore) -> None:
    store.put_bytes(f"jobs/{JOB}/log/000000000000000", b"old\n")
    store.put_bytes(f"jobs/{JOB}/log/000000000000004-oops", b"ignored")  # not a part's name
    logs = JobLogs(store)
    assert logs.append(JOB, 4, b"new\n") == 8
    assert logs.read(JOB, 0, 100) == b"old\nnew\n"
    assert [at for at, _ in logs.marks(JOB)] == [8]  # the old part has no time
