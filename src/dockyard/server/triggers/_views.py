"""Triggers and their firings as the API answers them, from their rows."""

from __future__ import annotations

from typing import Any

import orjson

from dockyard.api.triggers import (
    EventSource,
    Firing,
    FiringStatus,
    GitSource,
    ObjectSource,
    ScheduleSource,
    Target,
    Trigger,
    TriggerKind,
)

__all__ = ["HOOK_PREFIX", "firing", "trigger"]

HOOK_PREFIX = "/api/v1/hooks/triggers/"


def trigger(row: Any) -> Trigger:
    """A trigger as the API answers it, from its row (or the row's mapping)."""
    m = row if isinstance(row, dict) else row._mapping
    config = orjson.loads(m["config"])
    kind = TriggerKind(m["kind"])
    sources: dict[str, Any] = {
        TriggerKind.SCHEDULE: ScheduleSource,
        TriggerKind.GIT: GitSource,
        TriggerKind.OBJECTS: ObjectSource,
        TriggerKind.EVENTS: EventSource,
    }
    state = orjson.loads(m["state"])
    return Trigger(
        trigger_id=m["trigger_id"],
        name=m["name"],
        kind=kind,
        **{kind.value: sources[kind].model_validate(config["source"])},
        target=Target.model_validate_json(m["target"]),
        cooldown_s=m["cooldown_s"],
        enabled=bool(m["enabled"]),
        description=config.get("description", ""),
        hook_path=HOOK_PREFIX + m["name"] if m["secret"] else None,
        # A disabled trigger has no next slot: enabling it computes one from then.
        next_time=state.get("next_time") if m["enabled"] else None,
        last_fired_time=m["last_fired_time"],
        created_by=m["created_by"],
        created_time=m["created_time"],
    )


def firing(row: Any, trigger: str) -> Firing:
    """One firing of ``trigger`` as the API answers it, from its row."""
    return Firing(
        firing_id=row.firing_id,
        trigger=trigger,
        cause_key=row.cause_key,
        cause=orjson.loads(row.cause),
        status=FiringStatus(row.status),
        job=row.job,
        error=row.error,
        created_time=row.created_time,
        updated_time=row.updated_time,
    )
