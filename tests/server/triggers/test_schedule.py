"""Cron and rate schedules; a slot fires once with two servers on one database."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.server.triggers.conftest import ROOT, Clock, make_services, training

from dockyard.api.triggers import FiringStatus, TriggerConfig
from dockyard.errors import InvalidArgument
from dockyard.server.triggers._loops import ScheduleLoop
from dockyard.server.triggers._schedule import Cron, parse_rate


def _next(expression: str, after: datetime, tz: str = "UTC") -> datetime:
    return Cron.parse(expression, tz).next_after(after).astimezone(Cron.parse("* * * * *", tz).tz)


def test_cron_in_a_time_zone_skips_a_time_daylight_saving_skips() -> None:
    after = datetime(2026, 3, 28, 12, tzinfo=UTC)
    first = _next("30 2 * * *", after, "Europe/Paris")
    assert first.isoformat() == "2026-03-30T02:30:00+02:00"  # 29 March 02:30 does not exist


def test_cron_fires_a_repeated_time_once() -> None:
    cron = Cron.parse("30 1 * * *", "America/New_York")
    first = cron.next_after(datetime(2026, 10, 31, 12, tzinfo=UTC))
    second = cron.next_after(first)
    assert first.isoformat() == "2026-11-01T05:30:00+00:00"
    assert second.isoformat() == "2026-11-02T06:30:00+00:00"


def test_cron_day_fields_match_either_when_both_are_given() -> None:
    after = datetime(2026, 12, 1, tzinfo=UTC)  # a Tuesday
    assert _next("0 0 15 * fri", after).day == 4  # Friday the 4th comes before the 15th
    assert _next("0 9-17/4 * * mon-fri", datetime(2026, 12, 5, tzinfo=UTC)).isoformat() == (
        "2026-12-07T09:00:00+00:00"
    )
    assert _next("@monthly", after).isoformat() == "2027-01-01T00:00:00+00:00"
    assert _next("0 0 29 feb *", after).year == 2028


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("* * * *", "5 fields"),
        ("61 * * * *", "0 to 59"),
        ("0 24 * * *", "^'24': an hour is 0 to 23$"),
        ("0 */0 * * *", "^'\\*/0': the step of an hour is a number from 1$"),
        ("*/0 * * * *", "step"),
        ("0 0 * foo *", "month"),
        ("0 0 31 2 *", "never occurs"),
    ],
)
def test_bad_cron_is_refused_naming_the_problem(expression: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message) as caught:
        Cron.parse(expression).next_after(datetime(2026, 1, 1, tzinfo=UTC))
    assert caught.value.field == "cron"


def test_bad_zone_and_rate_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="time zone") as caught:
        Cron.parse("@daily", "Mars/Olympus")
    assert caught.value.field == "timezone"
    assert parse_rate("rate(2 hours)") == 7200
    with pytest.raises(InvalidArgument, match="at least 60"):
        parse_rate("rate(5 seconds)")
    # A long one is named as too long, not "not a rate".
    with pytest.raises(InvalidArgument, match=r"^a rate is at most 3650 days \(ten years\)$"):
        parse_rate("rate(99999999999 days)")
    assert parse_rate("rate(3650 days)") == 3650 * 86400


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest) -> str | None:
    if request.param == "sqlite":
        return None
    return str(request.getfixturevalue("postgres_url"))


def test_a_slot_fires_once_with_two_servers_and_after_a_restart(
    tmp_path: Path, data: Path, database: str | None
) -> None:
    start = int(datetime(2026, 12, 4, 12, tzinfo=UTC).timestamp() * 1000)
    clock = Clock(start)
    one = make_services(tmp_path / "home", data, database_url=database)
    # Another server on the same database, with a home of its own.
    url = database or one.settings.resolved_database_url
    two = make_services(tmp_path / "home2", data, database_url=url)
    config = {
        "name": "hourly",
        "schedule": {"cron": "0 * * * *", "timezone": "Europe/Paris"},
        "target": training(data, tags={"slot": "{{trigger.slot}}"}),
    }
    one.triggers.create(ROOT, TriggerConfig.model_validate(config), now=start)
    loops = [
        ScheduleLoop(s.triggers, s.db, tmp_path / f"l{i}", clock=clock)
        for i, s in enumerate((one, two))
    ]
    for minute in (0, 1, 30, 59, 60, 61, 90, 120, 121):
        clock.now = start + minute * 60_000 + 1
        for loop in loops:  # both tick: the leader lock is not what keeps it once
            loop.tick()
    firings = one.triggers.history(ROOT, "hourly")
    assert [f.cause["slot"] for f in reversed(firings)] == [
        "2026-12-04T14:00:00+01:00",  # created at 13:00 sharp: the next slot is 14:00
        "2026-12-04T15:00:00+01:00",
    ]
    assert {f.status for f in firings} == {FiringStatus.FIRED}
    jobs = [one.jobs.get(ROOT, f.job or "") for f in firings]
    assert [j.spec["tags"]["slot"] for j in reversed(jobs)] == [
        f.cause["slot"] for f in reversed(firings)
    ]
    assert jobs[0].spec["environment"]["DOCKYARD_TRIGGER"] == "hourly"
    # A restart: a third server, the same clock, nothing fires again.
    three = make_services(tmp_path / "home", data, database_url=database)
    ScheduleLoop(three.triggers, three.db, tmp_path / "l3", clock=clock).tick()
    assert len(three.triggers.history(ROOT, "hourly")) == 2
    for s in (one, two, three):
        s.close()


def test_servers_racing_for_one_cause_fire_it_once(
    tmp_path: Path, data: Path, database: str | None
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    servers = [make_services(tmp_path / "home", data, database_url=database)]
    url = database or servers[0].settings.resolved_database_url
    servers += [make_services(tmp_path / f"home{i}", data, database_url=url) for i in (2, 3, 4)]
    config = {"name": "race", "schedule": {"rate": "rate(1 minute)"}, "target": training(data)}
    servers[0].triggers.create(ROOT, TriggerConfig.model_validate(config), now=0)
    rows = [s.triggers.enabled(TriggerConfig.model_validate(config).kind)[0] for s in servers]
    with ThreadPoolExecutor(len(servers)) as pool:
        fired = list(
            pool.map(
                lambda p: p[0].triggers.fire_schedule(p[1], 60_001), zip(servers, rows, strict=True)
            )
        )
    assert len({f.firing_id for f in fired if f is not None}) == 1
    (only,) = servers[0].triggers.history(ROOT, "race")
    assert only.status is FiringStatus.FIRED
    for s in servers:
        s.close()


def test_a_missed_stretch_fires_its_latest_slot_only(services: object, data: Path) -> None:
    from dockyard.server._services import Services

    assert isinstance(services, Services)
    start = 1_800_000_000_000
    config = {"name": "every", "schedule": {"rate": "rate(1 minute)"}, "target": training(data)}
    services.triggers.create(ROOT, TriggerConfig.model_validate(config), now=start)
    row = services.triggers.enabled(TriggerConfig.model_validate(config).kind)[0]
    fired = services.triggers.fire_schedule(row, start + 10 * 60_000 + 5)
    assert fired is not None and fired.cause["slot_ms"] == start + 10 * 60_000
    assert services.triggers.get(ROOT, "every").next_time == start + 11 * 60_000


def test_cooldown_skips_a_slot(services: object, data: Path) -> None:
    from dockyard.server._services import Services

    assert isinstance(services, Services)
    start = 1_800_000_000_000
    config = {
        "name": "busy",
        "schedule": {"rate": "rate(1 minute)"},
        "cooldown_s": 150,
        "target": training(data),
    }
    services.triggers.create(ROOT, TriggerConfig.model_validate(config), now=start)
    for minute in (1, 2, 3, 4):
        (row,) = services.triggers.enabled(TriggerConfig.model_validate(config).kind)
        services.triggers.fire_schedule(row, start + minute * 60_000)
    statuses = [f.status for f in reversed(services.triggers.history(ROOT, "busy"))]
    # Minute 1 fires; 2 and 3 come 60 and 120 s after it, inside 150 s; 4 is past it.
    assert statuses == [
        FiringStatus.FIRED,
        FiringStatus.SKIPPED,
        FiringStatus.SKIPPED,
        FiringStatus.FIRED,
    ]


def test_the_loops_intervals_are_settings(
    tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dockyard.server.triggers._loops import ObjectWatcher
    from dockyard.settings import Settings

    monkeypatch.setenv("DOCKYARD_TRIGGER_SCHEDULE_INTERVAL_S", "2.5")
    monkeypatch.setenv("DOCKYARD_TRIGGER_OBJECTS_INTERVAL_S", "120")
    settings = Settings(home=tmp_path / "home")
    assert (settings.trigger_schedule_interval_s, settings.trigger_objects_interval_s) == (2.5, 120)
    services = make_services(tmp_path / "home", data)
    schedules = ScheduleLoop(services.triggers, services.db, tmp_path, interval_s=2.5)
    objects = ObjectWatcher(services.triggers, services.db, tmp_path, interval_s=120)
    assert (schedules.tick(), objects.tick()) == (2.5, 120)  # nothing due: the longest wait
    clock = Clock(int(datetime(2026, 12, 4, 12, tzinfo=UTC).timestamp() * 1000))
    config = {"name": "soon", "schedule": {"cron": "1 12 * * *"}, "target": training(data)}
    services.triggers.create(ROOT, TriggerConfig.model_validate(config), now=clock.now)
    clock.now += 59_000
    soon = ScheduleLoop(services.triggers, services.db, tmp_path, interval_s=2.5, clock=clock)
    assert soon.tick() == 1.0  # the slot comes before the interval ends
    monkeypatch.setenv("DOCKYARD_TRIGGER_OBJECTS_INTERVAL_S", "0")
    with pytest.raises(InvalidArgument, match="DOCKYARD_TRIGGER_OBJECTS_INTERVAL_S"):
        Settings(home=tmp_path / "home")
    services.close()


@pytest.mark.parametrize("expression", ["² * * * *", "*/² * * * *", "0 ³ * * *"])
def test_a_digit_that_is_no_number_is_refused_naming_the_field(expression: str) -> None:
    # str.isdigit() takes "²", which int() refuses: the trigger was a 500.
    with pytest.raises(InvalidArgument) as refused:
        Cron.parse(expression)
    assert refused.value.field == "cron"
