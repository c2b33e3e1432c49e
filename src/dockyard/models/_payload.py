"""Request bodies (JSON, CSV) to model inputs, and predictions back to JSON or CSV.

Both decoders only *parse*; typing is left to the signature's cast rule (see
:mod:`._signature`), which is why CSV and JSON give the same result for the same values.

JSON bodies follow MLflow's scoring server and SageMaker's conventions::

    {"dataframe_split": {"columns": [...], "data": [[...], ...]}}
    {"dataframe_records": [{...}, ...]}
    {"instances": [...]} or {"inputs": [...]}   rows, records, columns, or tensors
    [...]  or  {...}                            the same without the envelope

with an optional top-level ``"params"`` object. ``binary`` columns travel as base64 text.

CSV bodies have one row per line and no header, as SageMaker sends them: columns are
positional. The one exception is a first line *exactly* equal to the column names the signature
declares, which is a header (what ``DataFrame.to_csv`` writes). A model without a signature, or
whose columns are unnamed, never has its first line taken as a header: guessing would silently
drop a row of data (two rows would give one prediction, one row none). Only an empty field (or a
blank line: a row of empty fields) is a missing value; ``NA`` in a string column stays text, as
it would in JSON. ``true``/``false`` are booleans; columns declared ``string`` are read as text.
A model taking one tensor with fixed axes after the batch (an image, ``[-1, 1, 28, 28]``) takes
one flattened tensor per CSV row, in row-major order, as SageMaker's CSV convention sends them.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from dockyard.errors import InvalidArgument
from dockyard.models._schema import Schema

if TYPE_CHECKING:
    import pandas as pd
else:
    from dockyard.lazy import pandas as pd

__all__ = ["decode_csv", "decode_json", "encode_csv", "encode_json", "to_jsonable"]

_TEXT_TYPES = frozenset({"string", "binary", "datetime"})
#: MLflow's scoring envelopes: a request carries one.
_ENVELOPES = ("dataframe_split", "dataframe_records", "instances", "inputs")


def decode_json(
    body: bytes | str | Any, schema: Schema | None
) -> tuple[Any, dict[str, Any] | None]:
    """Parse a JSON request into (model input, params)."""
    if isinstance(body, (bytes, str)):
        try:
            body = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InvalidArgument(f"the request body is not valid JSON: {exc}") from exc
    params = None
    if isinstance(body, Mapping):
        given = [key for key in _ENVELOPES if key in body]
        if len(given) > 1:  # MLflow refuses it too: one would be scored, the other dropped
            raise InvalidArgument(
                f"the request names {' and '.join(given)}: send exactly one of "
                f"{', '.join(_ENVELOPES)}",
                field=given[1],
            )
        params = body.get("params")
        if params is not None and not isinstance(params, Mapping):
            raise InvalidArgument("'params' must be a JSON object", field="params")
        if "dataframe_split" in body:
            data: Any = _split(body["dataframe_split"])
        elif "dataframe_records" in body:
            data = _records(body["dataframe_records"], "dataframe_records")
        elif "instances" in body or "inputs" in body:
            key = "instances" if "instances" in body else "inputs"
            data = _instances(body[key], schema, key)
        else:
            data = {k: v for k, v in body.items() if k != "params"}
    elif isinstance(body, list):
        data = _instances(body, schema, "body")
    else:
        raise InvalidArgument("a JSON request must be an object or a list")
    return _binary_columns(data, schema), dict(params) if params else None


def _split(split: Any) -> pd.DataFrame:
    if not isinstance(split, Mapping) or not isinstance(split.get("data"), list):
        raise InvalidArgument(
            "dataframe_split needs {'columns': [...], 'data': [[...]]}", field="dataframe_split"
        )
    columns, rows = split.get("columns"), split["data"]
    width = len(columns) if isinstance(columns, list) else None
    for i, row in enumerate(rows):
        if width is None and isinstance(row, list):
            width = len(row)  # no columns: every row as wide as the first
        if isinstance(row, list) and len(row) != width:
            # Never padded with missing values, which a model that scores them would score.
            raise InvalidArgument(
                f"dataframe_split: data[{i}] has {len(row)} value{'s' if len(row) != 1 else ''}"
                f"; every row needs {width}, one per column",
                field="dataframe_split",
                details={"row": i, "values": len(row), "expected": width},
            )
    try:
        return pd.DataFrame(rows, columns=columns)
    except (ValueError, TypeError) as exc:
        raise InvalidArgument(f"dataframe_split: {exc}", field="dataframe_split") from exc


def _records(records: Any, field: str) -> pd.DataFrame:
    if not isinstance(records, list) or not all(isinstance(r, Mapping) for r in records):
        raise InvalidArgument(f"{field} must be a list of objects", field=field)
    return pd.DataFrame(records)


def _instances(data: Any, schema: Schema | None, field: str) -> Any:
    if schema is not None and schema.is_tensor:
        try:
            if isinstance(data, Mapping):
                return {str(k): np.asarray(v) for k, v in data.items()}
            return np.asarray(data)
        except (ValueError, TypeError) as exc:  # ragged nesting: no tensor has that shape
            raise InvalidArgument(
                f"{field}: the values do not form a tensor ({_ragged(data, field) or exc})",
                field=field,
            ) from exc
    if isinstance(data, list) and data and all(isinstance(r, Mapping) for r in data):
        return _records(data, field)
    return data  # rows or columns: the enforcer maps them onto the signature's columns


def _ragged(data: Any, field: str, at: str = "") -> str:
    """The first place where ``data``'s nested lists differ in length (``inputs[1] has 2
    values; inputs[0] has 3``); empty when they do not."""
    if not isinstance(data, list) or not data or not all(isinstance(r, list) for r in data):
        return ""
    here = f"{field}{at}"
    for i, row in enumerate(data):
        if len(row) != len(data[0]):
            return f"{here}[{i}] has {len(row)} values; {here}[0] has {len(data[0])}"
    for i, row in enumerate(data):
        found = _ragged(row, field, f"{at}[{i}]")
        if found:
            return found
    return ""


def _binary_columns(data: Any, schema: Schema | None) -> Any:
    if schema is None or not isinstance(data, pd.DataFrame):
        return data
    for spec in schema.columns:
        if spec.type == "binary" and spec.name in data.columns:
            column = data[spec.name]
            try:
                data[spec.name] = [
                    base64.b64decode(v, validate=True) if isinstance(v, str) else v for v in column
                ]
            except (binascii.Error, ValueError) as exc:
                raise InvalidArgument(
                    f"column {spec.name!r}: binary values must be base64 text", field=spec.name
                ) from exc
    return data


def decode_csv(body: bytes, schema: Schema | None) -> Any:
    """Parse a CSV request (see the module docstring for header and missing-value rules)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidArgument(f"the CSV body is not UTF-8: {exc}") from exc
    text = text.removeprefix("\ufeff")  # a byte order mark (Excel's "CSV UTF-8") is no data
    if not text.strip():
        raise InvalidArgument("the CSV body is empty")
    # A blank line is a row of empty fields, so a one-column body can carry missing values.
    options: dict[str, Any] = {
        "keep_default_na": False,
        "na_values": [""],
        "skip_blank_lines": False,
    }
    if schema is not None and schema.is_tensor:
        _same_width(text, None)
        return _unflatten(_read_csv(text, header=None, **options).to_numpy(), schema)
    names = [c.name for c in schema.columns] if schema is not None else []
    first = next(csv.reader(io.StringIO(text)), [])
    _same_width(text, names if names and None not in names else None)
    if not names or None in names:
        frame = _read_csv(text, header=None, **options)
    else:
        text_columns = (
            {c.name: str for c in schema.columns if c.type in _TEXT_TYPES} if schema else {}
        )
        if first == names:
            frame = _read_csv(text, header=0, dtype=text_columns, **options)
        elif len(first) == len(names):
            frame = _read_csv(text, header=None, names=names, dtype=text_columns, **options)
        else:
            raise InvalidArgument(
                f"CSV rows have {len(first)} fields; this model takes {len(names)} columns "
                f"({', '.join(str(n) for n in names)})"
            )
    return _binary_columns(frame, schema)


def _unquoted_widths(text: str) -> np.ndarray[Any, np.dtype[np.intp]]:
    """Each line's field count (0 for a blank line) when no field is quoted: its commas and
    one, counted with numpy (a tenth of the time the csv module takes over a large body)."""
    data = np.frombuffer(text.encode(), dtype=np.uint8)
    ends = np.flatnonzero(data == ord("\n"))
    if not len(ends) or ends[-1] != len(data) - 1:
        ends = np.append(ends, len(data))
    starts = np.concatenate(([0], ends[:-1] + 1))
    commas = np.flatnonzero(data == ord(","))
    counts = np.searchsorted(commas, ends) - np.searchsorted(commas, starts) + 1
    lengths = ends - starts
    last = max(len(data) - 1, 0)
    blank = (lengths == 0) | ((lengths == 1) & (data[np.minimum(starts, last)] == ord("\r")))
    counts[blank] = 0
    return counts


def _rows_agree(text: str) -> bool:
    """Whether an unquoted body without blank lines has as many commas as its rows would at
    the first row's width: string scans at C speed, and enough. Rows of other widths then
    come in pairs, and pandas refuses a row longer than the first itself; only a shorter one
    (filled with missing values) needs naming, by the full scan."""
    if text.startswith(("\n", "\r\n")) or "\n\n" in text or "\n\r\n" in text:
        return False
    width = text[: text.find("\n")].count(",") + 1 if "\n" in text else text.count(",") + 1
    rows = text.count("\n") + (0 if text.endswith("\n") else 1)
    return text.count(",") == (width - 1) * rows


def _csv_widths(text: str) -> list[int]:
    """Each row's field count (0 for a blank line) by the csv module, with quotes; [] when a
    field is past its limit (the body's own parse then says what is wrong)."""
    try:
        return [len(row) for row in csv.reader(io.StringIO(text))]
    except csv.Error:
        return []


def _same_width(text: str, names: list[str | None] | None) -> None:
    """Refuse a row whose field count is not the first row's (pandas would fill a short row
    with missing values, which a model then scores or fails on), naming its row. Blank lines
    are rows of missing values, as the module docstring says. A first row of the wrong width
    for ``names`` is left to the caller, which names the columns."""
    if '"' not in text and _rows_agree(text):
        return
    widths = np.asarray(_csv_widths(text) if '"' in text else _unquoted_widths(text))
    filled = np.flatnonzero(widths)
    if not len(filled):
        return
    width = int(widths[filled[0]])
    if names is not None and width != len(names):
        return
    wrong = filled[widths[filled] != width]
    if not len(wrong):
        return
    row, fields = int(wrong[0]) + 1, int(widths[wrong[0]])
    wanted = (
        f"this model takes {width} columns ({', '.join(str(n) for n in names)})"
        if names is not None
        else f"the first row has {width}"
    )
    # Unquoted, a row is a line; with quotes a field may span lines, and rows are counted.
    where = "line" if '"' not in text else "row"
    raise InvalidArgument(
        f"{where} {row} of the CSV body has {fields} field{'s' if fields != 1 else ''}; {wanted}",
        details={where: row, "fields": fields, "expected": width},
    )


def _unflatten(rows: np.ndarray[Any, Any], schema: Schema) -> np.ndarray[Any, Any]:
    """Flat CSV rows as the one input tensor's shape, when its axes after the first are fixed."""
    if len(schema.tensors) != 1:
        return rows
    trailing = schema.tensors[0].shape[1:]
    if len(trailing) < 2 or any(size < 1 for size in trailing):
        return rows  # rows already have the tensor's shape, or a free axis leaves it unknown
    if rows.ndim == 2 and rows.shape[1] == math.prod(trailing):
        return rows.reshape(-1, *trailing)
    return rows  # the signature's check names the shape it expected


def _read_csv(text: str, **options: Any) -> pd.DataFrame:
    try:
        frame: pd.DataFrame = pd.read_csv(io.StringIO(text), **options)
        return frame
    except (ValueError, pd.errors.ParserError) as exc:
        raise InvalidArgument(f"the CSV body cannot be parsed: {exc}") from exc


def to_jsonable(value: Any) -> Any:
    """Predictions as plain JSON values (NaN and NaT become null)."""
    if isinstance(value, pd.DataFrame):
        return [
            {str(k): _scalar(v) for k, v in row.items()} for row in value.to_dict(orient="records")
        ]
    if isinstance(value, pd.Series):
        return [_scalar(v) for v in value.tolist()]
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f" and np.isnan(value).any():
            value = value.astype(object)
            value[pd.isna(value)] = None
        return [to_jsonable(v) for v in value] if value.dtype == object else value.tolist()
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return _scalar(value)


def _scalar(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NaT:
        return None
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def encode_json(predictions: Any) -> bytes:
    """The JSON response body: ``{"predictions": ...}`` (MLflow's scoring-server shape)."""
    return json.dumps({"predictions": to_jsonable(predictions)}, allow_nan=False).encode()


def encode_csv(predictions: Any) -> bytes:
    """The CSV response body: one line per prediction, no header."""
    if isinstance(predictions, Mapping):
        predictions = pd.DataFrame({k: list(np.asarray(v)) for k, v in predictions.items()})
    if not isinstance(predictions, pd.DataFrame):
        array = np.asarray(predictions)
        predictions = pd.DataFrame(array.reshape(len(array), -1) if array.ndim else [[array]])
    text: str = predictions.to_csv(header=False, index=False)
    return text.encode()
