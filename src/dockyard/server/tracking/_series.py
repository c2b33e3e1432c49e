"""A metric's history sized for a chart: the points of an x range, at most ``max_points``.

A chart ``N`` pixels wide cannot show more than ``N`` x positions, yet a history may hold a
million points. Sending them all costs megabytes of JSON and seconds of parsing for a line that
looks the same. So a window holding more than ``max_points`` points is cut into
``max_points / 2`` buckets of equal width on the x axis, and each bucket keeps its **lowest and
highest** point, in history order. The database does the bucketing (one pass over the window
per extreme), so sampling 100,000 points hands Python 1,000 rows rather than 100,000 (on SQLite,
~80 ms rather than ~250 ms).

Why min/max per bucket rather than LTTB (largest triangle three buckets): drawn as a line, a
bucket narrower than a pixel covers exactly the pixels between its lowest and highest value, so
min/max draws what every point would (bar the sub-pixel joins between buckets), and a one-step
spike, the loss blowing up once, is always kept. LTTB keeps one point per bucket, the one that
best preserves the area, which drops one of two spikes in the same bucket and draws a thinner
band over a noisy curve than the data has. Both keep real points (a hover shows a value that was
logged, at the step it was logged at), so neither invents data.

A NaN cannot be drawn; one is kept only in a bucket that holds nothing else, so a stretch of NaN
stays visible as a gap. ±Infinity compare as numbers and are kept like any extreme.

Zooming in asks again with the visible range as ``x_min``/``x_max``: the window holds fewer
points, so it comes back at full resolution once it holds at most ``max_points``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dockyard.api.tracking import LIMITS
from dockyard.errors import InvalidArgument

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from dockyard.server.tracking._run_repository import RunRepository

__all__ = ["MetricSeries", "SeriesAxis", "SeriesWindow", "read_series", "sample_indices"]

_Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]


class SeriesAxis(StrEnum):
    """What the buckets and the range are measured on."""

    STEP = "step"
    TIMESTAMP = "timestamp"


class SeriesWindow(BaseModel):
    """Which points of a history a chart asks for.

    Attributes:
        x: The axis of ``x_min``/``x_max`` and of the buckets: ``step`` or ``timestamp`` (ms).
        x_min: The smallest x to include (inclusive); None for the history's start.
        x_max: The largest x to include (inclusive); None for its end.
        max_points: At most this many points come back; a range holding more is sampled.
            Twice a chart's width in pixels draws it exactly.
    """

    model_config = ConfigDict(frozen=True)

    x: SeriesAxis = SeriesAxis.STEP
    x_min: _Int64 | None = None
    x_max: _Int64 | None = None
    max_points: Annotated[int, Field(ge=4, le=LIMITS.history_max_results)] = 1000

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.x_min is not None and self.x_max is not None and self.x_min > self.x_max:
            raise InvalidArgument(
                f"x_min ({self.x_min}) is above x_max ({self.x_max})", field="x_max"
            )
        return self


@dataclass(frozen=True, slots=True)
class MetricSeries:
    """A metric's points in one window, as columns, in history order (step, then time).

    Attributes:
        total: How many points the window holds.
        sampled: Whether fewer than ``total`` came back (see the module docstring).
    """

    run_id: str
    key: str
    total: int
    sampled: bool
    steps: list[int]
    timestamps: list[int]
    values: list[float]


def sample_indices(xs: Sequence[int], values: Sequence[float], buckets: int) -> list[int]:
    """Indices of the points to keep, ascending: in each of ``buckets`` equal buckets of x, the
    lowest and the highest value (a NaN only where a bucket holds nothing else).

    What the database computes in :meth:`RunRepository.metric_window_extremes`, for a window
    whose x span is too wide for its 64-bit arithmetic.
    """
    lo, hi = min(xs), max(xs)
    span = hi - lo + 1
    low: dict[int, int] = {}
    high: dict[int, int] = {}
    nan_only: dict[int, int] = {}
    isnan = math.isnan
    for i, x in enumerate(xs):
        v = values[i]
        b = (x - lo) * buckets // span
        if isnan(v):
            nan_only.setdefault(b, i)
            continue
        j = low.get(b)
        if j is None:
            low[b] = high[b] = i
        elif v < values[j]:
            low[b] = i
        elif v > values[high[b]]:
            high[b] = i
    keep = set(low.values())
    keep.update(high.values())
    keep.update(i for b, i in nan_only.items() if b not in low)
    return sorted(keep)


def read_series(
    runs: RunRepository, conn: Connection, run_id: str, key: str, window: SeriesWindow
) -> MetricSeries:
    """One run's points of ``key`` in ``window``, sampled to ``window.max_points``."""
    axis = window.x.value
    total, low, high = runs.metric_window_span(
        conn, run_id, key, axis=axis, lo=window.x_min, hi=window.x_max
    )
    if total <= window.max_points:
        columns = runs.metric_window(conn, run_id, key, axis=axis, lo=window.x_min, hi=window.x_max)
        return MetricSeries(run_id, key, len(columns[0]), False, *columns)
    buckets = window.max_points // 2
    span = high - low + 1
    # Bounded by what was counted: points logged meanwhile beyond it would add buckets.
    if span * buckets < 2**63:
        columns = runs.metric_window_extremes(
            conn, run_id, key, axis=axis, lo=low, hi=high, origin=low, buckets=buckets, span=span
        )
    else:
        steps, timestamps, values = runs.metric_window(
            conn, run_id, key, axis=axis, lo=low, hi=high
        )
        keep = sample_indices(steps if axis == "step" else timestamps, values, buckets)
        columns = (
            [steps[i] for i in keep],
            [timestamps[i] for i in keep],
            [values[i] for i in keep],
        )
    return MetricSeries(run_id, key, total, True, *columns)
