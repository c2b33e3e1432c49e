"""Building the request models the server validates, on the client, with the server's errors.

The SDK and the CLI send the same pydantic models the routes take as bodies
(:mod:`dockyard.api.tracking`, :mod:`dockyard.api.registry`, :mod:`dockyard.api.jobs`,
:mod:`dockyard.api.endpoints`, :mod:`dockyard.api.notifications`...), so a bad value fails
before it leaves the process, with the message and field the server would have given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from dockyard.errors import invalid_from_validation

__all__ = ["build_request", "spec_body", "transform_request"]

M = TypeVar("M", bound=BaseModel)


def build_request(model: type[M], data: Mapping[str, Any] | None = None, /, **fields: Any) -> M:
    """``model`` validated from ``data`` (a spec file's mapping) and ``fields``, as the server
    validates its body; a validation error becomes :class:`~dockyard.errors.InvalidArgument`
    naming the field. Only what is given counts as set: that is what is sent."""
    try:
        return model.model_validate({**(data or {}), **fields})
    except ValidationError as exc:
        raise invalid_from_validation(exc.errors()) from None


def _names_a_parameter(value: Any) -> bool:
    if isinstance(value, str):
        return "{{param:" in value
    if isinstance(value, Mapping):
        return any(_names_a_parameter(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_names_a_parameter(v) for v in value)
    return False


def spec_body(
    model: type[M], data: Mapping[str, Any] | None = None, /, **fields: Any
) -> M | dict[str, Any]:
    """A job's or an endpoint's spec as :func:`build_request` checks it, unless it names a
    parameter (``{{param:/name}}``): the server resolves those before it validates, so a
    reference may stand where a number goes, and the spec is sent as written."""
    body = {**(data or {}), **fields}
    if _names_a_parameter(body):
        return body
    return build_request(model, body)


def transform_request(body: Mapping[str, Any]) -> dict[str, Any]:
    """A transform job's body, checked against the server's :class:`TransformJobSpec` first.

    The body itself is sent, not the model: the server picks the output folder of a spec
    that names none, so the check stands in for it (:func:`dockyard.api.jobs.default_output`)
    and what is sent must leave it out.
    """
    from dockyard.api.jobs import TransformJobSpec, default_output

    if not _names_a_parameter(body):
        build_request(TransformJobSpec, default_output(body))
    return dict(body)
