"""SageMaker's inference contract: ``GET /ping`` and ``POST /invocations`` by content type.

``text/csv`` (one row per line, optional header), ``application/json`` (any shape MLflow's scoring
protocol reads, see :mod:`._mlflow`), ``application/jsonlines`` (one row or record per line) and
``application/x-npy`` (one array in NumPy's file format: a row, or rows; what the SageMaker
SDK's ``NumpySerializer`` sends) come in; the ``Accept`` header picks JSON, CSV, JSON Lines or
NPY out, the request's own format when it names none (see :mod:`._outputs`).
"""

from __future__ import annotations

import io
from typing import cast

import numpy as np
import orjson

from dockyard.errors import InvalidArgument
from dockyard.runtime.serving import _mlflow
from dockyard.runtime.serving._http import UnsupportedMediaType
from dockyard.runtime.serving._inputs import InputCodec, Item, parse_error
from dockyard.runtime.serving._outputs import Format, parse_content_type

__all__ = ["decode", "parse"]

_JSON_KINDS = {str: "a string", int: "a number", float: "a number", bool: "a boolean"}


def parse(body: bytes, content_type: bytes | None) -> tuple[Format, object]:
    """Parse the body once for every variant that will read it (production and shadow).

    Returns:
        The format and, for JSON, the parsed value (else the body itself).

    Raises:
        UnsupportedMediaType: A Content-Type other than JSON, CSV or JSON Lines.
        InvalidArgument: JSON that does not parse.
    """
    fmt = parse_content_type(content_type)
    if fmt is None:
        shown = (content_type or b"").decode("latin-1")
        raise UnsupportedMediaType(
            f"content type {shown!r} is not one this endpoint reads: send application/json, "
            "text/csv, application/jsonlines or application/x-npy"
        )
    if fmt == "json":
        try:
            value = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise parse_error("JSON", exc) from None
        if type(value) is not dict and type(value) is not list:
            # (A JSON string would otherwise be read as a JSON text again, and misreported.)
            shown = _JSON_KINDS.get(type(value), "null")
            raise InvalidArgument(f"a JSON request must be an object or a list, not {shown}")
        return fmt, value
    if fmt == "npy":
        return fmt, _npy_rows(body)
    return fmt, body


def decode(fmt: Format, parsed: object, codec: InputCodec) -> Item:
    """The variant's model input from what :func:`parse` returned.

    Raises:
        InvalidArgument: The input breaks the format or the signature, naming the problem.
    """
    if fmt in ("json", "npy"):  # (NPY: its rows, as JSON's lists)
        return _mlflow.decode(parsed, codec)
    body = cast(bytes, parsed)  # parse() returns the body itself for CSV and JSON Lines
    if fmt == "csv":
        return codec.csv(body) or codec.csv_general(body)
    return _mlflow.decode(_json_lines(body), codec)


def _npy_rows(body: bytes) -> list[object]:
    """The rows of an ``.npy`` body (a 1-D array is one row), as lists of numbers or strings.
    Its header is checked against the body's size before anything is allocated."""
    stream = io.BytesIO(body)
    try:
        major, _ = np.lib.format.read_magic(stream)
        read_header = (
            np.lib.format.read_array_header_1_0
            if major == 1
            else np.lib.format.read_array_header_2_0
        )
        shape, _, dtype = read_header(stream)
    except (ValueError, OSError, EOFError) as exc:
        raise InvalidArgument(f"the application/x-npy body is not one NumPy array: {exc}") from None
    if dtype.kind not in "biufU":
        raise InvalidArgument("the application/x-npy body must hold numbers or strings")
    size = dtype.itemsize
    for extent in shape:
        size *= extent
    if size != len(body) - stream.tell():
        raise InvalidArgument(
            f"the application/x-npy body's header says {shape} of {dtype}, {size} bytes, but "
            f"{len(body) - stream.tell()} follow it"
        )
    try:
        array = np.load(io.BytesIO(body), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise InvalidArgument(f"the application/x-npy body is not one NumPy array: {exc}") from None
    if array.ndim == 1:
        array = array.reshape(1, -1)
    if array.ndim != 2:
        raise InvalidArgument(
            f"the application/x-npy body is a {array.ndim}-dimensional array: send one row "
            "(1-D) or rows (2-D)"
        )
    rows: list[object] = array.tolist()
    return rows


def _json_lines(body: bytes) -> list[object]:
    values: list[object] = []
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            values.append(orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            raise InvalidArgument(
                f"line {number} of the JSON Lines body is not valid JSON: {exc}"
            ) from None
    if not values:
        raise InvalidArgument("the JSON Lines body has no rows")
    if not (all(type(v) is list for v in values) or all(type(v) is dict for v in values)):
        raise InvalidArgument(
            "every line of a JSON Lines body must be a row (a JSON list) or every line a record "
            "(a JSON object)"
        )
    return values
