"""Open Inference Protocol v2 (KServe / Triton HTTP): routes, metadata, and inference bodies.

Routes: ``GET /v2`` (server metadata), ``/v2/health/live``, ``/v2/health/ready``,
``GET /v2/models/{name}[/versions/{v}]`` (model metadata), ``.../ready`` and
``POST .../infer``. ``{name}`` is the endpoint's name (traffic split by weights) or a production
variant's name (that variant answers); ``/versions/{v}`` names a variant too, so a model's
"versions" are the endpoint's variants.

A column-signature model whose columns share one numeric type takes one ``[rows, columns]``
tensor named ``input`` (a Triton FIL-style matrix, advertised in the metadata); any column model
also takes one 1-D tensor per column, named after it. Tensor-signature models take their
signature's tensors. A plain array prediction is the output ``predictions`` (or the signature's
single named output); a DataFrame or dict gives one output per column or key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import orjson
import pandas as pd

from dockyard.errors import InvalidArgument, NotFound
from dockyard.models import COLUMN_DTYPES, Schema, Signature
from dockyard.runtime.serving._inputs import InputCodec, Item, parse_error
from dockyard.runtime.serving._tensors import (
    check_shape,
    datatype_of,
    from_binary,
    from_json,
    to_binary,
    to_json_data,
)

__all__ = ["InferRequest", "Route", "decode", "encode", "model_metadata", "parse", "route"]

_NUMPY = orjson.OPT_SERIALIZE_NUMPY
_MATRIX_INPUT = "input"
_DEFAULT_OUTPUT = "predictions"


class Route:
    """A parsed ``/v2/models/...`` path."""

    __slots__ = ("action", "name", "version")

    def __init__(self, name: str, version: str | None, action: str) -> None:
        self.name = name
        self.version = version
        self.action = action  # "metadata", "ready" or "infer"


def route(path: str) -> Route | None:
    """Parse ``/v2/models/{name}[/versions/{v}][/ready|/infer]``; ``None`` if not that shape."""
    parts = path.split("/")
    if len(parts) < 4 or parts[1] != "v2" or parts[2] != "models" or not parts[3]:
        return None
    name, rest = parts[3], parts[4:]
    version = None
    if len(rest) >= 2 and rest[0] == "versions" and rest[1]:
        version, rest = rest[1], rest[2:]
    if not rest:
        return Route(name, version, "metadata")
    if len(rest) == 1 and rest[0] in ("ready", "infer"):
        return Route(name, version, rest[0])
    return None


class InferRequest:
    """A parsed inference body: its tensors and what the client asked back."""

    __slots__ = ("binary_default", "id", "inputs", "outputs", "params")

    def __init__(
        self,
        inputs: list[tuple[str, np.ndarray[Any, Any]]],
        outputs: dict[str, bool] | None,
        binary_default: bool,
        request_id: Any,
        params: dict[str, Any],
    ) -> None:
        self.inputs = inputs
        self.outputs = outputs
        self.binary_default = binary_default
        self.id = request_id
        self.params = params


# Parameters Triton's clients send for the server itself, never for the model.
_RESERVED = frozenset(
    {"binary_data_output", "sequence_id", "sequence_start", "sequence_end", "priority", "timeout"}
)


def parse(body: bytes, header_length: bytes | None) -> InferRequest:
    """Parse an inference body (JSON, or JSON header + binary buffers).

    Raises:
        InvalidArgument: Malformed JSON, tensors or buffers, naming the input at fault.
    """
    buffers = b""
    if header_length is not None:
        if not header_length.isdigit() or int(header_length) > len(body):
            raise InvalidArgument(
                "Inference-Header-Content-Length must be a byte count within the body"
            )
        header_size = int(header_length)
        body, buffers = body[:header_size], body[header_size:]
    try:
        header = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise parse_error("JSON", exc) from None
    if type(header) is not dict or type(header.get("inputs")) is not list or not header["inputs"]:
        raise InvalidArgument("an inference request needs 'inputs': a non-empty list of tensors")
    inputs = []
    offset = 0
    for position, spec in enumerate(header["inputs"]):
        if type(spec) is not dict or not isinstance(spec.get("name"), str):
            raise InvalidArgument(f"inputs.{position} must be an object with a 'name'")
        name = spec["name"]
        shape = check_shape(name, spec.get("shape"))
        tensor_params = spec.get("parameters") or {}
        size = tensor_params.get("binary_data_size") if type(tensor_params) is dict else None
        datatype = spec.get("datatype")
        if size is not None:
            if type(size) is not int or size < 0 or offset + size > len(buffers):
                raise InvalidArgument(f"input {name!r}: binary_data_size is beyond the body")
            array = from_binary(name, datatype, shape, buffers[offset : offset + size])
            offset += size
        elif "data" in spec:
            array = from_json(name, datatype, shape, spec["data"])
        else:
            raise InvalidArgument(f"input {name!r} has neither 'data' nor binary data", field=name)
        inputs.append((name, array))
    params = header.get("parameters") or {}
    params = params if type(params) is dict else {}
    requested = header.get("outputs")
    outputs = None
    if type(requested) is list:
        outputs = {}
        for spec in requested:
            if type(spec) is dict and isinstance(spec.get("name"), str):
                out_params = spec.get("parameters") or {}
                binary = out_params.get("binary_data") if type(out_params) is dict else None
                outputs[spec["name"]] = bool(binary)
    binary_default = bool(params.get("binary_data_output", False))
    model_params = {k: v for k, v in params.items() if k not in _RESERVED}
    return InferRequest(inputs, outputs, binary_default, header.get("id"), model_params)


def decode(request: InferRequest, codec: InputCodec, signature: Signature | None) -> Item:
    """The variant's model input from a parsed request's tensors.

    Request parameters reach the model only when its signature declares params.
    """
    schema = codec.schema
    params = request.params if signature is not None and signature.params else None
    inputs = request.inputs
    if schema is None or schema.is_tensor:
        if len(inputs) == 1 and (schema is None or schema.tensors[0].name is None):
            return codec.enforce(inputs[0][1], params)
        return codec.enforce(dict(inputs), params)
    if len(inputs) == 1 and inputs[0][1].ndim == 2 and inputs[0][0] not in (codec.names or ()):
        name, array = inputs[0]
        width = len(schema.columns)
        if array.shape[1] != width:
            raise InvalidArgument(
                f"input {name!r}: one tensor of the model's {width} columns has shape "
                f"[rows, {width}], got {list(array.shape)}",
                field=name,
            )
        fast = codec.array(array, name) if not params else None
        return fast if fast is not None else codec.enforce(array, params)
    _name_columns(inputs, schema)
    return codec.enforce(_columns(inputs, schema), params)


def _name_columns(inputs: list[tuple[str, np.ndarray[Any, Any]]], schema: Schema) -> None:
    """Refuse, naming the input, tensors that are not the signature's columns when a column
    it needs is missing: a misnamed input, or a row sent as a [columns] tensor."""
    names = [c.name for c in schema.columns]
    given = {name for name, _ in inputs}
    missing = [c.name for c in schema.columns if c.required and c.name not in given]
    strangers = [name for name, _ in inputs if name not in names]
    if missing and strangers:
        width = len(names)
        raise InvalidArgument(
            f"input {strangers[0]!r} is not a column of the model's signature "
            f"({', '.join(str(n) for n in names)}): send one tensor of shape [rows, {width}], "
            "or one tensor per column, named as the signature names it",
            field=strangers[0],
        )


def _columns(inputs: list[tuple[str, np.ndarray[Any, Any]]], schema: Schema) -> pd.DataFrame:
    binary = {c.name for c in schema.columns if c.type == "binary"}
    columns: dict[str, Any] = {}
    for name, tensor in inputs:
        column = tensor[:, 0] if tensor.ndim == 2 and tensor.shape[1] == 1 else tensor
        if column.ndim != 1:
            raise InvalidArgument(
                f"input {name!r}: a column tensor has shape [rows] or [rows, 1], got "
                f"{list(tensor.shape)}",
                field=name,
            )
        if column.dtype == object and name not in binary:
            column = np.array([v.decode() if isinstance(v, bytes) else v for v in column], object)
        columns[name] = column
    try:
        return pd.DataFrame(columns)
    except ValueError as exc:  # columns of different lengths
        raise InvalidArgument(f"the input tensors do not line up as columns: {exc}") from exc


def outputs_of(predictions: Any, default_name: str) -> list[tuple[str, np.ndarray[Any, Any]]]:
    """Named output arrays of a prediction (one per column or key, else one)."""
    if isinstance(predictions, pd.DataFrame):
        return [(str(c), predictions[c].to_numpy()) for c in predictions.columns]
    if isinstance(predictions, Mapping):
        return [(str(k), np.asarray(v)) for k, v in predictions.items()]
    if isinstance(predictions, pd.Series):
        return [(str(predictions.name or default_name), predictions.to_numpy())]
    return [(default_name, np.asarray(predictions))]


def encode(
    request: InferRequest, model_name: str, variant: str, predictions: Any, default_name: str
) -> tuple[bytes, bytes | None]:
    """The response body, and the JSON header's length when binary buffers follow it.

    Raises:
        InvalidArgument: The client asked for an output the model does not produce.
    """
    produced = outputs_of(predictions, default_name)
    wanted = request.outputs
    if wanted is not None:
        names = {name for name, _ in produced}
        unknown = sorted(set(wanted) - names)
        if unknown:
            raise InvalidArgument(
                f"unknown output {unknown[0]!r} (this model produces {', '.join(sorted(names))})",
                field="outputs",
            )
        produced = [(name, array) for name, array in produced if name in wanted]
    outputs = []
    buffers = []
    for name, array in produced:
        tensor: dict[str, Any] = {
            "name": name,
            "datatype": datatype_of(array.dtype),
            "shape": list(array.shape),
        }
        binary = wanted[name] if wanted is not None else request.binary_default
        if binary:
            raw = to_binary(array)
            tensor["parameters"] = {"binary_data_size": len(raw)}
            buffers.append(raw)
        else:
            tensor["data"] = to_json_data(array)
        outputs.append(tensor)
    response: dict[str, Any] = {"model_name": model_name, "model_version": variant}
    if request.id is not None:
        response["id"] = request.id
    response["outputs"] = outputs
    header = orjson.dumps(response, option=_NUMPY)
    if not buffers:
        return header, None
    return header + b"".join(buffers), b"%d" % len(header)


_COLUMN_DATATYPES = {name: datatype_of(dtype) for name, dtype in COLUMN_DTYPES.items()}


def _schema_tensors(schema: Schema | None, codec: InputCodec | None, fallback: str) -> list[Any]:
    if schema is None:
        return []
    if codec is not None and codec.fast_dtype is not None:
        return [
            {
                "name": _MATRIX_INPUT,
                "datatype": datatype_of(codec.fast_dtype),
                "shape": [-1, codec.width],
            }
        ]
    if schema.is_tensor:
        return [
            {
                "name": t.name or fallback,
                "datatype": datatype_of(np.dtype(t.dtype)),
                "shape": list(t.shape),
            }
            for t in schema.tensors
        ]
    return [
        {
            "name": c.name or str(i),
            "datatype": _COLUMN_DATATYPES.get(c.type, "BYTES"),
            "shape": [-1],
        }
        for i, c in enumerate(schema.columns)
    ]


def default_output_name(signature: Signature | None) -> str:
    """The name a plain array prediction is returned under."""
    outputs = signature.outputs if signature is not None else None
    specs = (outputs.tensors or outputs.columns) if outputs is not None else ()
    if len(specs) == 1 and specs[0].name:
        return str(specs[0].name)
    return _DEFAULT_OUTPUT


def model_metadata(
    name: str, versions: list[str], platform: str, codec: InputCodec, signature: Signature | None
) -> dict[str, Any]:
    """``GET /v2/models/{name}``: inputs and outputs as the signature declares them."""
    outputs = signature.outputs if signature is not None else None
    return {
        "name": name,
        "versions": versions,
        "platform": platform,
        "inputs": _schema_tensors(codec.schema, codec, _MATRIX_INPUT),
        "outputs": _schema_tensors(outputs, None, default_output_name(signature)),
    }


def not_found(name: str, known: list[str]) -> NotFound:
    """The 404 for an unknown model name."""
    return NotFound(
        f"no model {name!r} on this endpoint (models: {', '.join(known)})", field="model"
    )


def no_version(name: str, version: str, versions: list[str]) -> NotFound:
    """The 404 for an unknown version of a known model: the endpoint's versions are its
    variants, a variant's only version is its own name."""
    if versions == [name]:
        said = f"a variant's only version is its own name ({name})"
    else:
        said = f"its versions are the endpoint's variants ({', '.join(versions)})"
    return NotFound(
        f"model {name!r} has no version {version!r} on this endpoint: {said}", field="version"
    )
