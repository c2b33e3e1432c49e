"""Tasks that talk to Dockyard's own services in one call: publish to a topic (SNS) and read or
write a parameter (SSM), with the AWS parameters and answers Step Functions users write.

- ``arn:aws:states:::sns:publish`` (``dockyard:publish``): ``TopicArn`` (or ``Topic``: a
  custom topic's name), ``Message`` (text or JSON), ``MessageAttributes``
  (``{"k": {"DataType": "String", "StringValue": "v"}}``); answers ``{"MessageId": ...}``.
  With ``.waitForTaskToken`` the message carries the token and the task waits for a callback.
- ``arn:aws:states:::aws-sdk:ssm:getParameter``: ``Name``, ``WithDecryption``; answers
  ``{"Parameter": {"Name", "Type", "Value", "Version"}}``.
- ``arn:aws:states:::aws-sdk:ssm:putParameter``: ``Name``, ``Value``, ``Type``,
  ``Overwrite``, ``Description``; answers ``{"Version": n, "Tier": "Standard"}``.

Errors come back under AWS SDK integration names (``Sns.NotFoundException``,
``Ssm.ParameterNotFoundException``, ``Ssm.ValidationException`` ...), which Retry and Catch
match on.
"""

from __future__ import annotations

from typing import Any

import orjson

from dockyard.errors import DockyardError, InvalidArgument, NotFound, PermissionDenied
from dockyard.server.pipelines._tasks import (
    BaseIntegration,
    Failed,
    Outcome,
    Succeeded,
    TaskCall,
    require,
)

__all__ = ["ParameterTask", "PublishTask"]

PUBLISH = ("arn:aws:states:::sns:publish", "dockyard:publish")
GET_PARAMETER = "arn:aws:states:::aws-sdk:ssm:getParameter"
PUT_PARAMETER = "arn:aws:states:::aws-sdk:ssm:putParameter"


def _failed(service: str, exc: DockyardError) -> Failed:
    kind = (
        "NotFoundException"
        if isinstance(exc, NotFound)
        else "AuthorizationErrorException"
        if isinstance(exc, PermissionDenied)
        else "ValidationException"
    )
    return Failed(f"{service}.{kind}", exc.message)


def _fields(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise InvalidArgument("the task's parameters must be a JSON object", field="Parameters")
    return payload


class PublishTask(BaseIntegration):
    """Publishes to a custom topic of the notifications service."""

    def __init__(self, notifications: Any) -> None:
        self._notifications = notifications

    def check(self, base: str, payload: Any) -> None:
        require(payload, "sns:publish", ("TopicArn", "Topic"), ("Message",))

    def start(self, call: TaskCall) -> Outcome:
        from dockyard.api.notifications import PublishRequest

        try:
            fields = _fields(call.payload)
            topic = str(fields.get("TopicArn") or fields.get("Topic") or "").rsplit(":", 1)[-1]
            if not topic:
                raise InvalidArgument("sns:publish needs a TopicArn", field="TopicArn")
            message = fields.get("Message", "")
            if isinstance(message, (list, int, float, bool)) or message is None:
                message = orjson.dumps(message).decode()
            attributes: dict[str, str | int | float | bool] = {
                str(k): str(v.get("StringValue", "")) if isinstance(v, dict) else str(v)
                for k, v in (fields.get("MessageAttributes") or {}).items()
            }
            request = PublishRequest(message=message, attributes=attributes)
            published = self._notifications.publish(call.actor, topic, request)
        except DockyardError as exc:
            return _failed("Sns", exc)
        return Succeeded({"MessageId": str(published.event_id)})


class ParameterTask(BaseIntegration):
    """Reads or writes a parameter of the params service."""

    def __init__(self, params: Any) -> None:
        self._params = params

    def check(self, base: str, payload: Any) -> None:
        if base == GET_PARAMETER:
            require(payload, "ssm:getParameter", ("Name",))
        else:
            require(payload, "ssm:putParameter", ("Name",), ("Value",))

    def start(self, call: TaskCall) -> Outcome:
        try:
            fields = _fields(call.payload)
            name = fields.get("Name")
            if not isinstance(name, str) or not name:
                raise InvalidArgument("the parameter's Name is missing", field="Name")
            if call.base == GET_PARAMETER:
                return self._get(call, name, bool(fields.get("WithDecryption")))
            return self._put(call, name, fields)
        except DockyardError as exc:
            if isinstance(exc, NotFound):
                return Failed("Ssm.ParameterNotFoundException", exc.message)
            return _failed("Ssm", exc)

    def _get(self, call: TaskCall, name: str, decrypt: bool) -> Outcome:
        found = self._params.get(call.actor, name, with_decryption=decrypt)
        return Succeeded(
            {
                "Parameter": {
                    "Name": found.name,
                    "Type": str(found.type),
                    "Value": found.value,
                    "Version": found.version,
                }
            }
        )

    def _put(self, call: TaskCall, name: str, fields: dict[str, Any]) -> Outcome:
        from dockyard.api.params import PutParameter

        request = PutParameter(
            name=name,
            value=str(fields.get("Value", "")),
            type=fields.get("Type", "String"),
            overwrite=bool(fields.get("Overwrite", False)),
            description=str(fields.get("Description", "")),
        )
        put = self._params.put(call.actor, request)
        return Succeeded({"Version": put.version, "Tier": "Standard"})
