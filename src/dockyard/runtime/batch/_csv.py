"""CSV records: decoding a mini-batch into the model's input, and writing outputs.

Decoding has a fast path and a careful one. The fast path parses the whole mini-batch at once,
and is taken when cheap whole-batch checks prove it safe: the batch has no quote character (so
every comma separates fields) and every record has as many fields as the first. Where the
signature declares every chosen column a number, Arrow's CSV reader parses it (``_csv_arrow``)
and checks each record's field count itself; otherwise pandas' C parser does, after a count of
the batch's commas. Anything else (bad bytes, quotes, a wrong field count, text where the
signature wants a number) takes the careful path, record by record, which names each bad
record's problem; the good records of the batch are still parsed once.

Columns are positional, as SageMaker sends them; the model's signature names and types them
(``double`` columns are read as numbers, ``string`` columns as text). Without a signature a
column is numeric when most of its values are numbers, and every record must have as many
fields as the file's first record.

A file whose first line equals the signature's column names (after the input filter) has a
header, as in online CSV requests: it is not a record, and the first shard skips it. A first
line of text naming some of the signature's columns but not exactly them is a header that does
not fit the model: it is a bad record at line 1 naming what it lacks (under ``on_error=fail``
the job stops there rather than at some record of the wrong width). A UTF-8 byte order mark
at the start of a file is not part of its first line.
"""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from dockyard.api.batch import JsonPath, JsonPathError
from dockyard.runtime.batch._config import ShardTask, WorkerConfig
from dockyard.runtime.batch._csv_arrow import parse_numeric
from dockyard.runtime.batch._encode import (
    csv_block_for,
    csv_rows,
    dump_json,
    filter_csv,
    json_values,
    split_csv_row,
)
from dockyard.runtime.batch._records import BOM, TextBatch
from dockyard.runtime.batch._table import ModelShape, Positions, Table, filtered_positions

if TYPE_CHECKING:
    import pandas as pd
else:
    from dockyard.lazy import pandas as pd

__all__ = ["CsvCodec", "Head"]

_NUMERIC = frozenset({"double", "float", "long", "integer"})
_INTEGER = frozenset({"long", "integer"})
_PANDAS_DTYPES = {"double": "float64", "float": "float64", "long": "int64", "integer": "int64"}
_HEAD_LIMIT = 1024 * 1024


class CsvCodec:
    """Decodes CSV mini-batches and encodes their outputs (CSV or JSON Lines)."""

    def __init__(self, config: WorkerConfig, shape: ModelShape) -> None:
        self._config = config
        self._shape = shape
        self._filter = JsonPath.parse(config.input_filter)
        self._output_filter = JsonPath.parse(config.output_filter)
        self._cache: dict[tuple[int, int | None], list[int] | str] = {}
        self._heads: dict[str, Head] = {}

    def head(self, task: ShardTask) -> Head:
        """The file's header (if any) and the field count of its first record.

        Every shard reads its file's first lines itself, so shards need no coordination.
        """
        found = self._heads.get(task.path)
        if found is None:
            found = self._read_head(task)
            self._heads[task.path] = found
        return found

    def _read_head(self, task: ShardTask) -> Head:
        with Path(task.path).open("rb") as raw:
            handle: Any = gzip.GzipFile(fileobj=raw, mode="rb") if task.kind == "gzip" else raw
            first = handle.readline(_HEAD_LIMIT)
            second = handle.readline(_HEAD_LIMIT) if _whole(first) else b""
        # A line longer than the limit is read in part: its field count is not the record's,
        # so it sets no shape (the record itself is reported when it is scored).
        fields = _fields(first.removeprefix(BOM)) if _whole(first) else None
        header = 0
        problem = None
        names = self._shape.names
        if fields is not None and names is not None:
            try:
                chosen = self._filter.positions(len(fields))
            except JsonPathError:
                chosen = None
            if chosen is not None and [fields[p] for p in chosen] == list(names):
                header = len(first)
            elif _names_columns(fields, names):
                header = len(first)
                problem = self._header_problem(fields, chosen)
        record = (_fields(second) if _whole(second) else None) if header else fields
        return Head(header, len(record) if record is not None else None, problem)

    def _header_problem(self, fields: list[str], chosen: list[int] | None) -> str:
        """Why a header that names some of the signature's columns does not fit it."""
        names = self._shape.names
        types = self._shape.types
        assert names is not None and types is not None
        named = [fields[p] for p in chosen] if chosen is not None else fields
        missing = [
            f"{name!r} (expected {kind})"
            for name, kind in zip(names, types, strict=True)
            if name not in named
        ]
        after = "" if self._filter.is_identity else " after the input filter"
        if missing:
            which = "column" if len(missing) == 1 else "columns"
            return (
                f"the header{after} is missing {which} {', '.join(missing)} of the model's "
                f"signature ({', '.join(names)})"
            )
        extra = [f for f in named if f not in names]
        fix = (
            f": leave out {', '.join(map(repr, extra))} with data_processing.input_filter"
            if extra
            else ", in that order"
        )
        return (
            f"the header{after} names {', '.join(named)}; the model's signature takes "
            f"{', '.join(names)}{fix} (CSV columns are read by position)"
        )

    def _positions(self, width: int, reference: int | None) -> list[int] | str:
        key = (width, reference)
        found = self._cache.get(key)
        if found is None:
            found = filtered_positions(self._filter, width, self._shape, reference)
            self._cache[key] = found
        return found

    def decode(self, batch: TextBatch, task: ShardTask) -> Table:
        """The scorable rows of ``batch`` and their model input."""
        reference = self.head(task).width
        table = self._fast(batch, reference)
        return table if table is not None else self._careful(batch, reference)

    def _fast(self, batch: TextBatch, reference: int | None) -> Table | None:
        data = batch.data
        if not batch.count or b'"' in data:
            return None
        # Bytes that are not UTF-8 make the parsers raise (text columns) or fail to read a
        # number: either way the careful path reports them, so the batch is not decoded here.
        first_end = data.find(b"\n")
        width = data.count(b",", 0, first_end if first_end >= 0 else len(data)) + 1
        positions = self._positions(width, reference)
        if isinstance(positions, str):
            return None
        frame = self._numeric_frame(data, width, positions, batch.count)
        if frame is None:
            frame = self._pandas_frame(data, width, positions, batch.count)
        if frame is None:
            return None
        sources = None
        if self._config.join:
            try:
                sources = data.decode("utf-8").split("\n")
            except UnicodeDecodeError:
                return None
        return self._table(np.arange(batch.count), {}, frame, sources)

    def _numeric_frame(
        self, data: bytes, width: int, positions: list[int], count: int
    ) -> pd.DataFrame | np.ndarray[Any, Any] | None:
        """Arrow's parse, when the signature declares every chosen column a number.

        All-float columns come back as one 2-D array in signature order, which the model's
        signature check passes on as is or turns into the same DataFrame built here otherwise.
        """
        types = self._shape.types
        if types is None:
            return None
        declared: dict[int, str] = {}
        for index, position in enumerate(positions):
            if declared.setdefault(position, types[index]) != types[index]:
                return None
        wanted = sorted(declared)
        columns = parse_numeric(data, width, wanted, [declared[p] for p in wanted], count)
        if columns is None:
            return None
        names = self._column_names(len(positions))
        if all(columns[p].dtype == np.float64 for p in positions):
            # One float block: the model (or its tensor input) takes it without a copy.
            block = np.empty((count, len(positions)), dtype=np.float64)
            for index, position in enumerate(positions):
                block[:, index] = columns[position]
            return block
        return pd.DataFrame(
            {name: columns[p] for name, p in zip(names, positions, strict=True)}, copy=False
        )

    def _pandas_frame(
        self, data: bytes, width: int, positions: list[int], count: int
    ) -> pd.DataFrame | None:
        """pandas' C parser: text columns, models without a signature, no ``pyarrow``."""
        if data.count(b",") != (width - 1) * count:
            return None
        types = self._shape.types
        wanted = sorted(set(positions))
        dtypes = (
            {p: _PANDAS_DTYPES.get(types[i], "str") for i, p in enumerate(positions)}
            if types
            else None
        )
        try:
            frame = pd.read_csv(
                io.BytesIO(data),  # ~3x faster than parsing the decoded text
                header=None,
                usecols=wanted,
                dtype=dtypes,
                keep_default_na=False,
                na_values=[""],
                skip_blank_lines=False,
                engine="c",
            )
        except (ValueError, pd.errors.ParserError):
            return None  # a field the signature's type refuses, or a stray field count
        if len(frame) != count:
            return None
        if types is None and not all(_numeric(frame[p]) for p in wanted):
            return None  # text in some column: let the careful path decide record by record
        frame = frame[positions]
        frame.columns = pd.Index(self._column_names(len(positions)))
        return frame

    def _careful(self, batch: TextBatch, reference: int | None) -> Table:
        bad: dict[int, str] = {}
        kept: list[int] = []
        values: list[list[str]] = []
        lines: list[str] = []
        for index, raw in enumerate(batch.lines()):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                bad[index] = (
                    f"not valid UTF-8: byte 0x{raw[exc.start]:02x} at column {exc.start + 1}"
                )
                continue
            try:
                fields = split_csv_row(line)
            except csv.Error as exc:
                bad[index] = f"malformed CSV: {exc}"
                continue
            if reference is None and self._shape.width is None:
                # The file's first line was unreadable: the batch's first readable record sets
                # the shape instead, so the rows stay rectangular.
                reference = len(fields)
            positions = self._positions(len(fields), reference)
            if isinstance(positions, str):
                bad[index] = positions
                continue
            kept.append(index)
            values.append([fields[p] for p in positions])
            lines.append(line)
        width = len(values[0]) if values else (self._shape.width or 0)
        columns: list[Any] = []
        for column in range(width):
            texts = [row[column] for row in values]
            converted, failures = _convert(texts, self._type(column))
            for row, why in failures.items():
                bad.setdefault(kept[row], f"{self._label(column)}: {why}")
            columns.append(converted)
        good = [row for row, index in enumerate(kept) if index not in bad]
        names = self._column_names(width)
        frame = pd.DataFrame(
            {name: _take(column, good) for name, column in zip(names, columns, strict=True)}
        )
        rows = np.asarray([kept[row] for row in good], dtype=np.intp)
        sources = [lines[row] for row in good] if self._config.join else None
        return self._table(rows, bad, frame, sources)

    def _table(
        self,
        rows: Positions,
        bad: dict[int, str],
        frame: pd.DataFrame | np.ndarray[Any, Any],
        sources: list[Any] | None,
    ) -> Table:
        shape = self._shape
        tensor = shape.tensor_dtype is not None
        if isinstance(frame, np.ndarray):
            block = frame

            def select_rows(positions: Positions) -> Any:
                part = block if len(positions) == len(block) else block[positions]
                return shape.tensor(part) if tensor else part

            return Table(rows, bad, select_rows, sources)

        def select(positions: Positions) -> Any:
            part = frame if len(positions) == len(frame) else frame.iloc[positions]
            return shape.tensor(part) if tensor else part

        return Table(rows, bad, select, sources)

    def _type(self, column: int) -> str | None:
        types = self._shape.types
        return types[column] if types is not None and column < len(types) else None

    def _label(self, column: int) -> str:
        names = self._shape.names
        if names is not None and column < len(names):
            return f"column {names[column]!r}"
        after = "" if self._filter.is_identity else " after the input filter"
        return f"field {column + 1}{after}"

    def _column_names(self, width: int) -> list[Any]:
        names = self._shape.names
        if names is not None and len(names) == width:
            return list(names)
        return list(range(width))

    def encode(
        self, table: Table, positions: Positions, predictions: Any
    ) -> tuple[list[str], dict[int, str]]:
        """Output text per row (joined and filtered as configured), and rows that failed."""
        csv_out = self._config.accept == "text/csv"
        if not csv_out:
            return dump_json(json_values(predictions), self._output_filter)
        texts = csv_rows(predictions)
        if self._config.join and table.sources is not None:
            sources = table.sources
            texts = [f"{sources[p]},{t}" for p, t in zip(positions.tolist(), texts, strict=True)]
        return filter_csv(texts, self._output_filter)

    def encode_block(self, table: Table, predictions: Any) -> bytes | None:
        """Every row's output in one vectorised pass (CSV out, no output filter)."""
        sources = table.sources if self._config.join else None
        return csv_block_for(self._config, self._output_filter, predictions, sources)


class Head(NamedTuple):
    """The first lines of a CSV file, as every shard of it reads them.

    Attributes:
        length: The header's length in bytes (with any byte order mark); 0: no header.
        width: The field count of the file's first record, if readable.
        problem: Why the header does not fit the model's signature (it names columns, but not
            the signature's): the header is then reported as a bad record at its line.
    """

    length: int
    width: int | None
    problem: str | None = None


def _names_columns(fields: list[str], names: tuple[str, ...]) -> bool:
    """Whether a first line reads as a header: text only, naming a signature column."""
    if not any(field in names for field in fields):
        return False
    return not any(_is_number(field) for field in fields)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _whole(line: bytes) -> bool:
    """Whether ``line`` (read with :data:`_HEAD_LIMIT`) is a whole line, not its first part."""
    return len(line) < _HEAD_LIMIT or line.endswith(b"\n")


def _fields(line: bytes) -> list[str] | None:
    try:
        text = line.decode("utf-8").rstrip("\r\n")
        return split_csv_row(text) if text else None
    except (UnicodeDecodeError, csv.Error):
        return None  # a malformed first line is reported as a bad record when it is scored


def _numeric(series: pd.Series[Any]) -> bool:
    return pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype)


def _take(column: Any, rows: list[int]) -> Any:
    if isinstance(column, np.ndarray):
        return column[rows]
    return [column[row] for row in rows]


def _convert(texts: list[str], declared: str | None) -> tuple[Any, dict[int, str]]:
    """Typed values of one column, and the rows whose text the type refuses."""
    failures: dict[int, str] = {}
    if declared == "boolean":
        values: list[Any] = []
        for row, text in enumerate(texts):
            lowered = text.strip().lower()
            if lowered in ("true", "1"):
                values.append(True)
            elif lowered in ("false", "0"):
                values.append(False)
            else:
                values.append(False)
                failures[row] = f"{text!r} is not a boolean"
        return np.asarray(values, dtype=bool), failures
    if declared is not None and declared not in _NUMERIC:
        return [text if text != "" else None for text in texts], failures
    numbers = pd.to_numeric(pd.Series(texts, dtype=object), errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    empty = np.asarray([not text.strip() for text in texts], dtype=bool)
    invalid = np.isnan(numbers) & ~empty
    if declared is None and invalid.sum() * 2 > (~empty).sum():
        return [text if text != "" else None for text in texts], failures  # a text column
    for row in np.flatnonzero(invalid).tolist():
        failures[row] = f"{texts[row]!r} is not a number"
    if declared in _INTEGER:
        return _integers(texts, failures)
    if (
        declared is None
        and not invalid.any()
        and not empty.any()
        and all(text.strip().lstrip("+-").isdigit() for text in texts)
    ):
        return _integers(texts, failures)  # as pandas would infer an integer column
    return numbers, failures


def _integers(texts: list[str], failures: dict[int, str]) -> tuple[Any, dict[int, str]]:
    # int() is exact where a float64 detour would round values past 2**53.
    values = np.zeros(len(texts), dtype=np.int64)
    for row, text in enumerate(texts):
        if row in failures:
            continue
        if not text.strip():
            failures[row] = "empty, and integer columns cannot hold missing values"
            continue
        try:
            values[row] = int(text)
        except ValueError:
            failures[row] = f"{text!r} is not an integer"
        except OverflowError:
            failures[row] = f"{text!r} does not fit in 64 bits"
    return values, failures
