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
    FireRequest,
    Firing,
    FiringList,
    NewTrigger,
    Trigger,
    TriggerConfig,
    TriggerUpdate,
)
from dockyard.client.http import Client, from_answer, routes
from dockyard.client.sdk._requests import build_request
from dockyard.errors import InvalidArgument
from dockyard.limits import LIMITS

__all__ = [
    "create_trigger",
    "delete_trigger",
    "fire_trigger",
    "get_trigger",
    "list_triggers",
    "trigger_history",
    "update_trigger",
]


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


def _target(
    job: Any, transform: Any, pipeline: str | None, input: Any, *, required: bool
) -> dict[str, Any] | None:
    """The work a trigger starts: a training job, a transform, or a pipeline's execution."""
    given = [
        kind
        for kind, value in (("job", job), ("transform", transform), ("pipeline", pipeline))
        if value is not None
    ]
    if len(given) > 1 or (required and not given):
        from dockyard.errors import InvalidArgument

        which = "exactly" if required else "at most"
        raise InvalidArgument(f"give {which} one of job, transform and pipeline", field="target")
    if pipeline is not None:
        return {"kind": "pipeline", "spec": {"pipeline": pipeline, "input": input or {}}}
    if job is not None:
        return {"kind": "training", "spec": _spec(job)}
    if transform is not None:
        return {"kind": "transform", "spec": _spec(transform)}
    return None


def create_trigger(
    name: str,
    *,
    job: Any = None,
    transform: Any = None,
    pipeline: str | None = None,
    input: Any = None,
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
    """Create a trigger that starts ``job`` (a training spec: a dict or ``TrainingJobSpec``),
    ``transform`` (a transform spec) or an execution of ``pipeline`` with ``input`` (the
    cause added under ``"trigger"``) from one source:

    - ``cron`` (in ``timezone``) or ``rate`` (``"rate(1 hour)"``);
    - ``git``: ``{"repository": ..., "branches": [...], "paths": [...], "provider": ...}``;
      point the host's webhook at the answer's ``hook_path`` with its ``secret``;
    - ``objects``: a prefix URI (or ``{"prefix": ..., "include_existing": ..., "poll": ...}``);
    - ``events``: event-type patterns, with an optional ``filter`` policy.

    The answer is the only one that shows the secret of a git or object trigger.
    """
    body: dict[str, Any] = {
        "name": name,
        "target": _target(job, transform, pipeline, input, required=True),
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
    elif filter:
        raise InvalidArgument(
            "filter applies to an events trigger: give events too (a schedule, git or objects "
            "trigger has no event to filter)",
            field="filter",
        )
    if secret is not None:
        body["secret"] = secret
    # The server's own model: its errors name the field, before anything is sent.
    config = build_request(TriggerConfig, body)
    answer = _client(client).call(routes.CREATE_TRIGGER(), config)
    return from_answer(NewTrigger, answer)


def list_triggers(*, client: Client | None = None) -> list[Trigger]:
    """Your triggers (every one, for an admin)."""
    found = _client(client).paginate(routes.LIST_TRIGGERS(), "triggers")
    return [from_answer(Trigger, t) for t in found]


def get_trigger(name: str, *, client: Client | None = None) -> Trigger:
    return from_answer(Trigger, _client(client).call(routes.GET_TRIGGER(name=name)))


def update_trigger(
    name: str,
    *,
    enabled: bool | None = None,
    cooldown_s: float | None = None,
    job: Any = None,
    transform: Any = None,
    pipeline: str | None = None,
    input: Any = None,
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
    or its mapping) or ``events`` (``{"events": [...], "filter": {...}}``); ``job``,
    ``transform`` or ``pipeline`` (with ``input``) replaces the work."""
    body: dict[str, Any] = {}
    target = _target(job, transform, pipeline, input, required=False)
    if target is not None:
        body["target"] = target
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
    # The server's own model: a bad value fails here, naming the field as it would; only
    # what is given is sent, so the rest stays.
    change = build_request(TriggerUpdate, body)
    answer = _client(client).call(routes.UPDATE_TRIGGER(name=name), change)
    return from_answer(Trigger, answer)


def delete_trigger(name: str, *, client: Client | None = None) -> None:
    _client(client).call(routes.DELETE_TRIGGER(name=name))


def fire_trigger(
    name: str,
    *,
    key: str | None = None,
    cause: Mapping[str, str] | None = None,
    client: Client | None = None,
) -> Firing:
    """Fire now; the same ``key`` fires once."""
    body = build_request(FireRequest, key=key, cause=dict(cause or {}))
    # With a key the server fires once however often it is asked: safe to send again.
    answer = _client(client).call(routes.FIRE_TRIGGER(name=name), body, retry=key is not None)
    return from_answer(Firing, answer)


def trigger_history(
    name: str,
    *,
    limit: int = LIMITS.page_default_results,
    before: int | None = None,
    client: Client | None = None,
) -> list[Firing]:
    """Its firings, newest first (``limit``: up to ``LIMITS.log_page_max_results``)."""
    params = {"limit": limit, "before": before}
    answer = _client(client).call(routes.LIST_FIRINGS(name=name), params=params)
    return from_answer(FiringList, answer).firings
