"""Parquet input: row groups streamed as mini-batches of rows.

SageMaker batch transform has no Parquet support, so this follows its rules where they carry
over: with ``split_type=Line`` each row is a record (reports give 1-based row numbers where text
formats give line numbers); with ``None`` the whole file is one record. Input filters select
columns by position (``$[1:]``) or name (``$.a``, ``$['a','b']``). Output is JSON Lines by
default, or CSV when ``accept`` says so; a join writes the input row (an object, or CSV fields)
followed by its prediction.

Mini-batches are sized from the row groups' uncompressed size so that each holds about
``batch_bytes`` of data, and only the current mini-batch is decoded at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from dockyard.api.batch import JsonPath, JsonPathError
from dockyard.errors import InvalidArgument
from dockyard.models import to_jsonable
from dockyard.runtime.batch._config import ShardTask, WorkerConfig
from dockyard.runtime.batch._encode import (
    csv_block_for,
    csv_rows,
    dump_json,
    filter_csv,
    joined_json,
    json_values,
    text_column,
)
from dockyard.runtime.batch._records import Oversized
from dockyard.runtime.batch._table import ModelShape, Positions, Table

if TYPE_CHECKING:
    import pandas as pd
else:
    from dockyard.lazy import pandas as pd

__all__ = ["FrameBatch", "ParquetCodec", "parquet_batches"]


@dataclass(slots=True)
class FrameBatch:
    """Consecutive rows of a Parquet shard.

    Attributes:
        frame: The rows.
        first_line: The 1-based row number of the first row in its file.
        nbytes: Input bytes this batch accounts for, for progress.
        whole: The batch is one record (``split_type=None``).
    """

    frame: pd.DataFrame
    first_line: int
    nbytes: int
    whole: bool = False

    @property
    def count(self) -> int:
        """How many rows."""
        return len(self.frame)

    def line(self, index: int) -> int:
        """The row number of row ``index``."""
        return self.first_line + index


def parquet_batches(task: ShardTask, config: WorkerConfig) -> Iterator[FrameBatch | Oversized]:
    """The mini-batches of a Parquet shard, in row order."""
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(task.path)
    metadata = parquet.metadata
    groups = list(task.row_groups)
    rows = sum(metadata.row_group(g).num_rows for g in groups)
    memory = sum(metadata.row_group(g).total_byte_size for g in groups)
    if config.whole_file:
        if config.max_record_bytes is not None and memory > config.max_record_bytes:
            yield Oversized(task.first_line, memory, task.nbytes)
            return
        frame = parquet.read_row_groups(groups, use_threads=False).to_pandas()
        yield FrameBatch(frame, task.first_line, task.nbytes, whole=True)
        return
    if config.single_record:
        size = 1
    else:
        size = max(1, int(config.batch_bytes * rows / memory)) if memory else max(rows, 1)
    line = task.first_line
    credited = 0
    for record_batch in parquet.iter_batches(batch_size=size, row_groups=groups, use_threads=False):
        count = record_batch.num_rows
        done = line + count - task.first_line
        # Bytes are credited in proportion to rows; the last batch takes the remainder.
        nbytes = task.nbytes * done // rows - credited if rows else task.nbytes
        credited += nbytes
        yield FrameBatch(record_batch.to_pandas(), line, nbytes)
        line += count


class ParquetCodec:
    """Selects the model's columns from Parquet rows and encodes outputs."""

    def __init__(self, config: WorkerConfig, shape: ModelShape) -> None:
        self._config = config
        self._shape = shape
        self._filter = JsonPath.parse(config.input_filter)
        self._output_filter = JsonPath.parse(config.output_filter)

    def decode(self, batch: FrameBatch, task: ShardTask) -> Table:
        """The model input for the rows of ``batch`` (every row is structurally valid)."""
        frame = batch.frame
        names = [str(c) for c in frame.columns]
        try:
            positions = self._filter.positions(len(names), names)
        except JsonPathError as exc:
            # A property of the file's schema, not of a record: no row could be scored.
            raise InvalidArgument(
                f"input filter {self._filter.text} does not apply to {task.named}: {exc} "
                f"(columns: {', '.join(names)})",
                field="data_processing.input_filter",
            ) from exc
        selected = frame.iloc[:, positions]
        shape = self._shape

        def select(rows: Positions) -> Any:
            part = selected if len(rows) == len(selected) else selected.iloc[rows]
            return shape.tensor(part) if shape.tensor_dtype is not None else part

        table = Table(np.arange(len(frame), dtype=np.intp), {}, select)
        if self._config.join:
            table.extra["frame"] = frame
        return table

    def encode(
        self, table: Table, positions: Positions, predictions: Any
    ) -> tuple[list[str], dict[int, str]]:
        """Output text per row (joined and filtered as configured), and rows that failed."""
        frame = table.extra.get("frame")
        rows = table.rows[positions]
        if self._config.accept == "text/csv":
            texts = csv_rows(predictions)
            if frame is not None:
                part = frame.iloc[rows]
                columns = [text_column(part.iloc[:, i]) for i in range(part.shape[1])]
                inputs = [",".join(fields) for fields in zip(*columns, strict=True)]
                texts = [f"{i},{t}" for i, t in zip(inputs, texts, strict=True)]
            return filter_csv(texts, self._output_filter)
        outputs = json_values(predictions)
        if frame is not None:
            records = to_jsonable(frame.iloc[rows])
            outputs = [joined_json(r, o) for r, o in zip(records, outputs, strict=True)]
        return dump_json(outputs, self._output_filter)

    def encode_block(self, table: Table, predictions: Any) -> bytes | None:
        """Every row's output in one vectorised pass (CSV out, no join, no output filter)."""
        if self._config.join:
            return None
        return csv_block_for(self._config, self._output_filter, predictions, None)
