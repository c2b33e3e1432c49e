"""Reading MLflow requests: protobuf-JSON bodies and GET query strings, typed as MLflow types them.

MLflow's server parses a request into its protobuf message, ignoring unknown fields (newer clients
send fields older servers do not know, such as ``model_id`` on a metric), and then checks each
declared field's JSON type. :class:`Fields` does the same with no protobuf: it reads only the fields
a handler asks for and answers a wrong type with MLflow's own INVALID_PARAMETER_VALUE wording.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any, Final, TypeVar

import orjson
from starlette.datastructures import QueryParams

from dockyard.api.tracking import RunStatus, ViewType
from dockyard.server.compat.mlflow._errors import (
    BAD_REQUEST,
    MlflowError,
    invalid_value,
    missing_value,
)

__all__ = ["RUN_STATUSES", "VIEW_TYPES", "Fields", "parse_body", "parse_int"]

E = TypeVar("E", bound=StrEnum)

# MLflow's RunStatus and ViewType enums in protobuf number order, for Fields.enum.
RUN_STATUSES: Final = (
    RunStatus.RUNNING,
    RunStatus.SCHEDULED,
    RunStatus.FINISHED,
    RunStatus.FAILED,
    RunStatus.KILLED,
)
VIEW_TYPES: Final = (ViewType.ACTIVE_ONLY, ViewType.DELETED_ONLY, ViewType.ALL)

_SEE_DOCS = " See the API docs for more information about request parameters."
_INT64 = (-(2**63), 2**63 - 1)


def parse_body(raw: bytes) -> dict[str, Any]:
    """The JSON object of a request body; an empty body is an empty request, as in MLflow.

    Raises:
        MlflowError: BAD_REQUEST when the body is not JSON or not a JSON object.
    """
    if not raw.strip():
        return {}
    try:
        data = orjson.loads(raw)
        # Old MLflow clients post their JSON double-encoded, as a JSON string; MLflow accepts it.
        if isinstance(data, str):
            data = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise MlflowError(BAD_REQUEST, f"Malformed JSON in the request body: {exc}") from exc
    if not isinstance(data, dict):
        raise MlflowError(
            BAD_REQUEST, f"The request body must be a JSON object, not {type(data).__name__}."
        )
    return data


def _wrong_type(path: str, value: Any) -> MlflowError:
    return invalid_value(
        path, value, f"Hint: Value was of type '{type(value).__name__}'.{_SEE_DOCS}"
    )


def parse_int(path: str, value: Any) -> int:
    """An int64 as protobuf JSON has it: a JSON integer, an integral float or a decimal string."""
    result: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        result = value
    elif isinstance(value, float) and value.is_integer():
        result = int(value)
    elif isinstance(value, str) and value.strip() == value:
        try:
            result = int(value)
        except ValueError:
            result = None
    if result is None:
        raise _wrong_type(path, value)
    if not _INT64[0] <= result <= _INT64[1]:
        raise invalid_value(path, value, "it does not fit in a 64-bit integer.")
    return result


class Fields:
    """The fields of one MLflow request, read on demand with MLflow's type rules.

    Args:
        data: The request's JSON object, or its query parameters for a GET.
        path: The parameters of the request's path (``/logged-models/{model_id}``).
    """

    __slots__ = ("_data", "_path", "_query")

    def __init__(
        self, data: dict[str, Any] | QueryParams, *, path: Mapping[str, str] | None = None
    ) -> None:
        self._query = data if isinstance(data, QueryParams) else None
        self._data: dict[str, Any] = dict(data) if isinstance(data, QueryParams) else data
        self._path = dict(path or {})

    def path(self, name: str) -> str:
        """A parameter of the request's path (always present when the route has it)."""
        return self._path[name]

    def has(self, name: str) -> bool:
        """Whether the request sets ``name`` (to anything but null)."""
        return self._data.get(name) is not None

    def raw(self, name: str) -> Any:
        """The untyped value of ``name`` (None when absent)."""
        return self._data.get(name)

    def string(self, name: str, *, required: bool = False, default: str = "") -> str:
        """A string field; ``required`` refuses an absent or empty value, as MLflow does."""
        value = self._data.get(name)
        if value is None or (required and value == ""):
            if required:
                error = missing_value(name)
                error.message += _SEE_DOCS
                raise error
            return default
        if not isinstance(value, str):
            raise _wrong_type(name, value)
        return value

    def optional_string(self, name: str) -> str | None:
        """A string field that may be absent (None), as distinct from empty."""
        return self.string(name) if self.has(name) else None

    def integer(self, name: str) -> int | None:
        """An int64 field, or None when absent."""
        value = self._data.get(name)
        return None if value is None else parse_int(name, value)

    def array(self, name: str) -> list[Any]:
        """A repeated field (empty when absent); a GET repeats the query parameter instead."""
        if self._query is not None:
            return self._query.getlist(name)
        value = self._data.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            raise _wrong_type(name, value)
        return value

    def strings(self, name: str) -> list[str]:
        """A repeated string field."""
        values = self.array(name)
        for index, item in enumerate(values):
            if not isinstance(item, str):
                raise _wrong_type(f"{name}[{index}]", item)
        return values

    def objects(self, name: str) -> list[dict[str, Any]]:
        """A repeated message field: each item must be a JSON object."""
        values = self.array(name)
        for index, item in enumerate(values):
            if not isinstance(item, dict):
                raise _wrong_type(f"{name}[{index}]", item)
        return values

    def enum(self, name: str, members: Sequence[E]) -> E | None:
        """A protobuf enum field, by name (``"FINISHED"``) or number; None when absent.

        Args:
            name: The field.
            members: The enum's members in protobuf number order, from 1.
        """
        value = self._data.get(name)
        if value is None:
            return None
        for number, member in enumerate(members, start=1):
            if value == member.value or (not isinstance(value, bool) and str(value) == str(number)):
                return member
        raise invalid_value(name, value, f"expected one of {', '.join(m.value for m in members)}.")

    def run_id(self) -> str:
        """The run a request names: ``run_id``, or the deprecated ``run_uuid`` old clients send."""
        if not self.has("run_id") and self.has("run_uuid"):
            return self.string("run_uuid", required=True)
        return self.string("run_id", required=True)
