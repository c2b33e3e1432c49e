"""An event: one state change, as the log records it and the API returns it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["Event"]


class Event(BaseModel):
    """One entry of the event log.

    Attributes:
        id: Monotonic: a later commit has a larger id.
        time: Milliseconds since the epoch.
        type: ``<resource>.<change>``: ``run.created``, ``model_version.approval_set``,
            ``job.status_changed``, ``auth.denied`` ...
        resource_type: ``experiment``, ``run``, ``registered_model``, ``model_version``,
            ``job``, ``endpoint``, ``user``, ``token`` ...
        resource_id: The resource's id or name (a version: ``<model>/<version>``).
        actor: Who did it (``alice``, ``alice (job wine-xgb)``, ``anonymous``, ``system``).
        source: The client's address (``127.0.0.1``), ``local`` or ``server``.
        outcome: ``ok``, or ``denied`` for a refused attempt.
        body: A small JSON object with what changed.
        credential: Which of the actor's credentials was used (``token <id>``,
            ``access key <id>``, ``password``, ``browser session``), so the right one can be
            revoked; empty for work the server does itself.
    """

    model_config = ConfigDict(frozen=True)

    id: int
    time: int
    type: str
    resource_type: str
    resource_id: str
    actor: str
    source: str
    outcome: str
    body: dict[str, Any]
    credential: str = ""
