"""Endpoint capture records (``runtime/serving/_capture.py``) as rows of a dataset.

One JSON record per line; its ``input`` (and ``output``) body becomes one or more rows:

- CSV text: each line a row of headerless cells (numbers where they parse);
- JSON: ``{"instances": [...]}``, ``{"inputs": ...}``, ``{"dataframe_split": {"columns",
  "data"}}``, ``{"dataframe_records": [...]}``, a bare list, a single object, or the Open
  Inference Protocol's ``{"inputs": [{"name", "shape", "datatype", "data"}]}`` (one column per
  tensor, rows along the first axis); responses' ``{"predictions": [...]}`` /
  ``{"outputs": ...}`` likewise;
- JSON Lines text: each line a row.

Rows of a list are columns ``_c0`` .. ``_cN`` (or ``Dataset.columns``); rows of objects keep
their keys. Response columns are ``prediction`` for scalars and ``prediction_<i>`` for lists.
Every row carries the record's ``request_id`` in :data:`~dockyard.monitor.readers.INFERENCE_ID`.
Shadow records (``kind == "shadow"``) and bodies that cannot be decoded are skipped, since one
odd request must not stop a scheduled check; a line that is not JSON is an error naming it.
"""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import orjson

from dockyard.errors import InvalidArgument
from dockyard.monitor.dataset import Source
from dockyard.monitor.readers import INFERENCE_ID, rows_batch

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["capture_batches", "decode_rows"]

_ROWS = 1 << 16
Row = dict[str, Any]


def capture_batches(
    source: Source, side: str, columns: tuple[str, ...] | None
) -> Iterator[pa.RecordBatch]:
    rows: list[Row] = []
    with source.open() as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise InvalidArgument(
                    f"{source.name}, line {number}: not a capture record ({exc})", field="uris"
                ) from None
            if not isinstance(record, dict) or record.get("kind") == "shadow":
                continue
            rows += _record_rows(record, side, columns)
            if len(rows) >= _ROWS:
                yield rows_batch(rows)
                rows = []
    if rows:
        yield rows_batch(rows)


def _record_rows(record: Row, side: str, columns: tuple[str, ...] | None) -> list[Row]:
    inputs = decode_rows(record.get("input"), columns) if side in ("input", "both") else []
    outputs = (
        decode_rows(record.get("output"), None, prefix="prediction") if side != "input" else []
    )
    if side == "input":
        rows = inputs
    elif side == "output":
        rows = outputs
    else:
        count = max(len(inputs), len(outputs))
        rows = [
            {**(inputs[i] if i < len(inputs) else {}), **(outputs[i] if i < len(outputs) else {})}
            for i in range(count)
        ]
    request_id = record.get("request_id")
    for row in rows:
        row[INFERENCE_ID] = request_id
    return rows


def decode_rows(body: Any, columns: tuple[str, ...] | None, prefix: str | None = None) -> list[Row]:
    """The rows of one captured body (``{"content_type", "encoding", "data"}``)."""
    if not isinstance(body, dict) or body.get("data") is None:
        return []
    data, encoding = body["data"], body.get("encoding")
    content_type = str(body.get("content_type") or "")
    try:
        if encoding == "base64":
            data = base64.b64decode(data).decode()
            encoding = "text"
        if encoding == "text":
            if "json" in content_type:
                parsed = [orjson.loads(line) for line in str(data).splitlines() if line.strip()]
                data = parsed[0] if len(parsed) == 1 else parsed
            else:
                reader = csv.reader(io.StringIO(str(data)))
                data = [[_cell(cell) for cell in row] for row in reader if row]
    except (ValueError, UnicodeDecodeError, orjson.JSONDecodeError):
        return []
    return [_row(item, columns, prefix) for item in _items(data)]


def _cell(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _items(data: Any) -> list[Any]:
    if isinstance(data, dict):
        for key in ("instances", "predictions", "dataframe_records"):
            if key in data:
                return _items(data[key])
        split = data.get("dataframe_split")
        if isinstance(split, dict):
            names = split.get("columns")
            values = split.get("data") or []
            return [dict(zip(names, row, strict=False)) if names else row for row in values]
        for key in ("inputs", "outputs"):
            if key in data:
                tensors = data[key]
                if isinstance(tensors, list) and tensors and _is_tensor(tensors[0]):
                    return _tensor_rows(tensors)
                return _items(tensors)
        return [data]
    if isinstance(data, list):
        return data
    return [data]


def _is_tensor(item: Any) -> bool:
    return isinstance(item, dict) and "name" in item and "data" in item


def _tensor_rows(tensors: list[Any]) -> list[Any]:
    """Open Inference Protocol tensors -> rows: one column per tensor (or per trailing index)."""
    import numpy as np

    columns: dict[str, list[Any]] = {}
    for tensor in tensors:
        values = np.asarray(tensor.get("data"))
        shape = tensor.get("shape") or [values.size]
        try:
            values = values.reshape([int(s) for s in shape])
        except (ValueError, TypeError):
            values = values.reshape(-1)
        if values.ndim <= 1:
            columns[str(tensor["name"])] = values.reshape(-1).tolist()
        else:
            flat = values.reshape(values.shape[0], -1)
            for i in range(flat.shape[1]):
                columns[f"{tensor['name']}_{i}"] = flat[:, i].tolist()
    count = max((len(v) for v in columns.values()), default=0)
    return [
        {name: v[i] if i < len(v) else None for name, v in columns.items()} for i in range(count)
    ]


def _row(item: Any, columns: tuple[str, ...] | None, prefix: str | None) -> Row:
    if isinstance(item, dict):
        return dict(item)
    if isinstance(item, list | tuple):
        if prefix is not None:
            return {f"{prefix}_{i}": v for i, v in enumerate(item)}
        return {
            (columns[i] if columns and i < len(columns) else f"_c{i}"): v
            for i, v in enumerate(item)
        }
    return {prefix or (columns[0] if columns else "_c0"): item}
