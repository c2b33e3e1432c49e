"""Decoded requests as batchable :class:`Item` objects, typed by the variant's signature.

Protocol modules parse the wire format (JSON envelopes, CSV, JSON Lines, OIP tensors); this module
turns what they parsed into the model's input under the signature's cast rule
(:mod:`dockyard.models._signature`), with one fast path and one general path:

* **Fast path.** When every column of the signature is required, named and of one numeric type
  (``double``, ``float``, ``long`` or ``integer``), rows of plain JSON numbers become one ndarray
  directly: no DataFrame, no pandas inference. It accepts exactly what the cast rule accepts
  (ints and floats for float columns, ints for integer columns; never booleans or text) and
  gives up, without an error, on anything else, so the general path decides and words the error.
* **General path.** :mod:`dockyard.models._payload` decodes and the signature's
  :class:`~dockyard.models._signature.InputEnforcer` checks and casts, per request, so one bad
  request in a merged batch can never fail its neighbours.

Items of equal :attr:`Item.kind` may be merged into one predict call; ``kind=None`` runs alone
(requests carrying params, named tensors).
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dockyard.errors import InputRejected, InvalidArgument
from dockyard.models import (
    COLUMN_DTYPES,
    InputEnforcer,
    RawRequest,
    Schema,
    TensorSpec,
    cast_tensor,
    decode_csv,
    decode_json,
)

__all__ = ["InputCodec", "Item", "name_missing_value", "raw_request"]

_FAST_TYPES = {"double", "float", "long", "integer"}
# CSV bodies made only of these bytes are plain numbers; anything else (text, NA, blank
# fields handled by the general path) goes through pandas like every other CSV.
_CSV_NUMERIC = re.compile(rb"[0-9eE+\-.,\r\n]*")
#: One CSV field that reads as a number (surrounding spaces allowed, as the parser allows).
_CSV_NUMBER = re.compile(r"\s*[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|inf|infinity)\s*$", re.I)


@dataclass(slots=True, eq=False)
class Item:
    """One request's model input, ready for the batcher.

    Attributes:
        kind: Items of equal kind can be concatenated row-wise; ``None`` never merges.
        data: An ndarray (fast path, tensors), an enforced DataFrame, or anything the model's
            ``predict`` takes.
        rows: Number of rows, for batch sizes and splitting results back.
        params: Inference params (such items have ``kind=None``).
        future: Set by the batcher; resolves to this item's share of the predictions.
    """

    kind: Hashable | None
    data: Any
    rows: int
    params: dict[str, Any] | None = None
    future: asyncio.Future[Any] | None = field(default=None, repr=False)


class InputCodec:
    """Signature-aware conversion of parsed request data, prepared once per loaded model."""

    def __init__(self, schema: Schema | None) -> None:
        self.schema = schema
        self.enforcer = InputEnforcer(schema)
        columns = schema.columns if schema is not None else ()
        self.names: list[str] | None = (
            [str(c.name) for c in columns]
            if columns and all(c.name is not None for c in columns)
            else None
        )
        self.fast_dtype: np.dtype[Any] | None = None
        if (
            self.names is not None
            and all(c.required for c in columns)
            and len({c.type for c in columns}) == 1
            and columns[0].type in _FAST_TYPES
        ):
            self.fast_dtype = COLUMN_DTYPES[columns[0].type]
            self.width = len(columns)
            self._fast_spec = TensorSpec(dtype=self.fast_dtype.name, shape=(-1, self.width))
            self._allowed: frozenset[type] = (
                frozenset({float, int}) if self.fast_dtype.kind == "f" else frozenset({int})
            )
            self._fast_kind: Hashable = ("rows", self.fast_dtype.str, self.width)
            self._csv_header = ",".join(self.names).encode()

    # -- fast path ---------------------------------------------------------------------------

    def rows(self, data: Any, params: dict[str, Any] | None = None) -> Item | None:
        """Rows of JSON numbers as one ndarray, or ``None`` when the general path must decide."""
        if self.fast_dtype is None or type(data) is not list or not data:
            return None
        try:
            types = {type(v) for row in data for v in row}
        except TypeError:  # a row that is not a list
            return None
        if not types <= self._allowed:
            return None
        try:
            array = np.array(data, dtype=self.fast_dtype)
        except (ValueError, TypeError, OverflowError):  # ragged rows, ints beyond the dtype
            return None
        if array.ndim != 2 or array.shape[1] != self.width:
            return None
        return self._item(array, params)

    def records(self, data: Any, params: dict[str, Any] | None = None) -> Item | None:
        """Records (one object per row) as rows in signature order; extra keys are dropped."""
        if self.fast_dtype is None or self.names is None or type(data) is not list or not data:
            return None
        names = self.names
        try:
            rows = [[record[name] for name in names] for record in data]
        except (KeyError, TypeError):  # a missing column or a record that is not an object
            return None
        return self.rows(rows, params)

    def array(self, array: np.ndarray[Any, Any], field: str) -> Item | None:
        """A 2-D tensor whose columns are the signature's columns, cast by the tensor rule."""
        if self.fast_dtype is None or array.ndim != 2 or array.shape[1] != self.width:
            return None
        if array.dtype.kind not in "biuf":
            return None
        return self._item(cast_tensor(array, self._fast_spec, field), None)

    def csv(self, body: bytes) -> Item | None:
        """A CSV body of plain numbers, headerless unless its first line is exactly the
        signature's column names."""
        if self.fast_dtype is None or self.fast_dtype.kind != "f":
            return None
        end = body.find(b"\n")
        if body[: end if end >= 0 else len(body)].rstrip(b"\r") == self._csv_header:
            body = body[end + 1 :] if end >= 0 else b""  # the signature's own names: a header
        if _CSV_NUMERIC.fullmatch(body) is None:
            return None
        lines = body.decode("ascii").splitlines()
        if not lines or "" in lines:  # a blank line is a row of missing values: general path
            return None
        try:
            array = np.array([line.split(",") for line in lines], dtype=self.fast_dtype)
        except ValueError:  # empty fields, ragged rows, "1e", "-"
            return None
        if array.ndim != 2 or array.shape[1] != self.width:
            return None
        return self._item(array, None)

    def _item(self, array: np.ndarray[Any, Any], params: dict[str, Any] | None) -> Item:
        kind = self._fast_kind if not params else None
        return Item(kind, array, len(array), params or None)

    # -- general path ------------------------------------------------------------------------

    def json(self, body: Any) -> Item:
        """Any JSON shape :func:`~dockyard.models._payload.decode_json` accepts (parsed)."""
        data, params = decode_json(body, self.schema)
        return self.enforce(data, params)

    def csv_general(self, body: bytes) -> Item:
        """Any CSV body :func:`~dockyard.models._payload.decode_csv` accepts; a value of the
        wrong type is named by its line of the body, as batch transform names it."""
        data = decode_csv(body, self.schema)
        try:
            return self.enforce(data, None)
        except InvalidArgument as exc:
            raise _at_csv_line(exc, data, body) from None

    def enforce(self, data: Any, params: Mapping[str, Any] | None) -> Item:
        """Check and cast ``data`` against the signature now, so a batch never fails for it."""
        enforced = self.enforcer(data)
        params = dict(params) if params else None
        if isinstance(enforced, pd.DataFrame):
            kind: Hashable | None = ("frame", tuple(enforced.columns)) if not params else None
            return Item(kind, enforced, len(enforced), params)
        if isinstance(enforced, np.ndarray) and enforced.ndim >= 1:
            kind = ("tensor", enforced.dtype.str, enforced.shape[1:]) if not params else None
            return Item(kind, enforced, len(enforced), params)
        rows = _rows_of(enforced)
        return Item(None, enforced, rows, params)


#: Credentials are the endpoint's business, not the model's: its code never sees them.
_CREDENTIALS = frozenset({b"authorization", b"x-api-key", b"x-amz-security-token", b"cookie"})


def raw_request(body: bytes, raw: list[tuple[bytes, bytes]]) -> RawRequest:
    """A request for a model that reads bodies itself (inference handlers), with its headers
    but the caller's credentials."""
    headers = {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in raw
        if name not in _CREDENTIALS
    }
    return RawRequest(body, headers.get("content-type"), headers.get("accept"), headers)


def _rows_of(data: Any) -> int:
    if isinstance(data, Mapping):
        lengths = [len(v) for v in data.values() if hasattr(v, "__len__")]
        return max(lengths, default=1)
    try:
        return len(data)
    except TypeError:
        return 1


def _at_csv_line(error: InvalidArgument, data: Any, body: bytes) -> InvalidArgument:
    """``error`` (a column holding text where the signature wants numbers) with the line and
    value of the body that holds the first such text; ``error`` itself when that is not it.

    Rows are the body's lines when nothing is quoted (a quoted field may span lines): then
    the header, if the body has one, counts as line 1, as in the errors for short rows."""
    column = error.details.get("column")
    if error.details.get("received") != "string" or not isinstance(data, pd.DataFrame):
        return error
    if error.details.get("expected") not in _FAST_TYPES:  # numbers only: 'not a number'
        return error
    if column not in data.columns or b'"' in body:
        return error
    values = data[column]
    # One text in a column makes the parser keep the whole column as text: find the first
    # that no number reads as.
    row = next(
        (i for i, v in enumerate(values) if isinstance(v, str) and not _CSV_NUMBER.match(v)),
        None,
    )
    if row is None:
        return error
    first = body.removeprefix(b"\xef\xbb\xbf").split(b"\n", 1)[0].rstrip(b"\r")
    header = first.decode("utf-8", "replace").split(",")
    line = row + 1 + (header == [str(c) for c in data.columns])
    value = str(values.iloc[row])
    return InvalidArgument(
        f"line {line} of the CSV body: column {column!r}: {value[:100]!r} is not a number "
        f"(expected {error.details.get('expected')})",
        field=error.field,
        details={**error.details, "line": line},
    )


def parse_error(what: str, exc: Exception) -> InvalidArgument:
    """The 400 for a body that does not parse."""
    return InvalidArgument(f"the request body is not valid {what}: {exc}")


def name_missing_value(
    error: InputRejected, item: Item, csv_body: bytes | None, names: list[str] | None
) -> InputRejected:
    """The model's refusal of an input that holds a missing value, saying where it is.

    An empty CSV field or a JSON ``null`` reaches the model as NaN, which some models score
    (XGBoost, LightGBM) and others raise on (most scikit-learn estimators), so it is the
    model's to refuse; the caller still needs to know which line and field held it. For CSV
    that is the body's own line and field (the header counts as a line, as in the errors for
    short rows); otherwise the row and column of the decoded input. ``error`` comes back as
    it is when no missing value is found.
    """
    found = _empty_csv_field(csv_body, names) if csv_body is not None else None
    if found is None:
        found = _missing_cell(item.data)
    if found is None:
        return error
    where, details = found
    return InputRejected(
        f"{where} (a missing value); {error.message}", details={**error.details, **details}
    )


def _empty_csv_field(body: bytes, names: list[str] | None) -> tuple[str, dict[str, Any]] | None:
    try:
        text = body.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        return None
    reader = csv.reader(io.StringIO(text))
    try:
        for row in reader:
            line = reader.line_num
            if not row or row == [""]:
                return f"line {line} of the CSV body is blank", {"line": line}
            if "" in row:
                field = row.index("") + 1
                named = (
                    f" ({names[field - 1]})" if names is not None and len(row) == len(names) else ""
                )
                where = f"line {line}, field {field}{named} of the CSV body is empty"
                return where, {"line": line, "field": field}
    except csv.Error:
        return None
    return None


def _missing_cell(data: Any) -> tuple[str, dict[str, Any]] | None:
    if isinstance(data, pd.DataFrame):
        mask = data.isna().to_numpy()
        columns = [str(c) for c in data.columns]
    elif isinstance(data, np.ndarray) and data.ndim in (1, 2) and data.dtype.kind in "fcO":
        mask = pd.isna(data.reshape(len(data), -1))
        columns = None
    else:
        return None
    cells = np.argwhere(mask)
    if not len(cells):
        return None
    row, column = (int(i) for i in cells[0])
    name = columns[column] if columns is not None else str(column + 1)
    where = f"row {row + 1}, column {name} of the input is null or NaN"
    return where, {"row": row + 1, "column": name}
