"""The parameter store from Python, named as boto3's SSM client names it:
``dy.put_parameter("/team/threshold", "0.5")``, ``dy.get_parameter("/team/threshold:prod")``.

SecureString values come back in clear only with ``with_decryption=True``, for a caller allowed
to decrypt them; a job's own code may read what its submitter may (never write).
"""

from __future__ import annotations

import builtins
import numbers
from collections.abc import Sequence
from typing import Any

from dockyard.api.params import (
    LabelParameter,
    LabelResult,
    Parameter,
    PutParameter,
    PutResult,
)
from dockyard.client.http import Client, from_answer, routes
from dockyard.client.http.routes import Call
from dockyard.client.sdk._requests import build_request
from dockyard.errors import InvalidArgument
from dockyard.limits import LIMITS

__all__ = [
    "delete_parameter",
    "get_parameter",
    "get_parameter_history",
    "get_parameters_by_path",
    "label_parameter_version",
    "put_parameter",
]


def _client(client: Client | None) -> Client:
    if client is not None:
        return client
    from dockyard.client.sdk._context import context

    return context().client


def put_parameter(
    name: str,
    value: str | float | Sequence[str | float],
    *,
    type: str | None = None,
    overwrite: bool = False,
    description: str = "",
    client: Client | None = None,
) -> PutResult:
    """Create a parameter, or with ``overwrite`` put a new version of one.

    Args:
        name: ``/team/model/threshold``.
        value: The value: a string, or a number (written as ``str()`` writes it); a list is
            joined with commas.
        type: ``String``, ``StringList`` or ``SecureString`` (encrypted on the server);
            by default ``StringList`` for a list, else ``String``.
        client: The client to use (default: this process's, as ``dy.log_metric`` uses).

    Raises:
        AlreadyExists: The name exists and ``overwrite`` is not set.
    """
    if isinstance(value, str):
        text = value
    elif isinstance(value, Sequence):
        items = [_text(item) for item in value]
        for index, item in enumerate(items):
            if "," in item and (type or "StringList") == "StringList":
                # Joined, it would come back as more items than were given.
                raise InvalidArgument(
                    f"a StringList item may not hold a comma (item {index}: {item!r})",
                    field=f"value[{index}]",
                )
        text = ",".join(items)
        type = type or "StringList"
    else:
        text = _text(value)
    body = build_request(
        PutParameter,
        name=name,
        value=text,
        type=type or "String",
        overwrite=overwrite,
        description=description,
    )
    return from_answer(PutResult, _client(client).call(routes.PUT_PARAMETER(), body))


def _text(value: Any) -> str:
    """A value as the store keeps it: a string, or a number as ``str()`` writes it."""
    if isinstance(value, str):
        return value
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return str(value)
    raise InvalidArgument(
        f"a parameter value is a string, a number or a list of them, not "
        f"{builtins.type(value).__name__} {value!r}",
        field="value",
    )


def get_parameter(
    name: str, *, with_decryption: bool = False, client: Client | None = None
) -> Parameter:
    """One version: ``name`` (the latest), ``name:3`` or ``name:label``."""
    params = {"name": name, "with_decryption": with_decryption}
    return from_answer(Parameter, _client(client).call(routes.GET_PARAMETER(), params=params))


def _pages(route: Call, params: dict[str, Any], client: Client | None) -> list[Parameter]:
    query = {**params, "max_results": LIMITS.params_page_max_results}
    pages = _client(client).paginate(route, "parameters", params=query)
    return [from_answer(Parameter, p) for p in pages]


def get_parameters_by_path(
    path: str, *, recursive: bool = False, client: Client | None = None
) -> list[Parameter]:
    """The latest version of each parameter under ``path`` you may read (every page);
    SecureString values are left out (get them one by one with decryption)."""
    return _pages(routes.LIST_PARAMETERS(), {"path": path, "recursive": recursive}, client)


def get_parameter_history(name: str, *, client: Client | None = None) -> list[Parameter]:
    """Every version of a parameter, oldest first, with its labels."""
    return _pages(routes.GET_PARAMETER_HISTORY(), {"name": name}, client)


def label_parameter_version(
    name: str,
    labels: str | Sequence[str],
    version: int | None = None,
    *,
    client: Client | None = None,
) -> LabelResult:
    """Put labels (one, or a list) on a version (the latest by default); a label moves from
    another version."""
    if isinstance(labels, str):
        labels = [labels]  # one label, not one per character
    elif not isinstance(labels, Sequence):
        raise InvalidArgument(
            f"labels is a label or a list of them, not {builtins.type(labels).__name__} {labels!r}",
            field="labels",
        )
    body = build_request(LabelParameter, name=name, labels=list(labels), version=version)
    return from_answer(LabelResult, _client(client).call(routes.LABEL_PARAMETER(), body))


def delete_parameter(name: str, *, client: Client | None = None) -> None:
    """Delete a parameter with all its versions."""
    _client(client).call(routes.DELETE_PARAMETER(), params={"name": name})
