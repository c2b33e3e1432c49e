"""Progress snapshots: counts, a recent rate, and an ETA from it."""

from __future__ import annotations

import pytest

from dockyard.runtime.batch._progress import Meter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_rate_and_eta_follow_recent_progress() -> None:
    clock = Clock()
    meter = Meter(bytes_total=1_000, files_total=2, shards_total=4, clock=clock)
    first = meter.snapshot()
    assert first.eta_s is None  # no rate yet
    assert first.fraction == 0.0
    clock.now += 2
    meter.add(records=50, nbytes=200)
    snap = meter.snapshot()
    assert snap.bytes_per_s == pytest.approx(100.0)
    assert snap.records_per_s == pytest.approx(25.0)
    assert snap.eta_s == pytest.approx(8.0)
    assert snap.elapsed_s == pytest.approx(2.0)
    for _ in range(20):  # the window forgets the slow start
        clock.now += 1
        meter.add(records=10, nbytes=10)
        snap = meter.snapshot()
    assert snap.bytes_per_s == pytest.approx(10.0)
    assert snap.eta_s == pytest.approx((1_000 - 400) / 10.0)


def test_resumed_work_counts_but_not_towards_the_rate() -> None:
    clock = Clock()
    meter = Meter(bytes_total=100, files_total=1, shards_total=2, clock=clock)
    meter.add(records=5, nbytes=50, bad_records=1)
    meter.restart_clock()
    clock.now += 1
    snap = meter.snapshot()
    assert (snap.records, snap.bad_records, snap.bytes_done) == (5, 1, 50)
    assert snap.bytes_per_s == 0.0
    assert snap.fraction == 0.5


def test_finished_work_has_a_zero_eta() -> None:
    clock = Clock()
    meter = Meter(bytes_total=10, files_total=1, shards_total=1, clock=clock)
    meter.add(records=1, nbytes=10)
    assert meter.snapshot().eta_s == 0.0


def test_progress_as_json() -> None:
    meter = Meter(bytes_total=4, files_total=1, shards_total=1, clock=Clock())
    meter.add(records=2, nbytes=1)
    body = meter.snapshot().to_dict()
    assert body["records"] == 2
    assert body["fraction"] == 0.25
    assert set(body) >= {"bytes_done", "bytes_total", "records_per_s", "eta_s"}
