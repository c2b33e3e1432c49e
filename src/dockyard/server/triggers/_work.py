"""What a firing starts: the target's spec with the cause passed on.

A cause is a flat JSON object (a push: ``sha``, ``repository``, ``branch``, ``paths`` ...).
It reaches the work three ways, so a script, a dashboard and a spec can each use it:

- ``{{trigger.<field>}}`` in any string of the spec is replaced by the field (a list is
  joined with commas); naming a field the cause lacks fails the firing, naming it;
- tags ``dockyard.trigger`` (the trigger), ``dockyard.trigger.cause`` (the cause key) and
  ``dockyard.trigger.<field>`` for each scalar field, on the job and its run;
- for a training job, environment variables ``DOCKYARD_TRIGGER``,
  ``DOCKYARD_TRIGGER_CAUSE`` (the cause as JSON) and ``DOCKYARD_TRIGGER_<FIELD>`` per field
  (a list as JSON).

The job's name is the trigger's with a digest of the cause key: submitting the same cause
twice (a retry after a crash) finds the job already there instead of starting another.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import orjson

from dockyard.errors import InvalidArgument

__all__ = ["execution_input", "job_name", "work_body", "work_named"]

_PLACEHOLDER = re.compile(r"\{\{\s*trigger\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_TAG_MAX = 256
_ENV_MAX = 512


def job_name(trigger: str, cause_key: str) -> str:
    """The name of the job a cause starts: the same for the same cause."""
    return f"{trigger[:40]}-{hashlib.sha256(cause_key.encode()).hexdigest()[:12]}"


def work_named(resource_type: str, resource_id: str, trigger: str) -> str | None:
    """The job or execution name an event is about, when it is one ``trigger`` may have made
    (its name begins with the trigger's); None otherwise."""
    name = resource_id.rpartition(":")[2] if resource_type == "execution" else resource_id
    return name if name.startswith(f"{trigger[:40]}-") else None


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return "" if value is None else str(value)


def _fill(value: Any, cause: dict[str, Any], field: str) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, cause, f"{field}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, cause, f"{field}.{i}") for i, v in enumerate(value)]
    if not isinstance(value, str) or "{{" not in value:
        return value

    def one(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in cause:
            raise InvalidArgument(
                f"{{{{trigger.{key}}}}}: this cause has no field {key!r} (it has "
                f"{', '.join(sorted(cause)) or 'none'})",
                field=field,
            )
        return _text(cause[key])

    return _PLACEHOLDER.sub(one, value)


def work_body(
    kind: str, spec: dict[str, Any], trigger: str, cause_key: str, cause: dict[str, Any]
) -> dict[str, Any]:
    """The job body to submit for one cause (see the module docstring)."""
    body: dict[str, Any] = _fill(spec, cause, "target.spec")
    body["name"] = job_name(trigger, cause_key)
    tags = dict(body.get("tags") or {})
    tags["dockyard.trigger"] = trigger
    tags["dockyard.trigger.cause"] = cause_key[:_TAG_MAX]
    for key, value in cause.items():
        if isinstance(value, (str, int, float, bool)) and len(str(value)) <= _TAG_MAX:
            tags[f"dockyard.trigger.{key}"] = str(value)
    body["tags"] = tags
    if kind == "training":
        env = dict(body.get("environment") or {})
        env["DOCKYARD_TRIGGER"] = trigger
        encoded = orjson.dumps(cause).decode()
        env["DOCKYARD_TRIGGER_CAUSE"] = encoded if len(encoded) <= _ENV_MAX else "{}"
        for key, value in cause.items():
            text = orjson.dumps(value).decode() if isinstance(value, list) else _text(value)
            if len(text) <= _ENV_MAX:
                env[f"DOCKYARD_TRIGGER_{key.upper()}"] = text
        body["environment"] = env
    return body


def execution_input(
    spec: dict[str, Any], trigger: str, cause_key: str, cause: dict[str, Any]
) -> Any:
    """A pipeline execution's input for one cause: the target's ``input`` with placeholders
    filled, and (an object without one) ``"trigger": {"name", "cause_key", <fields>}``."""
    value = _fill(spec.get("input", {}), cause, "target.spec.input")
    if isinstance(value, dict) and "trigger" not in value:
        value = {**value, "trigger": {"name": trigger, "cause_key": cause_key, **cause}}
    return value
