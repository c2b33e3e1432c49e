"""Progress of a running transform: counts, rate and ETA, reported at least once a second."""

from __future__ import annotations

import collections
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Meter", "Progress"]

_WINDOW_S = 10.0


@dataclass(frozen=True, slots=True)
class Progress:
    """A snapshot of a transform's progress.

    Counts include what earlier runs of a resumed transform finished; rates cover the last
    ten seconds of this run, so the ETA follows the current speed.

    Attributes:
        records: Records processed (scored or counted bad).
        bad_records: Of those, records that could not be scored.
        bytes_done: Input bytes processed.
        bytes_total: Input bytes in all.
        files_done: Input files whose output is published.
        files_total: Input files in all.
        shards_done: Shards finished.
        shards_total: Shards in all.
        elapsed_s: Seconds since this run started.
        records_per_s: Recent records per second.
        bytes_per_s: Recent input bytes per second.
        eta_s: Seconds left at the recent rate; ``None`` until there is a rate.
    """

    records: int
    bad_records: int
    bytes_done: int
    bytes_total: int
    files_done: int
    files_total: int
    shards_done: int
    shards_total: int
    elapsed_s: float
    records_per_s: float
    bytes_per_s: float
    eta_s: float | None

    @property
    def fraction(self) -> float:
        """Done, from 0 to 1, by input bytes."""
        return self.bytes_done / self.bytes_total if self.bytes_total else 1.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (for a job's status), with ``fraction``."""
        return {**dataclasses.asdict(self), "fraction": self.fraction}


class Meter:
    """Accumulates counts and turns them into :class:`Progress` snapshots."""

    def __init__(
        self,
        bytes_total: int,
        files_total: int,
        shards_total: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bytes_total = bytes_total
        self.files_total = files_total
        self.shards_total = shards_total
        self.records = 0
        self.bad_records = 0
        self.bytes_done = 0
        self.files_done = 0
        self.shards_done = 0
        self._clock = clock
        self._started = clock()
        self._samples: collections.deque[tuple[float, int, int]] = collections.deque()

    def add(self, records: int, nbytes: int, bad_records: int = 0) -> None:
        """Count work done."""
        self.records += records
        self.bytes_done += nbytes
        self.bad_records += bad_records

    def restart_clock(self) -> None:
        """Start rates from now: what earlier runs did is not this run's speed."""
        self._started = self._clock()
        self._samples.clear()

    def snapshot(self) -> Progress:
        """The current progress (also records a rate sample)."""
        now = self._clock()
        samples = self._samples
        samples.append((now, self.bytes_done, self.records))
        while len(samples) > 2 and now - samples[1][0] >= _WINDOW_S:
            samples.popleft()
        first_t, first_bytes, first_records = samples[0]
        span = now - first_t
        bytes_rate = (self.bytes_done - first_bytes) / span if span > 0 else 0.0
        records_rate = (self.records - first_records) / span if span > 0 else 0.0
        left = max(0, self.bytes_total - self.bytes_done)
        eta = left / bytes_rate if bytes_rate > 0 else (0.0 if left == 0 else None)
        return Progress(
            records=self.records,
            bad_records=self.bad_records,
            bytes_done=self.bytes_done,
            bytes_total=self.bytes_total,
            files_done=self.files_done,
            files_total=self.files_total,
            shards_done=self.shards_done,
            shards_total=self.shards_total,
            elapsed_s=now - self._started,
            records_per_s=records_rate,
            bytes_per_s=bytes_rate,
            eta_s=eta,
        )
