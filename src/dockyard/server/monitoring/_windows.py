"""Windows of a schedule: each completed hour (``hourly``), or from one cron slot to the next.

Times are ms since the epoch, UTC; capture folders are per UTC hour, so a cron window reads
every hour folder it overlaps.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from dockyard.api.monitoring import MonitoringScheduleSpec

__all__ = [
    "GRACE_S",
    "HOUR_MS",
    "check_time",
    "first_start",
    "floor_hour",
    "hour_path",
    "hours",
    "iso",
    "stamp",
    "window_end",
]

HOUR_MS = 3_600_000
#: How long after a window ends its capture is taken as complete, by default (workers flush
#: captured records every ``capture.flush_interval_s``, 1 s by default).
GRACE_S = 60.0


def floor_hour(ms: int) -> int:
    return ms - ms % HOUR_MS


def first_start(spec: MonitoringScheduleSpec, now: int) -> int:
    """Where a new (or re-enabled) schedule's windows start: the hour in progress, or now."""
    return floor_hour(now) if spec.is_hourly else now


def window_end(spec: MonitoringScheduleSpec, start: int) -> int:
    """The end of the window that starts at ``start``."""
    if spec.is_hourly:
        return start + HOUR_MS
    from dockyard.server.triggers import Cron

    cron = Cron.parse(spec.schedule, spec.timezone, field="schedule")
    return int(cron.next_after(datetime.fromtimestamp(start / 1000, UTC)).timestamp() * 1000)


def check_time(spec: MonitoringScheduleSpec, end: int, grace_ms: int = int(GRACE_S * 1000)) -> int:
    """When the loop checks the window ending at ``end``: once its capture settled
    (``grace_ms``) and, with model quality, once its ground truth came (its delay in hours)."""
    quality = spec.model_quality
    return end + grace_ms + (quality.ground_truth_delay_hours * HOUR_MS if quality else 0)


def hours(start: int, end: int) -> list[int]:
    """The UTC hours the window [start, end) overlaps."""
    return list(range(floor_hour(start), end, HOUR_MS)) if end > start else []


def hour_path(ms: int) -> str:
    """``YYYY/MM/DD/HH``: a capture folder's hour."""
    return time.strftime("%Y/%m/%d/%H", time.gmtime(ms / 1000))


def stamp(ms: int) -> str:
    """A window start in an execution's name: ``20261205T0600``."""
    return time.strftime("%Y%m%dT%H%M", time.gmtime(ms / 1000))


def iso(ms: int) -> str:
    """``2026-12-05T06:00:00Z``: a time in a message."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))
