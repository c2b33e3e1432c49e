"""Predicting a decoded mini-batch, and finding the records that made it fail.

One predict call per mini-batch is the fast path. When it raises, the batch is bisected: each
half is predicted on its own, recursively, until the records that fail alone are found. Good
records are never dropped because a neighbour was bad, and a batch with one bad record costs
about two extra passes over it rather than one call per record. Under ``on_error=fail`` the
search stops at the first bad record found.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from dockyard.errors import DockyardError
from dockyard.runtime.batch._encode import normalize

__all__ = ["BadRecordFound", "Decoded", "Scored", "reason_of", "score"]

Positions = np.ndarray[Any, np.dtype[np.intp]]


class Decoded(Protocol):
    """A mini-batch a codec has decoded: ``size`` scorable rows and their model input."""

    @property
    def size(self) -> int:
        """How many rows can be predicted (structurally bad records are already left out)."""
        ...

    def model_input(self, positions: Positions) -> Any:
        """The model input for the rows at ``positions`` (0 <= position < size)."""
        ...


class BadRecordFound(Exception):  # a signal the worker catches, not an error type
    """The first bad record under ``on_error=fail``: ``position`` in the decoded rows."""

    def __init__(self, position: int, reason: str) -> None:
        super().__init__(reason)
        self.position = position
        self.reason = reason


@dataclass(slots=True)
class Scored:
    """Predictions in row order as ``(positions, predictions)`` groups; the rows that failed."""

    groups: list[tuple[Positions, Any]] = field(default_factory=list)
    bad: dict[int, str] = field(default_factory=dict)


def reason_of(exc: BaseException) -> str:
    """The words a bad-record report gives for ``exc``."""
    if isinstance(exc, DockyardError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


def score(
    predict: Callable[[Any], Any], decoded: Decoded, *, atomic: bool, fail_fast: bool
) -> Scored:
    """Predict every row of ``decoded``, isolating the rows the model cannot score.

    Args:
        predict: The model's predict function.
        decoded: The decoded mini-batch.
        atomic: The rows form one record (``split_type=None``): any failure fails them all.
        fail_fast: Raise :class:`BadRecordFound` at the first failing row.

    Raises:
        BadRecordFound: Under ``fail_fast``.
        ModelError: The model returned a different number of predictions than rows (a defect
            of the model, not of a record).
    """
    scored = Scored()
    if decoded.size:
        _attempt(predict, decoded, np.arange(decoded.size), scored, atomic, fail_fast)
    return scored


def _attempt(
    predict: Callable[[Any], Any],
    decoded: Decoded,
    positions: Positions,
    scored: Scored,
    atomic: bool,
    fail_fast: bool,
) -> None:
    try:
        raw = predict(decoded.model_input(positions))
    except MemoryError:
        raise  # not the record's fault; bisecting would only hide it
    except Exception as exc:  # the model's or the signature's refusal of (some) rows
        reason = reason_of(exc)
        if atomic or len(positions) == 1:
            if fail_fast:
                raise BadRecordFound(int(positions[0]), reason) from exc
            for position in positions.tolist():
                scored.bad[position] = reason
            return
        middle = len(positions) // 2
        _attempt(predict, decoded, positions[:middle], scored, atomic, fail_fast)
        _attempt(predict, decoded, positions[middle:], scored, atomic, fail_fast)
        return
    scored.groups.append((positions, normalize(raw, len(positions))))
