"""AWS's query protocol: a form-encoded ``POST /`` with ``Action`` and ``Version``, answered in
XML (the protocol of botocore's ``sns``).

``VERSIONS`` maps an API version to the module holding its ``ACTIONS`` and XML ``NAMESPACE``.
An action takes the request's form (flat: ``Attributes.entry.1.key``) and returns its result as
a dict, which is written as XML: a dict's items become elements, a list's items ``<member>``
elements, and an :class:`Entries` mapping ``<entry><key/><value/></entry>`` elements (a query
protocol map). Errors are ``<ErrorResponse>`` with AWS's code, which botocore reads into
``ClientError``.
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from fastapi import Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from dockyard.errors import DockyardError, InvalidArgument
from dockyard.server._auth import actor_of
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.compat.aws._codes import named
from dockyard.server.compat.aws._errors import AwsError, internal

__all__ = ["VERSIONS", "Entries", "Form", "QueryAction", "answer", "entries", "members"]


Form = dict[str, str]
#: An action: the services, the caller and the request's form -> the result's fields.
QueryAction = Callable[[Services, Actor, Form], dict[str, Any]]

#: API version -> the module with its ``ACTIONS`` table and ``NAMESPACE``.
VERSIONS: dict[str, str] = {
    "2010-03-31": "dockyard.server.compat.aws._sns",
}
_MAX_BODY = 2 * 1024 * 1024
_MAX_FIELDS = 1000


class Entries(dict[str, str]):
    """A map in a query protocol answer: ``<entry><key>k</key><value>v</value></entry>``."""


def members(form: Form, name: str) -> list[str]:
    """A list in a query protocol request: ``name.member.1``, ``name.member.2``..."""
    found, index = [], 1
    while (value := form.get(f"{name}.member.{index}")) is not None:
        found.append(value)
        index += 1
    return found


def entries(form: Form, name: str, key: str = "key", value: str = "value") -> dict[str, str]:
    """A map in a query protocol request: ``name.entry.1.key`` and ``name.entry.1.value``..."""
    found, index = {}, 1
    while (item := form.get(f"{name}.entry.{index}.{key}")) is not None:
        found[item] = form.get(f"{name}.entry.{index}.{value}", "")
        index += 1
    return found


def _xml(value: Any) -> str:
    if isinstance(value, Entries):
        return "".join(
            f"<entry><key>{escape(k)}</key><value>{escape(v)}</value></entry>"
            for k, v in value.items()
        )
    if isinstance(value, Mapping):
        return "".join(f"<{k}>{_xml(v)}</{k}>" for k, v in value.items() if v is not None)
    if isinstance(value, list):
        return "".join(f"<member>{_xml(v)}</member>" for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


def _response(body: str, status: int = 200) -> Response:
    return Response(
        '<?xml version="1.0" encoding="UTF-8"?>' + body, status_code=status, media_type="text/xml"
    )


def error_response(kind: str, message: str, status: int, namespace: str) -> Response:
    """``<ErrorResponse>`` as the query protocol's services send it."""
    fault = "Receiver" if status >= 500 else "Sender"
    return _response(
        f'<ErrorResponse xmlns="{namespace}"><Error><Type>{fault}</Type>'
        f"<Code>{escape(kind)}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>",
        status,
    )


def _failure(exc: Exception, module: Any) -> tuple[str, str, int]:
    invalid: str = getattr(module, "INVALID", "InvalidParameter")
    if isinstance(exc, AwsError):
        return exc.kind, exc.message, exc.status
    if isinstance(exc, ValidationError):
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": str(exc)}
        where = ".".join(str(p) for p in first.get("loc", ()))
        said = str(first.get("msg")).removeprefix("Value error, ")  # pydantic's wording
        return invalid, f"{where}: {said}", 400
    if isinstance(exc, InvalidArgument):
        return invalid, named(exc), 400
    if isinstance(exc, DockyardError):
        kind = {401: "InvalidClientTokenId", 403: "AuthorizationError"}.get(exc.status_code)
        return kind or invalid, exc.message, 400 if exc.status_code < 500 else 500
    return "InternalError", internal(exc, "AWS query action"), 500


async def answer(request: Request) -> Response:
    """Dispatch a form-encoded ``Action`` of the API ``Version`` names."""
    module: Any = None
    namespace = "https://dockyard.invalid/aws-query/"
    try:
        raw = await request.body()
        if len(raw) > _MAX_BODY:
            raise AwsError("InvalidParameter", f"the request is over {_MAX_BODY} bytes")
        try:
            pairs = parse_qsl(
                raw.decode(),
                keep_blank_values=True,
                strict_parsing=False,
                max_num_fields=_MAX_FIELDS,
            )
        except (UnicodeDecodeError, ValueError) as exc:
            raise AwsError("MalformedQueryString", f"the form cannot be read: {exc}") from None
        form = dict(pairs)
        version, action = form.get("Version", ""), form.get("Action", "")
        path = VERSIONS.get(version)
        if path is None:
            raise AwsError(
                "InvalidAction",
                f"Version {version[:40]!r} names no API this server speaks (SNS: 2010-03-31)",
            )
        module = importlib.import_module(path)
        namespace = module.NAMESPACE
        run: QueryAction | None = module.ACTIONS.get(action)
        if run is None:
            raise AwsError("InvalidAction", f"Action {action[:60]!r} is not valid for this API")
        services: Services = request.app.state.services
        result = await run_in_threadpool(run, services, actor_of(request.scope), form)
    except Exception as exc:
        kind, message, status = _failure(exc, module)
        return error_response(kind, message, status, namespace)
    inner = f"<{action}Result>{_xml(result)}</{action}Result>" if result else ""
    return _response(
        f'<{action}Response xmlns="{namespace}">{inner}'
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
        f"</{action}Response>"
    )
