"""Registry actions as tasks: register a model version, move an alias, record an approval.

Resources and parameters (either spelling)::

    dockyard:registry:createModelVersion  {"ModelName"|"name", "Source"|"source", "RunId"|"run_id"}
    dockyard:registry:setAlias            {"ModelName"|"name", "Alias"|"alias", "Version"|"version"}
    dockyard:registry:approve             {"ModelName"|"name", "Version"|"version",
                                           "Status"|"status" (Approved), "Comment"|"comment"}

Each answers with the model version (its JSON). Registering creates the registered model when
it does not exist yet. Registering runs at least once: a crash between the registration and its
record may register the version again on resume.
"""

from __future__ import annotations

import contextlib
from typing import Any

from dockyard.errors import AlreadyExists, DockyardError, InvalidArgument, NotFound
from dockyard.server.pipelines._tasks import (
    REQUEST,
    BaseIntegration,
    Failed,
    Outcome,
    Succeeded,
    TaskCall,
)

__all__ = ["ACTIONS", "ModelTask"]

REGISTER = "dockyard:registry:createModelVersion"
SET_ALIAS = "dockyard:registry:setAlias"
APPROVE = "dockyard:registry:approve"
ACTIONS = (REGISTER, SET_ALIAS, APPROVE)


def _field(payload: dict[str, Any], *names: str, default: Any = None) -> Any:
    for name in names:
        if name in payload:
            return payload[name]
    if default is not None:
        return default
    raise InvalidArgument(f"the task's parameters need {names[0]}", field=names[0])


class ModelTask(BaseIntegration):
    """Calls the registry service (see the module docstring)."""

    modes = frozenset({REQUEST})

    def __init__(self, registry: Any) -> None:
        self._registry = registry

    def start(self, call: TaskCall) -> Outcome:
        try:
            if not isinstance(call.payload, dict):
                raise InvalidArgument("the task's parameters must be a JSON object")
            version = self._act(call, call.payload)
        except DockyardError as exc:
            kind = "ResourceNotFound" if isinstance(exc, NotFound) else "ValidationException"
            return Failed(f"Registry.{kind}", exc.message)
        return Succeeded(version.model_dump(mode="json"))

    def _act(self, call: TaskCall, payload: dict[str, Any]) -> Any:
        from dockyard.api.registry import CreateModelVersion, CreateRegisteredModel, SetApproval

        name = str(_field(payload, "ModelName", "name"))
        actor = call.actor
        if call.base == REGISTER:
            with contextlib.suppress(AlreadyExists):  # the first version creates the model
                self._registry.create_registered_model(actor, CreateRegisteredModel(name=name))
            source = str(_field(payload, "Source", "source"))
            run_id = payload.get("RunId", payload.get("run_id"))
            request = CreateModelVersion(source=source, run_id=run_id)
            return self._registry.create_model_version(actor, name, request)
        version = _field(payload, "Version", "version")
        if call.base == SET_ALIAS:
            alias = str(_field(payload, "Alias", "alias"))
            return self._registry.set_alias(actor, name, alias, version)
        status = _field(payload, "Status", "status", default="Approved")
        comment = payload.get("Comment", payload.get("comment"))
        return self._registry.set_approval(
            actor, name, version, SetApproval(status=status, comment=comment)
        )
