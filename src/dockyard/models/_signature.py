"""Signature enforcement at predict time (inference from an example is in ``_infer``).

The cast rule
-------------
Every input is first made a pandas DataFrame (column signatures) or a numpy array (tensor
signatures). JSON goes through pandas' own inference and CSV through ``pandas.read_csv`` (declared
``string`` columns read as text), so the same value gets the same dtype whatever carried it:
``1`` -> integer, ``1.5`` -> float, ``true`` -> boolean, ``null`` or an empty CSV field -> missing,
other text -> string. Each declared column is then checked against what arrived:

============== ========================================================= =========================
declared       accepted (cast applied)                                   refused
============== ========================================================= =========================
double, float  floats; integers (cast to float); missing -> NaN           booleans, text
long, integer  integers that fit the declared width                       floats (even ``2.0``),
                                                                          missing values, booleans
boolean        booleans                                                   numbers, text, missing
string         text; missing                                              numbers, booleans
binary         bytes                                                      anything else
datetime       datetimes of any unit; ISO-8601 text (parsed)              other text, numbers
============== ========================================================= =========================

Neither JSON nor CSV carries a width, so narrowing *within* a kind is allowed (float64 -> float32
always, int64 -> int32 when every value fits). The only change of kind is integer -> float, which
is exact up to 2**53. An integer column with a missing value is refused with a hint to declare it
``double``: integers cannot hold NaN, and silently turning the column into floats would feed the
model a type it never saw. A required column that is absent is refused; an optional one may be
absent. Extra columns are dropped and columns are put in the signature's order. Where the
signature's names are made up (``f0``, ``f1``, ...) or absent, columns are positional: an array,
or a DataFrame with pandas' default column labels (``pd.read_csv(f, header=None)``), maps onto
them in order. Tensors follow the
same rule on their dtype, and their shape must match except on ``-1`` axes.

Every refusal is :class:`~dockyard.errors.InvalidArgument` naming the column and the expected and
received types (``details``: ``column``, ``expected``, ``received``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from dockyard.errors import InvalidArgument
from dockyard.models._schema import (
    COLUMN_DTYPES,
    OPAQUE_TYPES,
    ColSpec,
    ParamSpec,
    Schema,
    TensorSpec,
)

if TYPE_CHECKING:
    import pandas as pd
else:
    from dockyard.lazy import pandas as pd

__all__ = [
    "InputEnforcer",
    "cast_column",
    "cast_tensor",
    "enforce_params",
    "from_tensors",
    "kind_of",
    "to_frame",
]

# What the object-dtype inference of pandas reports, folded into the kinds the rule speaks of.
_OBJECT_KINDS = {
    "string": "string",
    "bytes": "bytes",
    "integer": "int",
    "floating": "float",
    "mixed-integer-float": "float",
    "boolean": "bool",
    "empty": "empty",
    "datetime": "datetime",
    "datetime64": "datetime",
}
_KIND_NAMES = {"int": "long", "float": "double", "bool": "boolean", "bytes": "binary"}
_NUMPY_NAMES = {
    "bool": "boolean",
    "int32": "integer",
    "int64": "long",
    "float32": "float",
    "float64": "double",
}


def kind_of(series: pd.Series[Any]) -> str:
    """What a column holds, in the rule's terms: ``int``, ``float``, ``bool``, ``string``,
    ``bytes``, ``datetime``, ``empty`` (all missing), or pandas' own label for anything else
    (``mixed-integer``, ``category``...)."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if isinstance(dtype, pd.StringDtype):
        return "string"
    if dtype == np.dtype(object):
        inferred = pd.api.types.infer_dtype(series, skipna=True)
        return _OBJECT_KINDS.get(inferred, inferred)
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    return str(dtype)


def _received(series: pd.Series[Any], kind: str) -> str:
    name = _NUMPY_NAMES.get(str(series.dtype))
    return name or _KIND_NAMES.get(kind, kind)


def _refuse(column: str, expected: str, received: str, why: str = "") -> InvalidArgument:
    message = f"column {column!r}: expected {expected}, received {received}"
    return InvalidArgument(
        f"{message}; {why}" if why else message,
        field=column,
        details={"column": column, "expected": expected, "received": received},
    )


def cast_column(series: pd.Series[Any], spec: ColSpec, column: str) -> Any:
    """Apply the cast rule to one column; returns the column unchanged when it already fits."""
    declared = spec.type
    if declared in OPAQUE_TYPES:
        return series
    target = COLUMN_DTYPES[declared]
    if len(series) == 0:
        return np.empty(0, dtype=target)  # no rows: nothing to check, only the dtype to set
    kind = kind_of(series)
    if declared in ("double", "float"):
        if kind in ("float", "int"):
            return series if series.dtype == target else series.to_numpy(target, na_value=np.nan)
        if kind == "empty":
            return np.full(len(series), np.nan, dtype=target)
    elif declared in ("long", "integer"):
        if kind in ("int", "float", "empty") and bool(series.isna().any()):
            raise _refuse(
                column,
                declared,
                f"{_received(series, kind)} with missing values",
                "integer columns cannot hold missing values: declare the column as double",
            )
        if kind == "int":
            return series if series.dtype == target else _narrow_int(series, target, column)
        if kind == "float":
            raise _refuse(
                column, declared, _received(series, kind), "floats are not cast to integers"
            )
    elif declared == "boolean":
        if kind in ("bool", "empty") and bool(series.isna().any()):
            raise _refuse(column, declared, f"{_received(series, kind)} with missing values")
        if kind == "bool":
            return series if series.dtype == target else series.to_numpy(bool)
    elif declared == "string":
        if kind in ("string", "empty"):
            return series
    elif declared == "binary":
        if kind in ("bytes", "empty"):
            return series
    elif declared == "datetime":
        if kind in ("datetime", "empty"):
            return series
        if kind == "string":
            try:
                return pd.to_datetime(series, format="ISO8601")
            except (ValueError, TypeError) as exc:
                raise _refuse(column, declared, "string", f"not ISO-8601 text ({exc})") from exc
    raise _refuse(column, declared, _received(series, kind))


def _narrow_int(series: pd.Series[Any], target: np.dtype[Any], column: str) -> Any:
    values = series.to_numpy()
    if values.dtype == object:
        values = values.astype(np.int64)
    info = np.iinfo(target)
    if len(values) and (values.min() < info.min or values.max() > info.max):
        received = _NUMPY_NAMES.get(values.dtype.name, values.dtype.name)
        raise _refuse(column, _NUMPY_NAMES[target.name], received, "values out of range")
    return values.astype(target)


def cast_tensor(data: Any, spec: TensorSpec, field: str) -> np.ndarray[Any, Any]:
    """Apply the cast rule to one tensor and check its shape against ``spec``."""
    array = data.to_numpy() if isinstance(data, pd.DataFrame) else np.asarray(data)
    target = np.dtype(spec.dtype)
    got = array.dtype
    if got != target:
        ok = (
            (target.kind == "f" and got.kind in "fiu")
            or (target.kind in "iu" and got.kind in "iu")
            or (target.kind == got.kind)
        )
        if not ok:
            if got.kind in "USO":  # text among the numbers: say which value
                raise _refuse(field, target.name, "text", _first_text(array, field))
            why = "floats are not cast to integers" if got.kind == "f" else ""
            raise _refuse(field, target.name, got.name, why)
        if target.kind in "iu" and array.size:
            info = np.iinfo(target)
            if array.min() < info.min or array.max() > info.max:
                raise _refuse(field, target.name, got.name, "values out of range")
        array = array.astype(target)
    if len(array.shape) != len(spec.shape) or any(
        want not in (-1, have) for want, have in zip(spec.shape, array.shape, strict=True)
    ):
        raise InvalidArgument(
            f"tensor {field!r}: expected shape {list(spec.shape)}, received {list(array.shape)}",
            field=field,
            details={"expected": list(spec.shape), "received": list(array.shape)},
        )
    return array


def _first_text(array: np.ndarray[Any, Any], field: str) -> str:
    """Where the first value of ``array`` that is not a number is (``input[1][1] is 'x'``);
    numpy made the whole request text for it. Empty when every value reads as a number."""
    for index, value in np.ndenumerate(array):
        if isinstance(value, bool) or not isinstance(value, (int, float, str, np.number)):
            return f"{field}{''.join(f'[{i}]' for i in index)} is {str(value)[:80]!r}"
        try:
            float(value)
        except (TypeError, ValueError):
            return f"{field}{''.join(f'[{i}]' for i in index)} is {str(value)[:80]!r}"
    return ""


def _is_tensor(value: Any) -> bool:
    cls = type(value)
    return cls.__module__.partition(".")[0] == "torch" and hasattr(value, "detach")


def from_tensors(data: Any) -> Any:
    """PyTorch tensors (alone, or as a dict's values) as numpy arrays; anything else as is.

    Tensors are detached and moved to the CPU first, so an example taken from a training loop
    (on a GPU, or with gradients) can be stored and checked like an array. torch is never
    imported here: a tensor's class says what it is.
    """
    if _is_tensor(data):
        return data.detach().cpu().numpy()
    if isinstance(data, Mapping) and data and all(_is_tensor(v) for v in data.values()):
        return {k: v.detach().cpu().numpy() for k, v in data.items()}
    return data


def _columns_frame(data: Mapping[Any, Any]) -> pd.DataFrame:
    """A frame from ``{column: values}``; columns of unequal lengths, or values that are not
    one value per row, are refused naming the column (pandas would raise a ValueError)."""
    (first, first_values), *rest = data.items()
    for name, values in data.items():
        if isinstance(values, np.ndarray) and values.ndim != 1:
            raise InvalidArgument(
                f"column {str(name)!r} of the dict input must be a list of values, one per row",
                field=str(name),
            )
    for name, values in rest:
        if len(values) != len(first_values):
            raise InvalidArgument(
                f"column {str(name)!r} of the dict input has {len(values)} value(s) where "
                f"{str(first)!r} has {len(first_values)}: every column needs one value per row",
                field=str(name),
            )
    return pd.DataFrame(dict(data))


def to_frame(data: Any, names: Sequence[str | None]) -> pd.DataFrame:
    """Turn a DataFrame, dict, list of dicts, list of rows or 2-D array into a DataFrame."""
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pd.Series):
        return data.to_frame()
    positional = [n if n is not None else i for i, n in enumerate(names)] or None
    if isinstance(data, Mapping):
        columnar = [isinstance(v, (list, tuple, np.ndarray, pd.Series)) for v in data.values()]
        if data and all(columnar):
            return _columns_frame(data)
        if not any(columnar):
            return pd.DataFrame([dict(data)])
        raise InvalidArgument(
            "a dict input needs all values as lists (columns) or all scalars (one row)"
        )
    if isinstance(data, np.ndarray):
        if data.dtype.names:
            return pd.DataFrame(data)
        rows = data.reshape(1, -1) if data.ndim == 1 else data
        if rows.ndim != 2 or (positional and rows.shape[1] != len(positional)):
            raise InvalidArgument(
                f"an array input needs shape (rows, {len(names)}), received {list(data.shape)}"
            )
        return pd.DataFrame(rows, columns=positional, copy=False)
    if isinstance(data, (list, tuple)):
        if not data:
            raise InvalidArgument("the input has no rows")
        if all(isinstance(row, Mapping) for row in data):
            return pd.DataFrame(list(data))
        if all(isinstance(row, (list, tuple)) for row in data):
            width = len(positional) if positional else None
            wrong = next((i for i, row in enumerate(data) if len(row) != width), None)
            if width is not None and wrong is not None:
                got = len(data[wrong])
                raise InvalidArgument(
                    f"row {wrong} has {got} value{'s' if got != 1 else ''}; every row needs "
                    f"{width} values",
                    details={"row": wrong, "values": got, "expected": width},
                )
            return pd.DataFrame(list(data), columns=positional)
        raise InvalidArgument("a list input must hold dicts (records) or lists (rows)")
    raise InvalidArgument(
        f"unsupported input type {type(data).__name__}: pass a DataFrame, ndarray, dict or list"
    )


def _frame_dtypes(frame: pd.DataFrame) -> tuple[Any, ...]:
    # DataFrame.dtypes builds a Series per call (~12 us for 10 columns); the block manager's
    # array of dtypes is the same data in ~0.4 us. It is private, so fall back if pandas moves it.
    manager = getattr(frame, "_mgr", None)
    get_dtypes = getattr(manager, "get_dtypes", None)
    if get_dtypes is not None:
        return tuple(get_dtypes())
    return tuple(frame.dtypes)


class InputEnforcer:
    """Checks and casts model inputs against a schema, prepared once when a model loads.

    Calling it returns what the flavor should see: a DataFrame in signature column order for
    column schemas, an array (or a dict of named arrays) for tensor schemas. A DataFrame whose
    columns and dtypes already match is returned as is, without a copy.

    With ``arrays=True`` (the flavor predicts on arrays as it would on the DataFrame, column
    for column), a 2-D float64 array whose width is the schema's and whose every column is a
    required ``double`` is also returned as is: the columns are the signature's, in order, and
    already of its type, so no DataFrame is built (nor pandas imported).
    """

    def __init__(self, schema: Schema | None, *, arrays: bool = False) -> None:
        self.schema = schema
        self._columns = schema.columns if schema is not None else ()
        self._tensors = schema.tensors if schema is not None else ()
        self._names: list[str | None] = [c.name for c in self._columns]
        self._positional = any(name is None for name in self._names)
        # f0, f1, ...: names a trainer made up for unnamed features (XGBoost's, the built-in
        # algorithms'). A frame read without a header (integer columns 0, 1, ...) means the
        # same columns, so it is taken positionally rather than refused as "missing 'f0'".
        self._synthetic = bool(self._names) and self._names == [
            f"f{i}" for i in range(len(self._names))
        ]
        self._index: pd.Index[Any] | None = None  # made on the first DataFrame
        # Index objects are immutable, so one that matched once matches for good.
        self._matched_index: pd.Index[Any] | None = None
        fast = [_fast_dtype(c) for c in self._columns]
        self._fast_dtypes = tuple(fast) if all(d is not None for d in fast) else None
        self._array_width = (
            len(self._columns)
            if arrays
            and self._columns
            and all(c.required and c.type == "double" for c in self._columns)
            else None
        )

    def __call__(self, data: Any) -> Any:
        if type(data) is not np.ndarray:
            data = from_tensors(data)
        if self._tensors:
            return self._tensor_input(data)
        if isinstance(data, np.ndarray) and (
            self.schema is None  # nothing to check against: the model gets what it was given
            or (data.ndim == 2 and data.shape[1] == self._array_width and data.dtype == np.float64)
        ):
            return data
        frame = to_frame(data, self._names)
        if self.schema is None:
            return frame
        if self._index is None:
            self._index = pd.Index([str(n) for n in self._names])
        if self._synthetic and _default_columns(frame.columns, len(self._names)):
            frame = frame.set_axis(self._index, axis=1)
        columns = frame.columns
        if (
            self._fast_dtypes is not None
            and (columns is self._matched_index or columns.equals(self._index))
            and _frame_dtypes(frame) == self._fast_dtypes
        ):
            self._matched_index = columns
            return frame
        return self._cast_frame(frame)

    def _cast_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        out: dict[Any, Any] = {}
        present = set(frame.columns)
        for position, spec in enumerate(self._columns):
            key: Any = position if self._positional else spec.name
            label = spec.name or str(position)
            if self._positional:
                if position >= frame.shape[1]:
                    raise InvalidArgument(f"missing column {label} (expected {spec.type})")
                series = frame.iloc[:, position]
            elif spec.name in present:
                series = frame[spec.name]
            elif spec.required:
                raise InvalidArgument(
                    f"missing column {spec.name!r} (expected {spec.type})",
                    field=spec.name,
                    details={"column": spec.name, "expected": spec.type, "received": "missing"},
                )
            else:
                continue
            if isinstance(series, pd.DataFrame):
                raise InvalidArgument(f"column {label!r} appears more than once", field=label)
            cast = cast_column(series, spec, label)
            out[key] = cast.array if isinstance(cast, pd.Series) else cast
        return pd.DataFrame(out, index=frame.index, copy=False)

    def _tensor_input(self, data: Any) -> Any:
        if len(self._tensors) == 1 and self._tensors[0].name is None:
            return cast_tensor(data, self._tensors[0], "input")
        if not isinstance(data, Mapping) and not isinstance(data, pd.DataFrame):
            if len(self._tensors) == 1:
                return cast_tensor(data, self._tensors[0], self._tensors[0].name or "input")
            raise InvalidArgument(
                "this model takes named tensors: pass a dict of arrays "
                f"({', '.join(str(t.name) for t in self._tensors)})"
            )
        out = {}
        for spec in self._tensors:
            name = str(spec.name)
            if name not in data:
                raise InvalidArgument(f"missing tensor {name!r}", field=name)
            out[name] = cast_tensor(data[name], spec, name)
        return out


def _default_columns(columns: pd.Index[Any], width: int) -> bool:
    """Whether ``columns`` are pandas' default labels 0..width-1 (a frame read headerless)."""
    if len(columns) != width:
        return False
    if isinstance(columns, pd.RangeIndex):
        return columns.start == 0 and columns.step == 1
    # read_csv(header=None) labels columns with a plain integer Index
    return columns.dtype.kind in "iu" and columns.tolist() == list(range(width))


def _fast_dtype(spec: ColSpec) -> Any:
    if not spec.required or spec.name is None:
        return None
    if spec.type == "string":
        return _text_dtype()
    if spec.type in ("binary", "datetime") or spec.type in OPAQUE_TYPES:
        return None
    return COLUMN_DTYPES[spec.type]


@functools.cache
def _text_dtype() -> Any:
    return pd.Series(["x"]).dtype  # pandas' default text dtype (``str`` in pandas 3)


_PARAM_CHECKS: dict[str, tuple[type, ...]] = {
    "long": (int,),
    "integer": (int,),
    "double": (int, float),
    "float": (int, float),
    "boolean": (bool,),
    "string": (str,),
    "datetime": (str,),
}


def enforce_params(
    params: Mapping[str, Any] | None, specs: tuple[ParamSpec, ...] | None
) -> dict[str, Any] | None:
    """Check ``params`` against the declared specs and fill in defaults.

    Unknown names and values of the wrong type are refused (a typo in a parameter name would
    otherwise be silently ignored).
    """
    if not specs:
        if params:
            raise InvalidArgument(
                f"this model declares no params; received {', '.join(sorted(params))}",
                field="params",
            )
        return None
    merged = {spec.name: spec.default for spec in specs}
    if not params:
        return merged
    by_name = {spec.name: spec for spec in specs}
    for name, value in params.items():
        spec = by_name.get(name)
        if spec is None:
            raise InvalidArgument(
                f"unknown param {name!r} (declared: {', '.join(sorted(by_name))})",
                field=f"params.{name}",
            )
        values = value if spec.shape is not None and isinstance(value, list) else [value]
        allowed = _PARAM_CHECKS[spec.type]
        for item in values:
            if not isinstance(item, allowed) or (isinstance(item, bool) and bool not in allowed):
                raise InvalidArgument(
                    f"param {name!r}: expected {spec.type}, received {type(item).__name__}",
                    field=f"params.{name}",
                    details={"expected": spec.type, "received": type(item).__name__},
                )
        merged[name] = value
    return merged
