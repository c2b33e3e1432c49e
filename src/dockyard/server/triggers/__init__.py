"""Triggers: work (a training job, a transform) started by a schedule, a git push, new
objects under a prefix, or an event, with what caused it as the work's input.

Layout::

    _schedule.py    cron expressions in a time zone, and rates
    _git.py         GitHub / GitLab push webhooks: verify, read, filter by branch and path
    _objects.py     new objects: listing a prefix from a cursor; S3 event notifications
    _work.py        the cause passed on: {{trigger.<field>}}, tags, environment, job name
    _repository.py  SQL for triggers and firings
    _service.py     the rules; fire_cause: one cause fires once (a unique key per cause)
    _loops.py       the leader-locked loops: schedules, prefixes, the event log

Each firing is a row of ``trigger_firings`` unique per (trigger, cause key): a cron slot
(``schedule:<ms>``), a push (``push:<repo>:<branch>:<sha>``), the last new object
(``objects:<key>``), an event (``event:<id>``), or a key given by hand. Inserting it is the
claim, in the transaction that also takes the cooldown and moves the source's cursor, so a
cause fires once across restarts and across servers sharing the database. Each firing appends
``trigger.fired`` or ``trigger.failed``; a refused hook appends ``trigger.hook_denied`` (a
few per second per source address at most); a
change (enabled, cooldown, source, work) ``trigger.updated``; an SNS subscription
confirmation posted to an object hook ``trigger.sns_subscription``, for the owner to confirm.

A disabled trigger never fires: the claim re-reads the trigger and stops there. Enabling it
starts its source from now (a new slot, event cursor and listing cursor).

The API's requests and resources are in :mod:`dockyard.api.triggers`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.lazy import exports

if TYPE_CHECKING:
    from dockyard.server.triggers._loops import EventTriggers, ObjectWatcher, ScheduleLoop
    from dockyard.server.triggers._schedule import Cron
    from dockyard.server.triggers._service import TriggerService

__all__ = ["Cron", "EventTriggers", "ObjectWatcher", "ScheduleLoop", "TriggerService"]
__getattr__, __dir__ = exports(
    __name__,
    {
        "Cron": "._schedule",
        "EventTriggers": "._loops",
        "ObjectWatcher": "._loops",
        "ScheduleLoop": "._loops",
        "TriggerService": "._service",
    },
)
