"""Schedules: five-field cron expressions in a time zone, and fixed rates.

The cron grammar (Vixie cron's, which EventBridge and Kubernetes CronJobs also take)::

    minute  hour  day-of-month  month  day-of-week
    0-59    0-23  1-31          1-12   0-7 (0 and 7: Sunday)
    jan-dec and sun-sat as names; ``*``, lists ``1,15``, ranges ``1-5``, steps ``*/15``, ``8-18/2``
    @yearly @annually @monthly @weekly @daily @midnight @hourly

When both day fields are restricted, a day matching either one matches (as cron does). Times are
wall-clock times in the schedule's zone: a time a daylight-saving change skips does not occur
that day, and a time it repeats fires once, at its first occurrence.

A rate (``rate(5 minutes)``, or seconds) fires every period from the trigger's creation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dockyard.api.triggers import ScheduleSource
from dockyard.errors import InvalidArgument

__all__ = ["Cron", "next_slot", "parse_rate", "slot_iso", "zone"]

_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)
_RATE = re.compile(r"^rate\(\s*(\d{1,30})\s+(second|minute|hour|day)s?\s*\)$", re.IGNORECASE)
_UNIT_S = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
#: Shortest rate: a trigger is not a busy loop.
MIN_RATE_S = 60
#: Longest rate: ten years (a longer one would never fire).
MAX_RATE_S = 3650 * 86400
# How far ahead a cron expression is searched for its next time (Feb 30 never comes).
_HORIZON_DAYS = 366 * 5


def zone(name: str, field: str = "timezone") -> ZoneInfo:
    """The IANA time zone ``name`` (``Europe/Paris``, ``UTC``)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidArgument(
            f"unknown time zone {name[:100]!r}: use an IANA name such as Europe/Paris or UTC",
            field=field,
        ) from None


def parse_rate(text: str, field: str = "schedule") -> int:
    """Seconds of ``rate(5 minutes)``; at least :data:`MIN_RATE_S`."""
    match = _RATE.match(text.strip())
    if match is None:
        raise InvalidArgument(
            f"{text[:100]!r} is not a rate: write rate(<n> minutes|hours|days)", field=field
        )
    seconds = int(match.group(1)) * _UNIT_S[match.group(2).lower()]
    if seconds < MIN_RATE_S:
        raise InvalidArgument(f"a rate is at least {MIN_RATE_S} seconds", field=field)
    if seconds > MAX_RATE_S:
        raise InvalidArgument(
            f"a rate is at most {MAX_RATE_S // 86400} days (ten years)", field=field
        )
    return seconds


def _a(what: str) -> str:
    """``what`` with its indefinite article: "an hour", "a minute"."""
    return f"an {what}" if what[0] in "aeiouh" else f"a {what}"


def _value(text: str, names: tuple[str, ...], low: int, what: str, field: str) -> int:
    if text.isascii() and text.isdigit():
        return int(text)
    lowered = text.lower()
    if lowered in names:
        return names.index(lowered) + low
    raise InvalidArgument(f"{text!r} is not {_a(what)} value", field=field)


def _parse_field(
    text: str, what: str, low: int, high: int, names: tuple[str, ...], field: str
) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        body, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not (step_text.isascii() and step_text.isdigit()) or int(step_text) < 1:
                raise InvalidArgument(
                    f"{part!r}: the step of {_a(what)} is a number from 1", field=field
                )
            step = int(step_text)
        if body == "*":
            start, end = low, high
        elif "-" in body:
            a, _, b = body.partition("-")
            start, end = (_value(a, names, low, what, field), _value(b, names, low, what, field))
        else:
            start = _value(body, names, low, what, field)
            end = high if slash else start
        if not (low <= start <= high and low <= end <= high) or start > end:
            raise InvalidArgument(f"{part!r}: {_a(what)} is {low} to {high}", field=field)
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class Cron:
    """A parsed cron expression in a time zone; :meth:`next_after` is its only question."""

    expression: str
    tz: ZoneInfo
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool
    any_weekday: bool

    @classmethod
    def parse(cls, expression: str, timezone: str = "UTC", field: str = "cron") -> Cron:
        text = _MACROS.get(expression.strip().lower(), expression.strip())
        parts = text.split()
        if len(parts) != 5:
            raise InvalidArgument(
                f"{expression[:100]!r}: a cron expression has 5 fields (minute hour "
                "day-of-month month day-of-week) or is a macro such as @daily",
                field=field,
            )
        sets = [
            _parse_field(part, what, low, high, names, field)
            for part, (what, low, high, names) in zip(parts, _FIELDS, strict=True)
        ]
        weekdays = frozenset(d % 7 for d in sets[4])
        return cls(
            expression=expression.strip(),
            tz=zone(timezone),
            minutes=sets[0],
            hours=sets[1],
            days=sets[2],
            months=sets[3],
            weekdays=weekdays,
            any_day=parts[2] == "*",
            any_weekday=parts[4] == "*",
        )

    def _day_ok(self, day: datetime) -> bool:
        in_month = day.day in self.days
        in_week = (day.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return in_month and in_week
        return in_month or in_week

    def next_after(self, after: datetime) -> datetime:
        """The first time of the schedule strictly after ``after`` (aware), in UTC."""
        local = after.astimezone(self.tz).replace(tzinfo=None, second=0, microsecond=0)
        t = local + timedelta(minutes=1)
        limit = local + timedelta(days=_HORIZON_DAYS)
        while t < limit:
            if t.month not in self.months:
                t = (t.replace(day=1) + timedelta(days=32)).replace(day=1, hour=0, minute=0)
                continue
            if not self._day_ok(t):
                t = (t + timedelta(days=1)).replace(hour=0, minute=0)
                continue
            if t.hour not in self.hours:
                t = (t + timedelta(hours=1)).replace(minute=0)
                continue
            if t.minute not in self.minutes:
                t += timedelta(minutes=1)
                continue
            aware = t.replace(tzinfo=self.tz)
            instant = aware.astimezone(UTC)
            exists = instant.astimezone(self.tz).replace(tzinfo=None) == t
            if exists and instant > after:
                return instant
            t += timedelta(minutes=1)
        raise InvalidArgument(
            f"{self.expression!r} never occurs (within {_HORIZON_DAYS // 366} years)",
            field="cron",
        )


def next_slot(source: ScheduleSource, after_ms: int, anchor_ms: int) -> int:
    """The first slot of ``source`` strictly after ``after_ms``."""
    if (source.cron is None) == (source.rate is None):
        raise InvalidArgument("a schedule has exactly one of cron and rate", field="schedule")
    if source.rate is not None:
        period = parse_rate(source.rate, "schedule.rate") * 1000
        return anchor_ms + ((max(after_ms, anchor_ms) - anchor_ms) // period + 1) * period
    cron = Cron.parse(source.cron or "", source.timezone, field="schedule.cron")
    after = datetime.fromtimestamp(after_ms / 1000, UTC)
    return int(cron.next_after(after).timestamp() * 1000)


def slot_iso(ms: int, timezone: str) -> str:
    """Slot ``ms`` as an ISO time in ``timezone`` (what a schedule's firing names)."""
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(zone(timezone)).isoformat()
