"""Record batches from a dataset's files, in bounded memory.

CSV is parsed by pyarrow's streaming reader in 1 MB blocks; its column types come from the
first block, and when a later block holds a value the type cannot take (``abc`` or ``1.5`` in
a column of integers) the file is read again with that column as text and the rows already
delivered are skipped; the profile counts integral, fractional and other values in text.
JSON Lines are read 65,536 lines at a time, Parquet in batches of as many rows, capture
records by :mod:`dockyard.monitor.capture`.

Every error names the file and, where there is one, the line and column.
"""

from __future__ import annotations

import csv
import io
import re
import threading
from collections.abc import Iterator
from queue import Full, Queue
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from dockyard.errors import InvalidArgument
from dockyard.monitor.dataset import Dataset, Source, resolve

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["INFERENCE_ID", "batches", "rows_batch", "sniff_header"]

#: Column carrying a capture record's ``request_id``: kept for joins, never profiled.
INFERENCE_ID = "__inference_id"

_BLOCK = 1 << 20  # pyarrow's default; larger blocks parsed slower here (cache)
T = TypeVar("T")
_LINES = 1 << 16
_HEAD = 64 << 10
_COLUMN = re.compile(r"In CSV column #(\d+)")
_NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")


def batches(data: Dataset, *, prefetch: int = 4) -> Iterator[pa.RecordBatch]:
    """Every batch of every file of ``data``, in order.

    Files are read on a thread up to ``prefetch`` batches ahead, so parsing (pyarrow releases
    the GIL) overlaps the caller's work on them; ``prefetch=0`` reads on the caller's thread.
    """
    found = _batches(data)
    return _prefetched(found, prefetch) if prefetch > 0 else found


def _prefetched(items: Iterator[T], depth: int) -> Iterator[T]:
    """``items``, produced on a thread at most ``depth`` ahead; errors are raised here, and
    closing this iterator stops the thread (and closes ``items``) before returning."""
    queue: Queue[tuple[str, Any]] = Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                queue.put(entry, timeout=0.05)  # wakes to notice a consumer that went away
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(("item", item)):
                    return
            put(("end", None))
        except BaseException as exc:  # handed to the consumer, raised there
            put(("error", exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="dockyard-monitor-reader", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = queue.get()
            if kind == "item":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        stop.set()
        thread.join()


def _batches(data: Dataset) -> Iterator[pa.RecordBatch]:
    header = data.header
    for source in resolve(data):
        if source.format == "csv":
            if header is None:
                header = sniff_header(source)
            yield from _csv(source, header, data.columns)
        elif source.format == "jsonl":
            yield from _jsonl(source)
        elif source.format == "parquet":
            yield from _parquet(source)
        else:
            from dockyard.monitor.capture import capture_batches

            yield from capture_batches(source, data.capture_side, data.columns, data.window)


def sniff_header(source: Source) -> bool:
    """Whether a CSV file starts with a header: no number in the first row, one in the second."""
    with source.open() as handle:
        head = handle.read(_HEAD).decode("utf-8", errors="replace")
    # Universal newlines: old Mac files end lines with a lone CR, which pyarrow reads too.
    reader = csv.reader(io.StringIO(head, newline=None))
    try:
        rows = [row for _, row in zip(range(2), reader, strict=False)]
    except csv.Error as exc:
        raise InvalidArgument(
            f"{source.name}, line {reader.line_num}: not CSV text ({exc})", field="uris"
        ) from None
    if len(rows) < 2:
        return bool(rows) and not any(_NUMBER.match(cell) for cell in rows[0])
    first, second = rows
    return not any(_NUMBER.match(c) for c in first) and any(_NUMBER.match(c) for c in second)


def _csv(source: Source, header: bool, names: tuple[str, ...] | None) -> Iterator[pa.RecordBatch]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    _require_text_head(source)
    forced: dict[str, pa.DataType] = {}
    delivered = 0
    bad_rows: list[str] = []

    def on_invalid(row: Any) -> str:
        where = f"line {row.number}" if row.number is not None else "a row"
        bad_rows.append(
            f"{source.name}, {where}: expected {row.expected_columns} columns, "
            f"got {row.actual_columns}"
        )
        return "error"

    while True:
        bad_rows.clear()
        read = pacsv.ReadOptions(
            block_size=_BLOCK,
            column_names=None if header or names is None else list(names),
            autogenerate_column_names=not header and names is None,
        )
        convert = pacsv.ConvertOptions(column_types=forced, strings_can_be_null=True)
        parse = pacsv.ParseOptions(invalid_row_handler=on_invalid)
        seen = 0
        try:
            with source.open() as handle:
                reader = pacsv.open_csv(
                    handle, read_options=read, parse_options=parse, convert_options=convert
                )
                if not header and names is None:
                    reader_names = [f"_c{i}" for i in range(len(reader.schema))]
                else:
                    reader_names = list(reader.schema.names)
                # Every block has the reader's schema: checked once.
                _require_text(source, reader.schema, reader_names)
                for block in reader:
                    batch = pa.RecordBatch.from_arrays(block.columns, names=reader_names)
                    end = seen + batch.num_rows
                    if end > delivered:
                        yield batch.slice(max(0, delivered - seen))
                        delivered = end
                    seen = end
            return
        except pa.ArrowInvalid as exc:
            if bad_rows:
                raise InvalidArgument(_ragged(source, bad_rows[0]), field="uris") from None
            message = str(exc)
            match = _COLUMN.search(message)
            if match is None or "conversion error" not in message:
                raise InvalidArgument(_unparsed(source, message), field="uris") from None
            field = reader.schema.field(int(match.group(1)))
            column = field.name  # pyarrow's own name, which column_types are keyed by
            if column in forced:  # already text: the value is not UTF-8
                raise InvalidArgument(_not_text(source, column), field="uris") from None
            # Straight to text: the profile then still tells "3" (integral) from "3.5".
            forced[column] = pa.string()
        except UnicodeDecodeError as exc:
            raise InvalidArgument(f"{source.name}: not UTF-8 text ({exc})", field="uris") from None


def _require_text(source: Source, schema: pa.Schema, names: list[str]) -> None:
    """pyarrow reads a column holding bytes that are not UTF-8 as binary: refuse it, naming
    the file, the column and the first such line."""
    import pyarrow as pa

    for name, field in zip(names, schema, strict=False):
        if pa.types.is_binary(field.type) or pa.types.is_large_binary(field.type):
            raise InvalidArgument(_not_text(source, name), field="uris")


def _require_text_head(source: Source) -> None:
    """Refuse a file whose first 64 KB are not UTF-8 text (a binary file) before pyarrow
    parses it: its invalid-row handler cannot quote such a row."""
    with source.open() as handle:
        head = handle.read(_HEAD)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not a character cut at the end of the read
            line = head.count(b"\n", 0, exc.start) + 1
            raise InvalidArgument(
                f"{source.name}, line {line}: not UTF-8 text (is it a CSV file, saved as UTF-8?)",
                field="uris",
            ) from None


def _not_text(source: Source, column: str) -> str:
    line = _first_binary_line(source)
    where = f", line {line}" if line is not None else ""
    return f"{source.name}{where}: not UTF-8 text (column {column})"


def _first_binary_line(source: Source) -> int | None:
    """The first line that is not UTF-8 text, if any. An error path only, so the file is read
    again line by line."""
    with source.open() as handle:
        for number, line in enumerate(handle, 1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return None


def _unparsed(source: Source, message: str) -> str:
    """pyarrow's parse error, said of the file: a binary file is named as such, a ragged row by
    its line, and the row's text pyarrow quotes is left out."""
    line = _first_binary_line(source)
    if line is not None:
        return f"{source.name}, line {line}: not UTF-8 text (is it a CSV file, saved as UTF-8?)"
    if "Expected" in message and "columns, got" in message:
        return _ragged(source, f"{source.name}: {message.split(': ', 2)[1]}")
    return f"{source.name}: {message[:300]}"


def _ragged(source: Source, message: str) -> str:
    """Name the line of the first ragged row: pyarrow does not always know it. An error path
    only, so the file is read again row by row."""
    if ", line " in message:
        return message
    with source.open() as handle:
        text = io.TextIOWrapper(handle, encoding="utf-8", errors="replace", newline=None)
        rows = csv.reader(text)
        width = None
        for row in _rows_or_stop(rows):
            if not row:
                continue
            if width is None:
                width = len(row)
            elif len(row) != width:
                return (
                    f"{source.name}, line {rows.line_num}: expected {width} columns, got {len(row)}"
                )
    return message


def _rows_or_stop(rows: Any) -> Iterator[list[str]]:
    """The rows ``csv.reader`` gives until one it cannot parse."""
    try:
        yield from rows
    except csv.Error:
        return


def _jsonl(source: Source) -> Iterator[pa.RecordBatch]:
    rows: list[dict[str, Any]] = []
    with source.open() as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise InvalidArgument(
                    f"{source.name}, line {number}: not JSON ({exc})", field="uris"
                ) from None
            if not isinstance(row, dict):
                raise InvalidArgument(
                    f"{source.name}, line {number}: each line must be a JSON object",
                    field="uris",
                )
            rows.append(row)
            if len(rows) >= _LINES:
                yield rows_batch(rows)
                rows = []
    if rows:
        yield rows_batch(rows)


def rows_batch(rows: list[dict[str, Any]]) -> pa.RecordBatch:
    """A batch from row objects; a column whose values mix kinds is read as strings."""
    import pyarrow as pa

    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    arrays = []
    for name in names:
        values = [row.get(name) for row in rows]
        try:
            arrays.append(pa.array(values))
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arrays.append(pa.array([None if v is None else _text(v) for v in values], pa.string()))
    return pa.RecordBatch.from_arrays(arrays, names=list(names))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _parquet(source: Source) -> Iterator[pa.RecordBatch]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    with source.local_copy() as path:
        try:
            file = pq.ParquetFile(path)
            # One row group at a time: over all of them at once pyarrow pre-buffers every
            # group's column chunks, so memory grew with the file (~100 MB a million rows).
            for group in range(file.num_row_groups):
                yield from file.iter_batches(batch_size=_LINES, row_groups=[group])
        except (pa.ArrowInvalid, OSError) as exc:
            raise InvalidArgument(
                f"{source.name}: not a Parquet file ({exc})", field="uris"
            ) from None
