"""Triggers from Python: work started by a schedule, a git push, new objects or an event.

    dy.create_trigger("nightly", job=spec, cron="0 3 * * *", timezone="Europe/Paris")
    dy.create_trigger("on-push", job=spec, git={"repository": "acme/models",
                                                "branches": ["main"]})
    dy.trigger_history("nightly")

The cause reaches the job as ``{{trigger.<field>}}`` in its spec, ``dockyard.trigger.*`` tags
and ``DOCKYARD_TRIGGER_*`` environment variables (see :mod:`dockyard.server.triggers._work`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dockyard.api.triggers import (
    Firing,
    FiringList,
    NewTrigger,
    Trigger,
    TriggerConfig,
    TriggerList,
    TriggerUpdate,
)
from dockyard.client.http import Client

__all__ = [
    "create_trigger",
    "delete_trigger",
    "fire_trigger",
    "get_trigger",
    "list_triggers",
    "trigger_history",
    "update_trigger",
]

_BASE = "/api/v1/triggers"


def _client(client: Client | None) -> Client:
    if client is not None:
        return client
    from dockyard.client.sdk._context import context

    return context().client


def _spec(value: Any) -> dict[str, Any]:
    if hasattr(value, "model_dump"):
        dumped: dict[str, Any] = value.model_dump(mode="json", exclude_none=True)
        return dumped
    return dict(value)


def create_trigger(
    name: str,
    *,
    job: Any = None,
    transform: Any = None,
    cron: str | None = None,
    timezone: str = "UTC",
    rate: str | None = None,
    git: Mapping[str, Any] | None = None,
    objects: str | Mapping[str, Any] | None = None,
    events: Sequence[str] | None = None,
    filter: Mapping[str, Any] | None = None,
    cooldown_s: float = 0,
    secret: str | None = None,
    description: str = "",
    client: Client | None = None,
) -> NewTrigger:
    """Create a trigger that starts ``job`` (a training spec: a dict or ``TrainingJobSpec``)
    or ``transform`` (a transform spec) from one source:

    - ``cron`` (in ``timezone``) or ``rate`` (``"rate(1 hour)"``);
    - ``git``: ``{"repository": ..., "branches": [...], "paths": [...], "provider": ...}``;
      point the host's webhook at the answer's ``hook_path`` with its ``secret``;
    - ``objects``: a prefix URI (or ``{"prefix": ..., "include_existing": ..., "poll": ...}``);
    - ``events``: event-type patterns, with an optional ``filter`` policy.

    The answer is the only one that shows the secret of a git or object trigger.
    """
    if (job is None) == (transform is None):
        from dockyard.errors import InvalidArgument

        raise InvalidArgument("give exactly one of job and transform", field="target")
    body: dict[str, Any] = {
        "name": name,
        "target": {
            "kind": "training" if job is not None else "transform",
            "spec": _spec(job if job is not None else transform),
        },
        "cooldown_s": cooldown_s,
        "description": description,
    }
    if cron is not None or rate is not None:
        body["schedule"] = {"cron": cron, "timezone": timezone, "rate": rate}
    if git is not None:
        body["git"] = dict(git)
    if objects is not None:
        body["objects"] = {"prefix": objects} if isinstance(objects, str) else dict(objects)
    if events is not None:
        body["events"] = {"events": list(events), "filter": dict(filter or {})}
    if secret is not None:
        body["secret"] = secret
    from pydantic import ValidationError

    from dockyard.errors import invalid_from_validation

    try:  # the server's own model: its errors name the field, before anything is sent
        config = TriggerConfig.model_validate(body)
    except ValidationError as exc:
        raise invalid_from_validation(exc.errors()) from None
    answer = _client(client).request("POST", _BASE, json=config.model_dump(mode="json"))
    return NewTrigger.model_validate(answer)


def list_triggers(*, client: Client | None = None) -> list[Trigger]:
    """Your triggers (every one, for an admin)."""
    return TriggerList.model_validate(_client(client).request("GET", _BASE)).triggers


def get_trigger(name: str, *, client: Client | None = None) -> Trigger:
    return Trigger.model_validate(_client(client).request("GET", f"{_BASE}/{name}"))


def update_trigger(
    name: str,
    *,
    enabled: bool | None = None,
    cooldown_s: float | None = None,
    job: Any = None,
    transform: Any = None,
    schedule: Mapping[str, Any] | None = None,
    git: Mapping[str, Any] | None = None,
    objects: str | Mapping[str, Any] | None = None,
    events: Mapping[str, Any] | None = None,
    description: str | None = None,
    client: Client | None = None,
) -> Trigger:
    """Change a trigger; what is left out stays. ``enabled=False`` stops it firing;
    ``enabled=True`` starts it again from now (what came meanwhile does not fire). A new
    source replaces the old one whole and must be of the same kind: ``schedule``
    (``{"cron": ..., "timezone": ...}`` or ``{"rate": ...}``), ``git``, ``objects`` (a prefix
    or its mapping) or ``events`` (``{"events": [...], "filter": {...}}``); ``job`` or
    ``transform`` replaces the work."""
    body: dict[str, Any] = {}
    if job is not None and transform is not None:
        from dockyard.errors import InvalidArgument

        raise InvalidArgument("give at most one of job and transform", field="target")
    if job is not None or transform is not None:
        body["target"] = {
            "kind": "training" if job is not None else "transform",
            "spec": _spec(job if job is not None else transform),
        }
    for key, value in (
        ("enabled", enabled),
        ("cooldown_s", cooldown_s),
        ("description", description),
    ):
        if value is not None:
            body[key] = value
    if schedule is not None:
        body["schedule"] = dict(schedule)
    if git is not None:
        body["git"] = dict(git)
    if objects is not None:
        body["objects"] = {"prefix": objects} if isinstance(objects, str) else dict(objects)
    if events is not None:
        body["events"] = dict(events)
    from pydantic import ValidationError

    from dockyard.errors import invalid_from_validation

    try:
        change = TriggerUpdate.model_validate(body)
    except ValidationError as exc:
        raise invalid_from_validation(exc.errors()) from None
    sent = change.model_dump(mode="json", exclude_none=True)
    answer = _client(client).request("PATCH", f"{_BASE}/{name}", json=sent)
    return Trigger.model_validate(answer)


def delete_trigger(name: str, *, client: Client | None = None) -> None:
    _client(client).request("DELETE", f"{_BASE}/{name}")


def fire_trigger(
    name: str,
    *,
    key: str | None = None,
    cause: Mapping[str, str] | None = None,
    client: Client | None = None,
) -> Firing:
    """Fire now; the same ``key`` fires once."""
    body = {"key": key, "cause": dict(cause or {})}
    return Firing.model_validate(_client(client).request("POST", f"{_BASE}/{name}/fire", json=body))


def trigger_history(
    name: str, *, limit: int = 100, before: int | None = None, client: Client | None = None
) -> list[Firing]:
    """Its firings, newest first."""
    params: dict[str, Any] = {"limit": limit}
    if before is not None:
        params["before"] = before
    answer = _client(client).request("GET", f"{_BASE}/{name}/firings", params=params)
    return FiringList.model_validate(answer).firings
