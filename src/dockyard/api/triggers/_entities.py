"""Requests and resources of the triggers API (the SDK and CLI send the same models)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from dockyard.json_depth import storable

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
    "ScheduleSource",
    "Target",
    "Trigger",
    "TriggerConfig",
    "TriggerKind",
    "TriggerList",
    "TriggerUpdate",
]

#: A JSON object the server keeps and writes back: refused when orjson could not write it.
StoredObject = Annotated[dict[str, Any], AfterValidator(storable)]

#: A trigger's name: it prefixes the names of the jobs it starts, so it follows their rule.
NAME_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,39}$"
#: Longest cooldown: 30 days.
MAX_COOLDOWN_S = 30 * 86400


class TriggerKind(StrEnum):
    SCHEDULE = "schedule"
    GIT = "git"
    OBJECTS = "objects"
    EVENTS = "events"


class FiringStatus(StrEnum):
    """``pending``: the cause is claimed and its work being submitted; ``fired``: the work
    was submitted; ``failed``: submitting it failed (``error`` says why); ``skipped``: the
    cooldown was running."""

    PENDING = "pending"
    FIRED = "fired"
    FAILED = "failed"
    SKIPPED = "skipped"


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ScheduleSource(_Config):
    """Exactly one of ``cron`` (five fields or a macro such as ``@daily``, in ``timezone``)
    and ``rate`` (``rate(15 minutes)``: every period from the trigger's creation)."""

    cron: str | None = Field(default=None, max_length=200)
    timezone: str = Field(default="UTC", max_length=64)
    rate: str | None = Field(default=None, max_length=64)


class GitSource(_Config):
    """Pushes from GitHub (``X-Hub-Signature-256``) or GitLab (``X-Gitlab-Token``).

    ``repository``: ``owner/name`` (GitHub's ``full_name``, GitLab's
    ``path_with_namespace``); any when left out. ``branches`` and ``paths``: shell patterns
    (``release/*``, ``src/**``, ``*.py``); a push fires when its branch matches one (or none
    are given) and one of its changed files matches one (or none are given).
    """

    provider: Literal["github", "gitlab", "any"] = "any"
    repository: str | None = Field(default=None, max_length=300)
    branches: list[str] = Field(default_factory=list, max_length=20)
    paths: list[str] = Field(default_factory=list, max_length=50)


class ObjectSource(_Config):
    """New objects under ``prefix`` (an absolute folder, ``file://`` or ``s3://`` URI inside
    the server's allowed roots), found by listing it (keys are compared as strings, as S3
    lists them: name new objects so they sort after old ones, by date or sequence), or told by
    S3 event notifications posted to the trigger's hook."""

    prefix: str = Field(min_length=1, max_length=1024)
    include_existing: bool = Field(
        default=False, description="fire for what is already there when the trigger is created"
    )
    poll: bool = Field(
        default=True, description="list the prefix (false: only notifications fire it)"
    )


class EventSource(_Config):
    """Events of the log whose type matches one of ``events`` (``model_version.approval_set``,
    ``job.*``) and whose fields satisfy ``filter`` (a subscription's filter policy)."""

    events: list[str] = Field(min_length=1, max_length=20)
    filter: StoredObject = Field(default_factory=dict)


class Target(_Config):
    """The work a firing starts: a training job or a transform, as its spec, or an execution
    of a pipeline (``spec``: ``{"pipeline": NAME, "input": {...}}``; the execution's input
    gets the cause under ``"trigger"`` when it is an object that has no such key).

    Strings in the spec may hold ``{{trigger.<field>}}`` (a field of the cause: ``sha``,
    ``branch``, ``uri``, ``slot`` ...), filled in at each firing.
    """

    kind: Literal["training", "transform", "pipeline"] = "training"
    spec: StoredObject


class PipelineTarget(_Config):
    """The ``spec`` of a pipeline target."""

    pipeline: str = Field(min_length=1, max_length=80)
    input: Any = Field(default_factory=dict)


class TriggerConfig(_Config):
    """A new trigger: a name, one source, the work it starts, and a cooldown."""

    name: str = Field(pattern=NAME_PATTERN, description="letters, digits, '-'; at most 40")
    schedule: ScheduleSource | None = None
    git: GitSource | None = None
    objects: ObjectSource | None = None
    events: EventSource | None = None
    target: Target
    cooldown_s: float = Field(default=0, ge=0, le=MAX_COOLDOWN_S)
    secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=200,
        description="verifies pushes and object notifications; made up when left out",
    )
    description: str = Field(default="", max_length=1024)

    @model_validator(mode="after")
    def _one_source(self) -> TriggerConfig:
        given = [k for k in ("schedule", "git", "objects", "events") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(
                "a trigger has exactly one source: schedule, git, objects or events "
                f"(got {', '.join(given) or 'none'})"
            )
        return self

    @property
    def kind(self) -> TriggerKind:
        return next(
            TriggerKind(k) for k in ("schedule", "git", "objects", "events") if getattr(self, k)
        )


class Trigger(BaseModel):
    """A trigger as listed: never its secret."""

    trigger_id: str
    name: str
    kind: TriggerKind
    schedule: ScheduleSource | None = None
    git: GitSource | None = None
    objects: ObjectSource | None = None
    events: EventSource | None = None
    target: Target
    cooldown_s: float
    enabled: bool = Field(default=True, description="a disabled trigger never fires")
    description: str = ""
    hook_path: str | None = Field(
        default=None, description="where pushes or object notifications are posted"
    )
    next_time: int | None = Field(default=None, description="a schedule's next slot (ms)")
    last_fired_time: int | None = None
    created_by: str
    created_time: int


class NewTrigger(Trigger):
    """The answer to creating a trigger: the only one showing its secret."""

    secret: str | None = None


class TriggerUpdate(_Config):
    """A change to a trigger (``PATCH``): the fields given, the others kept.

    A source may be replaced only by one of the same kind (``schedule`` for a schedule
    trigger ...); its name, kind, owner and secret do not change. Enabling a trigger starts it
    from now: slots, events and (listed) objects that came while it was disabled do not fire.
    """

    enabled: bool | None = None
    cooldown_s: float | None = Field(default=None, ge=0, le=MAX_COOLDOWN_S)
    schedule: ScheduleSource | None = None
    git: GitSource | None = None
    objects: ObjectSource | None = None
    events: EventSource | None = None
    target: Target | None = None
    description: str | None = Field(default=None, max_length=1024)

    @model_validator(mode="after")
    def _something(self) -> TriggerUpdate:
        if not self.model_fields_set - {k for k, v in self if v is None}:
            raise ValueError(
                "give at least one of enabled, cooldown_s, schedule, git, objects, events, "
                "target, description"
            )
        sources = [k for k in ("schedule", "git", "objects", "events") if getattr(self, k)]
        if len(sources) > 1:
            raise ValueError(f"a trigger has one source (got {', '.join(sources)})")
        return self

    @property
    def source(self) -> tuple[TriggerKind, _Config] | None:
        for k in ("schedule", "git", "objects", "events"):
            value = getattr(self, k)
            if value is not None:
                return TriggerKind(k), value
        return None


class TriggerList(BaseModel):
    triggers: list[Trigger]
    next_page_token: str | None = None


class Firing(BaseModel):
    """One cause of a trigger and what became of it."""

    firing_id: int
    trigger: str
    cause_key: str
    cause: dict[str, Any]
    status: FiringStatus
    job: str | None = None
    error: str | None = None
    created_time: int
    updated_time: int


class FiringList(BaseModel):
    firings: list[Firing]


class FireRequest(_Config):
    """Fire by hand. ``key`` makes it idempotent (the same key fires once); ``cause`` fields
    reach the work as any cause's do."""

    key: str | None = Field(default=None, min_length=1, max_length=200)
    cause: dict[str, str] = Field(default_factory=dict, max_length=20)


class HookResult(BaseModel):
    """What a posted push or notification did: the firing, or why nothing fired."""

    fired: Firing | None = None
    ignored: str | None = None
