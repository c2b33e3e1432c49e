"""JSON Lines records: one JSON value per line in, one per line out.

A record is an object (named fields), an array (positional fields) or, for tensor models, an
array of numbers. After the input filter the mini-batch's values go through the same decoding
as an ``{"instances": [...]}`` request to an endpoint, so a record scores the same in batch and
online. With ``join_source=Input`` the prediction is added to the input object under
``SageMakerOutput``; a record that is not an object becomes
``{"SageMakerInput": record, "SageMakerOutput": prediction}``, as SageMaker does.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from dockyard.api.batch import JsonPath, JsonPathError
from dockyard.models import decode_json
from dockyard.runtime.batch._config import ShardTask, WorkerConfig
from dockyard.runtime.batch._encode import (
    csv_block_for,
    csv_rows,
    dump_json,
    filter_csv,
    joined_json,
    json_values,
)
from dockyard.runtime.batch._records import TextBatch
from dockyard.runtime.batch._table import ModelShape, Positions, Table

__all__ = ["JsonLinesCodec"]

try:  # orjson parses ~3x faster; the model's own environment may not have it
    import orjson

    _loads: Any = orjson.loads
    _DECODE_ERRORS: tuple[type[Exception], ...] = (orjson.JSONDecodeError, UnicodeDecodeError)
except ImportError:  # pragma: no cover - depends on the environment
    _loads = json.loads
    _DECODE_ERRORS = (json.JSONDecodeError, UnicodeDecodeError)


class JsonLinesCodec:
    """Decodes JSON Lines mini-batches and encodes their outputs (JSON Lines or CSV)."""

    def __init__(self, config: WorkerConfig, shape: ModelShape) -> None:
        self._config = config
        self._shape = shape
        self._filter = JsonPath.parse(config.input_filter)
        self._output_filter = JsonPath.parse(config.output_filter)

    def decode(self, batch: TextBatch, task: ShardTask) -> Table:
        """The scorable rows of ``batch`` and their model input."""
        del task  # JSON records carry their own structure
        bad: dict[int, str] = {}
        rows: list[int] = []
        values: list[Any] = []
        sources: list[Any] = []
        for index, raw in enumerate(batch.lines()):
            try:
                record = _loads(raw)
            except _DECODE_ERRORS as exc:
                bad[index] = _json_error(raw, exc)
                continue
            try:
                values.append(self._filter.select(record))
            except JsonPathError as exc:
                bad[index] = f"input filter {self._filter.text}: {exc}"
                continue
            rows.append(index)
            sources.append(record)
        schema = self._shape.schema

        def select(positions: Positions) -> Any:
            chosen = [values[p] for p in positions.tolist()]
            return decode_json(chosen, schema)[0]

        kept = sources if self._config.join else None
        return Table(np.asarray(rows, dtype=np.intp), bad, select, kept)

    def encode(
        self, table: Table, positions: Positions, predictions: Any
    ) -> tuple[list[str], dict[int, str]]:
        """Output text per row (joined and filtered as configured), and rows that failed."""
        if self._config.accept == "text/csv":
            return filter_csv(csv_rows(predictions), self._output_filter)
        outputs = json_values(predictions)
        if self._config.join and table.sources is not None:
            sources = table.sources
            outputs = [
                joined_json(sources[p], value)
                for p, value in zip(positions.tolist(), outputs, strict=True)
            ]
        return dump_json(outputs, self._output_filter)

    def encode_block(self, table: Table, predictions: Any) -> bytes | None:
        """Every row's output in one vectorised pass (CSV out, no join, no output filter)."""
        if self._config.join:
            return None
        return csv_block_for(self._config, self._output_filter, predictions, None)


def _json_error(raw: bytes, exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"not valid UTF-8: byte 0x{raw[exc.start]:02x} at column {exc.start + 1}"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as bad_bytes:  # orjson reports bad UTF-8 as a JSON error
        return f"not valid UTF-8: byte 0x{raw[bad_bytes.start]:02x} at column {bad_bytes.start + 1}"
    return f"invalid JSON: {exc}"
