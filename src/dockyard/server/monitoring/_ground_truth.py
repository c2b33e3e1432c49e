"""Ground truth as uploaded: a JSON list or JSON Lines of ``{"inference_id", "label"}``,
checked record by record (errors name the line or item)."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import ValidationError

from dockyard.api.monitoring import GroundTruthRecord
from dockyard.errors import InvalidArgument

__all__ = ["MAX_GROUND_TRUTH", "parse_ground_truth"]

#: Labels in one upload.
MAX_GROUND_TRUTH = 100_000


def _ground_truth_items(text: bytes) -> tuple[list[Any], bool]:
    """The items of a JSON list, or of JSON Lines; and whether they were lines."""
    if text.startswith(b"["):
        try:
            items = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise InvalidArgument(f"not a JSON list: {exc}", field="body") from exc
        return list(items), False
    items = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                items.append(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                raise InvalidArgument(f"line {number}: not JSON: {exc}", field="body") from exc
    return items, True


def parse_ground_truth(body: bytes) -> list[GroundTruthRecord]:
    """A JSON list or JSON Lines of ``{"inference_id", "label"}``; errors name the line."""
    text = body.strip()
    if not text:
        raise InvalidArgument("no ground truth: send a JSON list or JSON Lines", field="body")
    items, as_lines = _ground_truth_items(text)
    if len(items) > MAX_GROUND_TRUTH:
        raise InvalidArgument(
            f"{len(items)} labels in one upload; at most {MAX_GROUND_TRUTH}", field="body"
        )
    records = []
    for i, item in enumerate(items):
        where = f"line {i + 1}" if as_lines else f"item {i}"
        try:
            record = GroundTruthRecord.model_validate(item)
        except ValidationError as exc:
            problem = exc.errors()[0]
            field = ".".join(str(p) for p in problem["loc"]) or "record"
            raise InvalidArgument(f"{where}: {field}: {problem['msg']}", field="body") from exc
        if record.label is None:
            raise InvalidArgument(f"{where}: label: a label is required", field="body")
        records.append(record)
    return records
