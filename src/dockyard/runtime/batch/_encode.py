"""Predictions as one output value per record: CSV text or JSON values.

A model may return an array (one value or one row per record), a DataFrame, a Series, a list or
a dict of columns; all become per-record values here, and a count that differs from the number
of records is the model's error, not a bad record. Numbers are written in the shortest text that
reads back to the same value of their own dtype (``float32`` predictions as ``0.1``, not
``0.10000000149011612``), which is also what keeps formatting vectorised.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from dockyard.api.batch import JsonPath, JsonPathError
from dockyard.errors import ModelError
from dockyard.models import to_jsonable
from dockyard.runtime.batch._config import WorkerConfig

if TYPE_CHECKING:
    import pandas as pd
else:
    from dockyard.lazy import pandas as pd

__all__ = [
    "csv_block",
    "csv_block_for",
    "csv_field",
    "csv_rows",
    "dump_json",
    "filter_csv",
    "joined_json",
    "json_values",
    "normalize",
    "optional_arrow",
    "split_csv_row",
    "text_column",
]


def normalize(predictions: Any, count: int) -> np.ndarray[Any, Any] | pd.DataFrame | list[Any]:
    """Predictions as an array, DataFrame or list with exactly ``count`` entries.

    Raises:
        ModelError: The model returned another number of predictions than records.
    """
    value: Any = predictions
    if isinstance(value, (np.ndarray, list)):
        pass  # checked first: the other checks import pandas
    elif isinstance(value, pd.Series):
        value = value.to_numpy()
    elif isinstance(value, Mapping):
        value = pd.DataFrame({str(k): list(np.asarray(v)) for k, v in value.items()})
    elif isinstance(value, tuple):
        value = list(value)
    elif not isinstance(value, (np.ndarray, pd.DataFrame, list)):
        value = np.asarray([value]) if np.ndim(value) == 0 else np.asarray(value)
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.reshape(1)
    if len(value) != count:
        raise ModelError(
            f"the model returned {len(value)} predictions for {count} records; "
            "batch transform needs one prediction per record"
        )
    return value  # type: ignore[no-any-return]


def text_column(values: Any) -> list[str]:
    """One CSV field per value of a 1-D array or Series (missing values as empty fields)."""
    array = np.asarray(values)
    kind = array.dtype.kind
    arrow = optional_arrow()
    if kind in "fiu" and arrow is not None:
        # Arrow formats numbers ~8x faster than numpy; NaN (null here) becomes an empty field.
        texts: list[str] = (
            arrow.array(array, from_pandas=True).cast(arrow.string()).fill_null("").to_pylist()
        )
        return texts
    if kind == "f":
        # numpy prints each dtype's shortest round-trip form; NaN becomes an empty field.
        printed = array.astype(str)
        missing = np.isnan(array)
        if missing.any():
            printed = np.where(missing, "", printed)
        return list(printed.tolist())
    if kind in "iu":
        return list(array.astype(str).tolist())
    if kind == "b":
        return ["true" if v else "false" for v in array.tolist()]
    return [csv_field(v) for v in array.tolist()]


@functools.cache
def optional_arrow() -> Any:
    """The ``pyarrow`` module, or ``None``: a model's own environment may not have it."""
    try:
        import pyarrow
    except ImportError:
        return None
    return pyarrow


def csv_field(value: Any) -> str:
    """One value as a CSV field, quoted only when it must be."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, dict, np.ndarray)):
        text = json.dumps(to_jsonable(value), separators=(",", ":"))
    elif isinstance(value, bytes):
        text = str(to_jsonable(value))
    else:
        text = str(value.item() if isinstance(value, np.generic) else value)
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_rows(predictions: np.ndarray[Any, Any] | pd.DataFrame | list[Any]) -> list[str]:
    """Each record's prediction as CSV text: one field, or a row's fields joined by commas."""
    if isinstance(predictions, pd.DataFrame):
        columns = [text_column(predictions.iloc[:, i]) for i in range(predictions.shape[1])]
        return [",".join(fields) for fields in zip(*columns, strict=True)]
    if isinstance(predictions, np.ndarray) and predictions.dtype != object:
        if predictions.ndim == 1:
            return text_column(predictions)
        flat = predictions.reshape(len(predictions), -1)
        columns = [text_column(flat[:, i]) for i in range(flat.shape[1])]
        return [",".join(fields) for fields in zip(*columns, strict=True)]
    rows = predictions.tolist() if isinstance(predictions, np.ndarray) else predictions
    out = []
    for row in rows:
        if isinstance(row, (list, tuple, np.ndarray)):
            out.append(",".join(csv_field(v) for v in row))
        else:
            out.append(csv_field(row))
    return out


def csv_block(
    predictions: np.ndarray[Any, Any] | pd.DataFrame | list[Any],
    sources: list[str] | None,
    separator: str,
) -> bytes | None:
    """A whole batch of single-number predictions as CSV bytes, formatted by Arrow in one pass.

    Each record's text is ``<source>,<prediction>`` with ``sources`` (a join), else the
    prediction alone, each followed by ``separator``: byte for byte what :func:`csv_rows`
    and a join would write, without a Python string per record. ``None`` when the predictions
    are not one number per record or ``pyarrow`` is missing (the caller then goes row by row).
    """
    arrow = optional_arrow()
    if arrow is None or not isinstance(predictions, np.ndarray):
        return None
    values = predictions
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1 or values.dtype.kind not in "fiu" or not len(values):
        return None
    if values.dtype.kind == "f" and values.dtype.itemsize < 4:
        return None  # half floats: Arrow has no text cast for them
    import pyarrow.compute as pc

    # Arrays are made from numpy buffers, never from Python objects: Arrow's conversion of
    # those imports pandas, which a worker scoring numbers otherwise never loads.
    count = len(values)
    valid = None
    if values.dtype.kind == "f":
        missing = np.isnan(values)
        if missing.any():
            valid = np.packbits(~missing, bitorder="little")
    numbers = _arrow_array(arrow, arrow.from_numpy_dtype(values.dtype), count, valid, values)
    texts = numbers.cast(arrow.string())
    if valid is not None:  # a missing prediction is an empty field
        empty = _arrow_array(arrow, arrow.string(), count, None, np.zeros(count + 1, np.int32), b"")
        texts = pc.coalesce(texts, empty)
    if sources is not None:
        if len(sources) != count:
            return None
        texts = pc.binary_join_element_wise(arrow.array(sources, arrow.string()), texts, ",")
    bounds = _arrow_array(arrow, arrow.int32(), 2, None, np.array([0, count], np.int32))
    sep = separator.encode()
    seps = _arrow_array(arrow, arrow.string(), 1, None, np.array([0, len(sep)], np.int32), sep)
    joined = pc.binary_join(arrow.ListArray.from_arrays(bounds, texts), seps)[0]
    return bytes(joined.as_buffer()) + sep


def _arrow_array(arrow: Any, type_: Any, count: int, valid: Any, *buffers: Any) -> Any:
    """An Arrow array over numpy (or bytes) buffers: validity bitmap, then the type's buffers."""
    made = [None if valid is None else arrow.py_buffer(valid)]
    made += [
        arrow.py_buffer(np.ascontiguousarray(b) if isinstance(b, np.ndarray) else b)
        for b in buffers
    ]
    return arrow.Array.from_buffers(type_, count, made)


def csv_block_for(
    config: WorkerConfig,
    output_filter: JsonPath,
    predictions: np.ndarray[Any, Any] | pd.DataFrame | list[Any],
    sources: list[str] | None,
) -> bytes | None:
    """:func:`csv_block`, where the transform writes CSV with no output filter; else ``None``."""
    if config.accept != "text/csv" or not output_filter.is_identity:
        return None
    return csv_block(predictions, sources, config.separator)


def json_values(predictions: np.ndarray[Any, Any] | pd.DataFrame | list[Any]) -> list[Any]:
    """Each record's prediction as a JSON-able value (a number, a list, or an object)."""
    values = to_jsonable(predictions)
    return values if isinstance(values, list) else [values]


def split_csv_row(row: str) -> list[str]:
    """The fields of one CSV row (quoted fields unquoted)."""
    if '"' not in row:
        return row.split(",")
    return next(csv.reader(io.StringIO(row), strict=True), [])


def join_csv_fields(fields: Sequence[str]) -> str:
    """Fields back into one row, quoting those that need it."""
    return ",".join(csv_field(f) if any(c in f for c in ',"\n\r') else f for f in fields)


def filter_csv(texts: list[str], path: JsonPath) -> tuple[list[str], dict[int, str]]:
    """Apply an output filter to CSV rows; rows it cannot apply to are reported, not written."""
    if path.is_identity:
        return texts, {}
    out: list[str] = []
    bad: dict[int, str] = {}
    for index, text in enumerate(texts):
        fields = split_csv_row(text)
        try:
            out.append(join_csv_fields([fields[p] for p in path.positions(len(fields))]))
        except JsonPathError as exc:
            bad[index] = f"output filter {path.text}: {exc}"
    return out, bad


def joined_json(record: Any, prediction: Any) -> Any:
    """SageMaker's join of a JSON record and its prediction."""
    if isinstance(record, dict):
        return {**record, "SageMakerOutput": prediction}
    return {"SageMakerInput": record, "SageMakerOutput": prediction}


def dump_json(values: list[Any], path: JsonPath) -> tuple[list[str], dict[int, str]]:
    """Apply an output filter and serialise; values it cannot apply to are reported."""
    out: list[str] = []
    bad: dict[int, str] = {}
    for index, value in enumerate(values):
        try:
            selected = value if path.is_identity else path.select(value)
        except JsonPathError as exc:
            bad[index] = f"output filter {path.text}: {exc}"
            continue
        try:
            out.append(json.dumps(selected, separators=(",", ":"), allow_nan=False))
        except ValueError as exc:  # NaN or infinity in an input record: not valid JSON
            bad[index] = f"cannot write the output as JSON: {exc}"
    return out, bad
