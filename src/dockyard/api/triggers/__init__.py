"""Triggers as the API accepts and returns them: sources, targets, firings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.lazy import exports

if TYPE_CHECKING:
    from dockyard.api.triggers._entities import (
        EventSource,
        FireRequest,
        Firing,
        FiringList,
        FiringStatus,
        GitSource,
        HookResult,
        NewTrigger,
        ObjectSource,
        PipelineTarget,
        ScheduleSource,
        Target,
        Trigger,
        TriggerConfig,
        TriggerKind,
        TriggerList,
        TriggerUpdate,
    )

__all__ = [
    "EventSource",
    "FireRequest",
    "Firing",
    "FiringList",
    "FiringStatus",
    "GitSource",
    "HookResult",
    "NewTrigger",
    "ObjectSource",
    "PipelineTarget",
    "ScheduleSource",
    "Target",
    "Trigger",
    "TriggerConfig",
    "TriggerKind",
    "TriggerList",
    "TriggerUpdate",
]
__getattr__, __dir__ = exports(__name__, dict.fromkeys(__all__, "._entities"))
