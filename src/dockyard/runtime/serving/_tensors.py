"""Open Inference Protocol tensors: JSON and binary-extension data to ndarrays, and back.

A tensor is ``{"name", "datatype", "shape", "data"}`` with ``data`` in row-major order, flat or
nested. With the binary extension (Triton's, which ``tritonclient`` uses by default) the JSON
header is followed by raw buffers: the header's length is in ``Inference-Header-Content-Length``
and each tensor's ``parameters.binary_data_size`` says how many bytes are its own; ``BYTES``
elements are each a 4-byte little-endian length and the bytes.

JSON data must already have the declared type: ``true`` is not an FP64 and ``1.5`` not an INT64,
the same rule as for JSON columns.
"""

from __future__ import annotations

import math
import struct
from typing import Any

import numpy as np

from dockyard.errors import InvalidArgument

__all__ = [
    "DATATYPES",
    "datatype_of",
    "from_binary",
    "from_json",
    "to_binary",
    "to_json_data",
]

#: OIP datatype -> numpy dtype (BYTES elements are Python str or bytes objects).
DATATYPES: dict[str, np.dtype[Any]] = {
    "BOOL": np.dtype(bool),
    "UINT8": np.dtype(np.uint8),
    "UINT16": np.dtype(np.uint16),
    "UINT32": np.dtype(np.uint32),
    "UINT64": np.dtype(np.uint64),
    "INT8": np.dtype(np.int8),
    "INT16": np.dtype(np.int16),
    "INT32": np.dtype(np.int32),
    "INT64": np.dtype(np.int64),
    "FP16": np.dtype(np.float16),
    "FP32": np.dtype(np.float32),
    "FP64": np.dtype(np.float64),
    "BYTES": np.dtype(object),
}
_NAMES = {dtype: name for name, dtype in DATATYPES.items() if name != "BYTES"}
_JSON_TYPES: dict[str, frozenset[type]] = {
    "b": frozenset({bool}),
    "i": frozenset({int}),
    "u": frozenset({int}),
    "f": frozenset({int, float}),
}
_LENGTH = struct.Struct("<I")


def datatype_of(dtype: np.dtype[Any]) -> str:
    """The OIP datatype of a numpy dtype; text, bytes, objects and datetimes are ``BYTES``."""
    return _NAMES.get(dtype, "BYTES")


def check_shape(name: str, shape: Any) -> tuple[int, ...]:
    """A tensor's declared shape, refused unless a list of non-negative integers."""
    if type(shape) is not list or not all(type(d) is int and d >= 0 for d in shape):
        raise InvalidArgument(
            f"input {name!r}: shape must be a list of non-negative integers, got {shape!r}",
            field=name,
        )
    return tuple(shape)


def check_datatype(name: str, datatype: Any) -> np.dtype[Any]:
    """The numpy dtype of a declared datatype, refused when OIP has no such type."""
    dtype = DATATYPES.get(datatype) if isinstance(datatype, str) else None
    if dtype is None:
        raise InvalidArgument(
            f"input {name!r}: unknown datatype {datatype!r} (use one of {', '.join(DATATYPES)})",
            field=name,
        )
    return dtype


def from_json(name: str, datatype: Any, shape: tuple[int, ...], data: Any) -> np.ndarray[Any, Any]:
    """A tensor from its JSON ``data`` (flat or nested), checked against datatype and shape."""
    dtype = check_datatype(name, datatype)
    if type(data) is not list:
        data = [data]
    if data and type(data[0]) is list:
        data = _flatten(data)
    count = math.prod(shape)
    if len(data) != count:
        raise InvalidArgument(
            f"input {name!r}: shape {list(shape)} holds {count} values, data has {len(data)}",
            field=name,
        )
    if dtype.kind == "O":
        if not all(isinstance(v, str) for v in data):
            raise InvalidArgument(f"input {name!r}: BYTES data must be strings", field=name)
        array = np.empty(count, dtype=object)
        array[:] = data
        return array.reshape(shape)
    allowed = _JSON_TYPES[dtype.kind]
    received = set(map(type, data))
    if not received <= allowed:
        wrong = sorted(t.__name__ for t in received - allowed)
        raise InvalidArgument(
            f"input {name!r}: {datatype} data cannot hold {', '.join(wrong)} values",
            field=name,
            details={"expected": datatype, "received": wrong},
        )
    try:
        return np.array(data, dtype=dtype).reshape(shape)
    except OverflowError as exc:
        raise InvalidArgument(
            f"input {name!r}: a value is out of {datatype} range", field=name
        ) from exc


def _flatten(nested: list[Any]) -> list[Any]:
    flat: list[Any] = []
    stack = [iter(nested)]
    while stack:
        for value in stack[-1]:
            if type(value) is list:
                stack.append(iter(value))
                break
            flat.append(value)
        else:
            stack.pop()
    return flat


def from_binary(
    name: str, datatype: Any, shape: tuple[int, ...], raw: bytes
) -> np.ndarray[Any, Any]:
    """A tensor from its binary-extension buffer."""
    dtype = check_datatype(name, datatype)
    count = math.prod(shape)
    if dtype.kind != "O":
        if len(raw) != count * dtype.itemsize:
            raise InvalidArgument(
                f"input {name!r}: shape {list(shape)} of {datatype} needs "
                f"{count * dtype.itemsize} bytes, got {len(raw)}",
                field=name,
            )
        return np.frombuffer(raw, dtype=dtype.newbyteorder("<")).reshape(shape)
    values: list[Any] = []
    offset = 0
    while offset < len(raw):
        if offset + 4 > len(raw):
            raise InvalidArgument(f"input {name!r}: truncated BYTES element", field=name)
        (size,) = _LENGTH.unpack_from(raw, offset)
        offset += 4
        element = raw[offset : offset + size]
        if len(element) != size:
            raise InvalidArgument(f"input {name!r}: truncated BYTES element", field=name)
        values.append(_text(element))
        offset += size
    if len(values) != count:
        raise InvalidArgument(
            f"input {name!r}: shape {list(shape)} holds {count} values, data has {len(values)}",
            field=name,
        )
    array = np.empty(count, dtype=object)
    array[:] = values
    return array.reshape(shape)


def _text(element: bytes) -> str | bytes:
    try:
        return element.decode("utf-8")
    except UnicodeDecodeError:
        return element


def bytes_elements(array: np.ndarray[Any, Any]) -> list[bytes]:
    """Each element of a BYTES output as bytes (text as UTF-8, anything else as its text)."""
    out = []
    for value in array.ravel().tolist():
        if isinstance(value, bytes):
            out.append(value)
        else:
            out.append(("" if value is None else str(value)).encode())
    return out


def to_binary(array: np.ndarray[Any, Any]) -> bytes:
    """The binary-extension buffer of an output."""
    if datatype_of(array.dtype) != "BYTES":
        return np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
    return b"".join(_LENGTH.pack(len(e)) + e for e in bytes_elements(array))


def to_json_data(array: np.ndarray[Any, Any]) -> Any:
    """The flat row-major JSON ``data`` of an output (orjson writes numeric arrays itself)."""
    if datatype_of(array.dtype) != "BYTES":
        return np.ascontiguousarray(array).ravel()
    return [e.decode("utf-8", "backslashreplace") for e in bytes_elements(array)]
