"""Endpoint capture records (``runtime/serving/_capture.py``) as rows of a dataset.

One JSON record per line; its ``input`` (and ``output``) body becomes one or more rows:

- CSV text: each line a row of headerless cells (numbers where they parse);
- JSON: ``{"instances": [...]}``, ``{"inputs": ...}``, ``{"dataframe_split": {"columns",
  "data"}}``, ``{"dataframe_records": [...]}``, a bare list, a single object, or the Open
  Inference Protocol's ``{"inputs": [{"name", "shape", "datatype", "data"}]}`` (one column per
  tensor, rows along the first axis); responses' ``{"predictions": [...]}`` /
  ``{"outputs": ...}`` likewise;
- JSON Lines text: each line a row.

Rows of a list are columns ``_c0`` .. ``_cN`` (or ``Dataset.columns``), and so are the rows of
a request's one 2-D tensor (Open Inference Protocol); rows of objects keep their keys, unless
the columns are named, none of the keys is among them and there are as many: then they take the
columns by position, as the model did (a ``dataframe_split`` naming its columns ``f0`` .. for a
model, and a baseline, that have other names or none). So one client's CSV, another's
``dataframe_split`` and a third's tensor make the same columns, not three sets of them.
Response columns are ``prediction`` for scalars and ``prediction_<i>`` for lists.
Every row carries the record's ``request_id`` in :data:`~dockyard.monitor.readers.INFERENCE_ID`.
Lines are read in blocks of 4 MB. A block whose every request is CSV text (what most
endpoints capture) is parsed whole: pyarrow's JSON reader over its lines, then its CSV reader
over the bodies (about a quarter less CPU than record by record for single-row requests of 20
features: the JSON and CSV parsing that remain are most of it). Other blocks go record by
record, requests converted by shape in one vectorised call each (CSV text by pyarrow's parser,
lists of numbers by numpy), so rows come grouped by shape rather than in record order; the
inference id keeps each row's origin.
Shadow records (``kind == "shadow"``) and bodies that cannot be decoded are skipped, since one
odd request must not stop a scheduled check; a line that is not JSON is an error naming it.
"""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import lru_cache
from typing import IO, TYPE_CHECKING, Any

import orjson

from dockyard.errors import InvalidArgument
from dockyard.monitor.dataset import Source
from dockyard.monitor.readers import INFERENCE_ID, rows_batch

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

__all__ = ["capture_batches", "capture_stamp", "decode_rows"]

_ROWS = 1 << 16
_BLOCK_BYTES = 4 << 20  # of lines read at a time (16 MB: more memory, no faster)
Row = dict[str, Any]


def capture_batches(
    source: Source,
    side: str,
    columns: tuple[str, ...] | None,
    window: tuple[int, int] | None = None,
) -> Iterator[pa.RecordBatch]:
    """Rows of the records in ``source`` (those whose time is in ``window``, when given)."""
    times = None if window is None else (capture_stamp(window[0]), capture_stamp(window[1]))
    with source.open() as handle:
        first = 1
        for block in _blocks(handle):
            bulk = _bulk_csv(block, columns, times) if side == "input" else None
            if bulk is None:
                yield from _record_batches(source, block, first, side, columns, times)
            else:
                yield from bulk
            first += block.count(b"\n")


def _blocks(handle: IO[bytes]) -> Iterator[bytes]:
    """Whole lines, about ``_BLOCK_BYTES`` at a time (more when one line is longer)."""
    rest = b""
    while data := handle.read(_BLOCK_BYTES):
        data = rest + data if rest else data
        cut = data.rfind(b"\n") + 1
        rest = data[cut:]
        if cut:
            yield data[:cut]
    if rest:
        yield rest


def capture_stamp(ms: int) -> str:
    """``ms`` as capture records write their ``time`` (fixed width: compared as text)."""
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _record_batches(
    source: Source,
    block: bytes,
    first: int,
    side: str,
    columns: tuple[str, ...] | None,
    times: tuple[str, str] | None,
) -> Iterator[pa.RecordBatch]:
    """Record by record: every body shape, and the errors that name a line."""
    chunk = _Chunk(columns)
    for number, line in enumerate(block.split(b"\n"), first):
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
        if times is not None and not times[0] <= str(record.get("time", "")) < times[1]:
            continue
        if side == "input":
            chunk.add_input(record.get("input"), record.get("request_id"))
        else:
            chunk.rows += _record_rows(record, side, columns)
        if chunk.full():
            yield from chunk.batches()
            chunk = _Chunk(columns)
    yield from chunk.batches()


def _bulk_csv(
    block: bytes, columns: tuple[str, ...] | None, times: tuple[str, str] | None = None
) -> list[pa.RecordBatch] | None:
    """The requests of a block whose every kept record is CSV text, parsed in two vectorised
    calls (pyarrow's JSON reader, then its CSV reader over the bodies, which lie end to end in
    one buffer); ``None`` when the block holds anything else (JSON bodies, base64, a request
    id that is not a string, a line that is not JSON...), which is then read record by record."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.json as pajson

    if b'"text"' not in block[: block.find(b"\n")]:
        return None  # cheap: a JSON-bodied capture would only fail below
    parse = pajson.ParseOptions(
        explicit_schema=_record_schema(), unexpected_field_behavior="ignore"
    )
    try:
        try:
            table = pajson.read_json(pa.py_buffer(block), parse_options=parse)
        except pa.ArrowInvalid as exc:
            if "straddling" not in str(exc):
                raise
            # A line longer than pyarrow's 1 MB blocks: the whole block as one.
            whole = pajson.ReadOptions(block_size=len(block) + 1)
            table = pajson.read_json(pa.py_buffer(block), read_options=whole, parse_options=parse)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    inputs = table.column("input").combine_chunks()
    data = inputs.field("data")
    shadow = pc.fill_null(pc.equal(table.column("kind").combine_chunks(), "shadow"), False)
    keep = pc.and_(pc.is_valid(data), pc.invert(shadow))
    if times is not None:
        stamps = table.column("time").combine_chunks()
        inside = pc.and_(pc.greater_equal(stamps, times[0]), pc.less(stamps, times[1]))
        keep = pc.and_(keep, pc.fill_null(inside, False))
    data = data.filter(keep)
    if not len(data):
        return []
    text = pc.fill_null(pc.equal(inputs.field("encoding").filter(keep), "text"), False)
    as_json = pc.match_substring(inputs.field("content_type").filter(keep), "json")
    if not pc.all(text).as_py() or pc.any(pc.fill_null(as_json, False)).as_py():
        return None
    ended = pc.ends_with(data, "\n")
    texts = pc.if_else(ended, data, pc.binary_join_element_wise(data, "", "\n"))
    body, starts = _values(texts)
    csv_table = _read_csv(body)
    # The request of each row: the body each line break falls in.
    breaks = np.flatnonzero(np.frombuffer(body, dtype=np.uint8) == ord("\n"))
    if csv_table is None or csv_table.num_rows != len(breaks):
        return None  # blank lines or ragged rows: record by record
    owners = table.column("request_id").combine_chunks().filter(keep)
    ids = owners.take(pa.array(np.searchsorted(starts, breaks, side="right") - 1))
    arrays = [column.combine_chunks() for column in csv_table.columns]
    names = _names(columns, csv_table.num_columns)
    return [pa.RecordBatch.from_arrays([*arrays, ids], names=[*names, INFERENCE_ID])]


def _record_schema() -> pa.Schema:
    """What the bulk path reads of a record; any other field is skipped unconverted."""
    import pyarrow as pa

    body = pa.struct(
        [("content_type", pa.string()), ("encoding", pa.string()), ("data", pa.string())]
    )
    return pa.schema(
        [("request_id", pa.string()), ("time", pa.string()), ("kind", pa.string()), ("input", body)]
    )


def _values(strings: pa.Array) -> tuple[pa.Buffer, np.ndarray[Any, Any]]:
    """The characters of a string array without nulls, end to end (its values buffer), and
    where each string starts in them."""
    import numpy as np

    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int32)
    offsets = offsets[strings.offset : strings.offset + len(strings) + 1]
    start = int(offsets[0])
    return strings.buffers()[2][start : int(offsets[-1])], offsets[:-1] - start


def _read_csv(body: pa.Buffer | bytes) -> pa.Table | None:
    """Headerless CSV; ``None`` when pyarrow cannot parse it (rows of different widths)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        return pacsv.read_csv(
            pa.BufferReader(body),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True),
            convert_options=pacsv.ConvertOptions(strings_can_be_null=True),
        )
    except pa.ArrowInvalid:
        return None


def _names(given: tuple[str, ...] | None, width: int) -> list[str]:
    given = given or ()
    return [given[i] if i < len(given) else f"_c{i}" for i in range(width)]


class _Chunk:
    """Requests gathered by shape, so each shape is converted in one vectorised call: CSV text
    by pyarrow's CSV parser, lists of numbers by numpy; anything else row by row."""

    def __init__(self, columns: tuple[str, ...] | None) -> None:
        self.columns = columns
        self.csv: list[str] = []
        self.csv_owners: list[Any] = []  # the request id of each text
        self.csv_ids: list[Any] = []  # ... and of each row, as counted by line breaks
        self.lists: list[Any] = []
        self.list_ids: list[Any] = []
        self.rows: list[Row] = []

    def full(self) -> bool:
        return len(self.csv_ids) >= _ROWS or len(self.list_ids) >= _ROWS or len(self.rows) >= _ROWS

    def add_input(self, body: Any, request_id: Any) -> None:
        if not isinstance(body, dict) or body.get("data") is None:
            return
        data, encoding = body["data"], body.get("encoding")
        content_type = str(body.get("content_type") or "")
        if encoding == "base64":
            try:
                data = base64.b64decode(data).decode()
            except (ValueError, UnicodeDecodeError):
                return
            encoding = "text"
        if encoding == "text" and "json" not in content_type:
            text = str(data)
            if not text.endswith("\n"):
                text += "\n"
            # Blank lines (or quoted line breaks) make this count differ from pyarrow's rows;
            # the chunk is then parsed row by row, so it only needs to be right when cheap.
            count = text.count("\n")
            self.csv.append(text)
            self.csv_owners.append(request_id)
            self.csv_ids += [request_id] * count
            return
        if encoding == "text":  # JSON Lines text
            for row in decode_rows(body, self.columns):
                row[INFERENCE_ID] = request_id
                self.rows.append(row)
            return
        for item in _items(data):
            if isinstance(item, list):
                self.lists.append(item)
                self.list_ids.append(request_id)
            else:
                row = _row(item, self.columns, None)
                row[INFERENCE_ID] = request_id
                self.rows.append(row)

    def batches(self) -> Iterator[pa.RecordBatch]:
        if self.csv:
            yield self._csv_batch()
        if self.lists:
            yield self._list_batch()
        if self.rows:
            yield rows_batch(self.rows)

    def _csv_batch(self) -> pa.RecordBatch:
        import pyarrow as pa

        table = _read_csv("".join(self.csv).encode())
        if table is None or table.num_rows != len(self.csv_ids):
            rows: list[Row] = []
            for text, request_id in zip(self.csv, self.csv_owners, strict=True):
                for cells in csv.reader(io.StringIO(text)):
                    if cells:
                        row = _row([_cell(c) for c in cells], self.columns, None)
                        row[INFERENCE_ID] = request_id
                        rows.append(row)
            return rows_batch(rows)
        arrays = [column.combine_chunks() for column in table.columns]
        return pa.RecordBatch.from_arrays(
            [*arrays, _id_array(self.csv_ids)],
            names=[*_names(self.columns, table.num_columns), INFERENCE_ID],
        )

    def _list_batch(self) -> pa.RecordBatch:
        import numpy as np
        import pyarrow as pa

        ids = _id_array(self.list_ids)
        try:
            matrix = np.asarray(self.lists, dtype=np.float64)
        except (TypeError, ValueError):
            matrix = None  # text, or rows of different widths
        if matrix is not None and matrix.ndim == 2:
            first = self.lists[0]
            arrays = []
            for i in range(matrix.shape[1]):
                values = matrix[:, i]
                # JSON told integers from floats; numpy did not: the first row and the
                # values decide (an integral column stays Integral in the profile).
                whole = type(first[i]) is int and bool(np.all(values == np.round(values)))
                arrays.append(pa.array(values.astype(np.int64) if whole else values))
            names = _names(self.columns, matrix.shape[1])
            return pa.RecordBatch.from_arrays([*arrays, ids], names=[*names, INFERENCE_ID])
        rows = [_row(item, self.columns, None) for item in self.lists]
        for row, request_id in zip(rows, self.list_ids, strict=True):
            row[INFERENCE_ID] = request_id
        return rows_batch(rows)


def _id_array(ids: list[Any]) -> pa.Array:
    """Request ids as text: a hand-written file may mix numbers in."""
    import pyarrow as pa

    return pa.array([None if i is None else str(i) for i in ids], pa.string())


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
            if names:  # a frame's labels may be numbers (read with header=None): columns are text
                names = [str(name) for name in names]
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
    """Open Inference Protocol tensors -> rows: one column per tensor (or per trailing index);
    a request's only tensor, of two dimensions, is rows of positional values (lists)."""
    import numpy as np

    if len(tensors) == 1:
        only = np.asarray(tensors[0].get("data"))
        shape = tensors[0].get("shape")
        if isinstance(shape, list) and len(shape) == 2:
            try:
                return only.reshape([int(s) for s in shape]).tolist()  # type: ignore[no-any-return]
            except (ValueError, TypeError):
                pass

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


@lru_cache(maxsize=16)
def _column_set(columns: tuple[str, ...]) -> frozenset[str]:
    """``columns`` as a set, once per set of columns rather than once per row: a row of its own
    names is checked against it in time growing with its width, not the width squared."""
    return frozenset(columns)


def _row(item: Any, columns: tuple[str, ...] | None, prefix: str | None) -> Row:
    if isinstance(item, dict):
        if columns and len(item) == len(columns) and _column_set(columns).isdisjoint(item):
            return dict(zip(columns, item.values(), strict=True))  # its own names: by position
        return dict(item)
    if isinstance(item, list | tuple):
        if prefix is not None:
            return {f"{prefix}_{i}": v for i, v in enumerate(item)}
        return {
            (columns[i] if columns and i < len(columns) else f"_c{i}"): v
            for i, v in enumerate(item)
        }
    return {prefix or (columns[0] if columns else "_c0"): item}
