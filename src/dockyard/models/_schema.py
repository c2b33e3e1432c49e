"""Signatures as data, in MLflow's schema JSON format so that either tool reads the other's.

A :class:`Signature` has an input :class:`Schema`, an optional output schema and optional
:class:`ParamSpec` list. A schema is either all columns (:class:`ColSpec`, tabular models) or all
tensors (:class:`TensorSpec`, array models). The manifest stores each part as a JSON *string*, as
MLflow does::

    signature:
      inputs: '[{"type": "double", "name": "a", "required": true}]'
      outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]'
      params: '[{"name": "top_k", "type": "long", "default": 3, "shape": null}]'

MLflow's nested column types (``array``, ``object``, ``map``, ``any``) are carried unchanged so a
package round-trips, but only their presence is enforced (see :mod:`._signature`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from dockyard.errors import InvalidArgument

__all__ = [
    "COLUMN_DTYPES",
    "ColSpec",
    "ParamSpec",
    "Schema",
    "Signature",
    "TensorSpec",
]

#: The column types Dockyard enforces, with the numpy dtype a column of that type holds.
#: ``string`` and ``binary`` columns hold Python objects (or pandas' string dtype).
COLUMN_DTYPES: dict[str, np.dtype[Any]] = {
    "boolean": np.dtype("bool"),
    "integer": np.dtype("int32"),
    "long": np.dtype("int64"),
    "float": np.dtype("float32"),
    "double": np.dtype("float64"),
    "string": np.dtype("object"),
    "binary": np.dtype("object"),
    "datetime": np.dtype("datetime64[ns]"),
}
#: MLflow column types that are stored and round-tripped but not type-checked.
OPAQUE_TYPES = frozenset({"array", "object", "map", "any", "sparkml_vector"})
_PARAM_TYPES = frozenset(COLUMN_DTYPES) - {"binary"}


@dataclass(frozen=True, slots=True)
class ColSpec:
    """One column of a tabular schema.

    Args:
        type: ``boolean``, ``integer``, ``long``, ``float``, ``double``, ``string``, ``binary`` or
            ``datetime``; MLflow's nested types are kept in ``raw`` and only presence-checked.
        name: Column name; ``None`` means the column is matched by position.
        required: A required column must be present in every request.
        raw: The original JSON object for nested MLflow types, written back unchanged.
    """

    type: str
    name: str | None = None
    required: bool = True
    raw: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The MLflow JSON object for this column."""
        body: dict[str, Any] = dict(self.raw) if self.raw is not None else {"type": self.type}
        if self.name is not None:
            body["name"] = self.name
        body["required"] = self.required
        return body


@dataclass(frozen=True, slots=True)
class TensorSpec:
    """One tensor of an array schema; ``-1`` in ``shape`` matches any size (the batch axis)."""

    dtype: str
    shape: tuple[int, ...]
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The MLflow JSON object for this tensor."""
        body: dict[str, Any] = {
            "type": "tensor",
            "tensor-spec": {"dtype": self.dtype, "shape": list(self.shape)},
        }
        if self.name is not None:
            body["name"] = self.name
        return body


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """An inference parameter (``predict(..., params={name: value})``) with its default."""

    name: str
    type: str
    default: Any
    shape: tuple[int, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The MLflow JSON object for this parameter."""
        shape = list(self.shape) if self.shape is not None else None
        return {"name": self.name, "type": self.type, "default": self.default, "shape": shape}


@dataclass(frozen=True, slots=True)
class Schema:
    """An ordered list of column specs or of tensor specs (never a mix)."""

    columns: tuple[ColSpec, ...] = ()
    tensors: tuple[TensorSpec, ...] = ()

    def __post_init__(self) -> None:
        if self.columns and self.tensors:
            raise InvalidArgument("a schema holds columns or tensors, not both")
        if not self.columns and not self.tensors:
            raise InvalidArgument("a schema needs at least one column or tensor")

    @property
    def is_tensor(self) -> bool:
        """Whether this schema describes arrays rather than named columns."""
        return bool(self.tensors)

    def to_json(self) -> str:
        """The JSON string MLflow stores in the manifest."""
        specs = self.tensors if self.tensors else self.columns
        return json.dumps([spec.to_dict() for spec in specs])

    @classmethod
    def from_json(cls, text: str, *, field: str = "schema") -> Schema:
        """Parse MLflow's schema JSON, naming ``field`` in any error."""
        items = _load_json_list(text, field)
        if all(isinstance(item, dict) and item.get("type") == "tensor" for item in items):
            return cls(
                tensors=tuple(_tensor_from(item, f"{field}.{i}") for i, item in enumerate(items))
            )
        return cls(
            columns=tuple(_column_from(item, f"{field}.{i}") for i, item in enumerate(items))
        )


@dataclass(frozen=True, slots=True)
class Signature:
    """What a model accepts (``inputs``), returns (``outputs``) and takes as ``params``."""

    inputs: Schema | None = None
    outputs: Schema | None = None
    params: tuple[ParamSpec, ...] | None = None

    def to_dict(self) -> dict[str, str | None]:
        """The manifest's ``signature`` mapping: each part a JSON string or ``None``."""
        params = json.dumps([p.to_dict() for p in self.params]) if self.params else None
        return {
            "inputs": self.inputs.to_json() if self.inputs is not None else None,
            "outputs": self.outputs.to_json() if self.outputs is not None else None,
            "params": params,
        }

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> Signature:
        """Read the manifest's ``signature`` mapping (errors name ``signature.<part>``)."""
        parts: dict[str, Schema | None] = {}
        for key in ("inputs", "outputs"):
            text = body.get(key)
            if text is not None and not isinstance(text, str):
                raise InvalidArgument(
                    f"signature.{key} must be a JSON string", field=f"signature.{key}"
                )
            parts[key] = Schema.from_json(text, field=f"signature.{key}") if text else None
        params_text = body.get("params")
        params: tuple[ParamSpec, ...] | None = None
        if params_text:
            if not isinstance(params_text, str):
                raise InvalidArgument(
                    "signature.params must be a JSON string", field="signature.params"
                )
            items = _load_json_list(params_text, "signature.params")
            params = tuple(
                _param_from(item, f"signature.params.{i}") for i, item in enumerate(items)
            )
        return cls(inputs=parts["inputs"], outputs=parts["outputs"], params=params)


def _load_json_list(text: str, field: str) -> list[Any]:
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArgument(f"{field} is not valid JSON: {exc}", field=field) from exc
    if not isinstance(items, list):
        raise InvalidArgument(f"{field} must be a JSON list of specs", field=field)
    return items


def _column_from(item: Any, field: str) -> ColSpec:
    if not isinstance(item, dict) or not isinstance(item.get("type"), (str, dict)):
        raise InvalidArgument(f"{field} must be an object with a 'type'", field=field)
    name = item.get("name")
    if name is not None and not isinstance(name, str):
        raise InvalidArgument(f"{field}.name must be a string", field=f"{field}.name")
    required = item.get("required", True)
    if not isinstance(required, bool):
        raise InvalidArgument(f"{field}.required must be true or false", field=f"{field}.required")
    kind = item["type"]
    if kind in COLUMN_DTYPES:
        return ColSpec(type=kind, name=name, required=required)
    if kind in OPAQUE_TYPES:
        raw = {k: v for k, v in item.items() if k not in ("name", "required")}
        return ColSpec(type=kind, name=name, required=required, raw=raw)
    raise InvalidArgument(
        f"{field}: unknown column type {kind!r} (known: {', '.join(sorted(COLUMN_DTYPES))})",
        field=f"{field}.type",
    )


def _tensor_from(item: dict[str, Any], field: str) -> TensorSpec:
    spec = item.get("tensor-spec")
    if not isinstance(spec, dict):
        raise InvalidArgument(f"{field} needs a 'tensor-spec' object", field=field)
    try:
        dtype = np.dtype(spec.get("dtype")).name
    except TypeError as exc:
        raise InvalidArgument(
            f"{field}: unknown tensor dtype {spec.get('dtype')!r}", field=f"{field}.dtype"
        ) from exc
    shape = spec.get("shape")
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= -1 for d in shape):
        raise InvalidArgument(f"{field}: shape must be a list of sizes or -1", field=field)
    name = item.get("name")
    return TensorSpec(dtype=dtype, shape=tuple(shape), name=name if isinstance(name, str) else None)


def _param_from(item: Any, field: str) -> ParamSpec:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise InvalidArgument(f"{field} must be an object with a 'name'", field=field)
    kind = item.get("type")
    if kind not in _PARAM_TYPES:
        raise InvalidArgument(
            f"{field}: unknown param type {kind!r} (known: {', '.join(sorted(_PARAM_TYPES))})",
            field=f"{field}.type",
        )
    shape = item.get("shape")
    if shape is not None and not isinstance(shape, list):
        raise InvalidArgument(f"{field}.shape must be a list or null", field=f"{field}.shape")
    return ParamSpec(
        name=item["name"],
        type=kind,
        default=item.get("default"),
        shape=tuple(shape) if shape is not None else None,
    )
