"""AWS's one route, ``POST /``: the JSON protocol (``X-Amz-Target``), or the query protocol (a
form-encoded body naming its ``Action``: :mod:`._query`)."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.types import Receive, Scope, Send

from dockyard.json_depth import nests_deeper
from dockyard.limits import LIMITS
from dockyard.server._asgi import header, read_body, send_body
from dockyard.server._auth import actor_of
from dockyard.server._route import run_handler
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.compat.aws import _query
from dockyard.server.compat.aws._errors import AwsError, aws_error

__all__ = ["TARGETS", "Action", "is_query", "router"]

#: An action: the services, the caller and the request's JSON -> the answer's JSON. A coroutine
#: function runs on the event loop (it hands blocking work to a thread itself); a plain one in
#: the thread pool, or on the loop when it is a short read.
Action = Callable[[Services, Actor, dict[str, Any]], dict[str, Any] | Awaitable[dict[str, Any]]]

#: Target prefix -> the module with its ``ACTIONS`` table and ``CONTENT_TYPE``.
TARGETS: dict[str, str] = {
    "AWSStepFunctions": "dockyard.server.compat.aws._stepfunctions",
    "Logs_20140328": "dockyard.server.compat.aws._logs",
    "AmazonSSM": "dockyard.server.compat.aws._ssm",
    "SageMaker": "dockyard.server.compat.aws._sagemaker",
}
_MAX_BODY = 2 * 1024 * 1024

router = APIRouter(tags=["aws"])


def is_query(content_type: str | None) -> bool:
    """Whether a ``POST /`` without ``X-Amz-Target`` is a query protocol request."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    return kind == "application/x-www-form-urlencoded"


def _actions(prefix: str) -> tuple[dict[str, Action], str]:
    found = _LOADED.get(prefix)
    if found is not None:
        return found
    path = TARGETS.get(prefix)
    if path is None:
        raise AwsError("UnknownOperationException", f"this server does not speak {prefix}")
    module = importlib.import_module(path)
    found = _LOADED[prefix] = (module.ACTIONS, module.CONTENT_TYPE)
    return found


#: The action tables looked up so far (``import_module`` of a loaded module still takes the
#: import lock: a few microseconds of every request).
_LOADED: dict[str, tuple[dict[str, Action], str]] = {}


class _AwsJson:
    """``POST /`` as a plain ASGI app (:mod:`dockyard.server._asgi`): boto3 scripts call it in
    loops, and it turns every exception into AWS's error body itself.

    Dispatches ``X-Amz-Target: <Service>.<Action>`` to the service's action, and a form
    without it to the query protocol's."""

    __name__ = "aws_json"  # the route's name, as for a function endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = header(scope, b"x-amz-target") or ""
        if not target and is_query(header(scope, b"content-type")):
            request = Request(scope, receive)
            await (await _query.answer(request))(scope, receive, send)
            return
        prefix, _, name = target.partition(".")
        content_type = "application/x-amz-json-1.0"
        try:
            if not name:
                raise AwsError(
                    "UnknownOperationException",
                    "POST / needs an X-Amz-Target header: Service.Action",
                )
            actions, content_type = _actions(prefix)
            action = actions.get(name)
            if action is None:
                raise AwsError("UnknownOperationException", f"{prefix} has no action {name!r} here")
            raw = await read_body(receive)
            if len(raw) > _MAX_BODY:
                raise AwsError("ValidationException", f"the request is over {_MAX_BODY} bytes")
            try:
                body = orjson.loads(raw) if raw else {}
            except orjson.JSONDecodeError as exc:
                raise AwsError("SerializationException", f"the body is not JSON: {exc}") from None
            if not isinstance(body, dict):
                raise AwsError("SerializationException", "the body must be a JSON object")
            if nests_deeper(body, LIMITS.json_depth, size=len(raw)):
                # as the native API refuses it: a value kept from a deeper body (an endpoint
                # config's DataCaptureConfig, a tag) failed when it was written, as a 500
                raise AwsError(
                    "SerializationException",
                    f"the body nests deeper than {LIMITS.json_depth} levels",
                )
            services: Services = scope["app"].state.services
            actor = actor_of(scope)
            if inspect.iscoroutinefunction(action):
                answer = await action(services, actor, body)
            else:
                answer = await run_handler(action, services, actor, body)
        except Exception as exc:
            await aws_error(exc, content_type)(scope, receive, send)
            return
        await send_body(send, orjson.dumps(answer), content_type.encode())


aws_json = _AwsJson()


# A plain route, not a FastAPI one: the app dispatches its fixed path from a dict
# (``server/_dispatch.py``), as boto3 scripts call it in loops. An ASGI app, which the route
# serves as it is (typed here for function endpoints).
router.add_route("/", aws_json, methods=["POST"], include_in_schema=False)  # type: ignore[arg-type]
