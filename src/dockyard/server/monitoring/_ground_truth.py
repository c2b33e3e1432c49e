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


#: Problems listed in a refusal; the rest are counted.
MAX_LISTED = 20


def _ground_truth_items(text: bytes, problems: list[tuple[str, str]]) -> tuple[list[Any], bool]:
    """The items of a JSON list, or of JSON Lines (a line that is not JSON is a problem, and
    its item ``None``); and whether they were lines."""
    if text.startswith(b"["):
        try:
            listed = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise InvalidArgument(f"not a JSON list: {exc}", field="body") from exc
        return list(listed), False
    items: list[Any] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            items.append(_BLANK)
            continue
        try:
            items.append(orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            problems.append((f"line {number}", f"not JSON: {exc}"))
            items.append(_BLANK)
    return items, True


_BLANK = object()


def parse_ground_truth(body: bytes) -> list[GroundTruthRecord]:
    """A JSON list or JSON Lines of ``{"inference_id", "label"}``. A refusal lists every
    problem (up to :data:`MAX_LISTED`, the rest counted), each at its line or item, in the
    message and as ``details["problems"]`` (``{"field": "body", "at": "line 3", "message"}``)."""
    text = body.strip()
    if not text:
        raise InvalidArgument("no ground truth: send a JSON list or JSON Lines", field="body")
    problems: list[tuple[str, str]] = []
    items, as_lines = _ground_truth_items(text, problems)
    if len(items) > MAX_GROUND_TRUTH:
        raise InvalidArgument(
            f"{len(items)} labels in one upload; at most {MAX_GROUND_TRUTH}", field="body"
        )
    records = []
    for i, item in enumerate(items):
        if item is _BLANK:
            continue
        where = f"line {i + 1}" if as_lines else f"item {i}"
        try:
            record = GroundTruthRecord.model_validate(item)
        except ValidationError as exc:
            for problem in exc.errors():
                field = ".".join(str(p) for p in problem["loc"]) or "record"
                problems.append((where, f"{field}: {_message(problem)}"))
            continue
        if record.label is None:
            problems.append((where, "label: a label is required"))
            continue
        records.append(record)
    if problems:
        problems.sort(key=lambda p: int(p[0].split()[1]))
        raise _refusal(problems)
    return records


def _message(problem: Any) -> str:
    if problem["type"] == "missing":
        return "field required"
    if problem["type"] == "extra_forbidden":
        return "unknown field"
    return str(problem["msg"])


def _refusal(problems: list[tuple[str, str]]) -> InvalidArgument:
    listed = problems[:MAX_LISTED]
    text = "; ".join(f"{at}: {message}" for at, message in listed)
    if len(problems) > 1:
        text = f"{len(problems)} problems in the ground truth: {text}"
        if len(problems) > len(listed):
            text += f"; {len(problems) - len(listed)} more not listed"
    details = {
        "problems": [{"field": "body", "at": at, "message": message} for at, message in listed]
    }
    return InvalidArgument(text, field="body", details=details)
