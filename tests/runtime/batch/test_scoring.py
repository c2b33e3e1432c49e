"""Predicting mini-batches and isolating the records a model refuses."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from dockyard.errors import InvalidArgument, ModelError
from dockyard.runtime.batch._scoring import BadRecordFound, score
from dockyard.runtime.batch._table import Table


def _table(values: list[float]) -> Table:
    data = np.asarray(values)
    return Table(np.arange(len(data)), {}, lambda positions: data[positions])


class Model:
    """Doubles its input; refuses any batch holding a negative value. Counts calls."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def predict(self, batch: Any) -> Any:
        self.calls.append(len(batch))
        if (batch < 0).any():
            raise InvalidArgument(f"negative value {batch[batch < 0][0]}")
        return batch * 2


def test_a_good_batch_is_one_call() -> None:
    model = Model()
    scored = score(model.predict, _table([1.0, 2.0, 3.0]), atomic=False, fail_fast=False)
    assert model.calls == [3]
    assert scored.bad == {}
    [(positions, predictions)] = scored.groups
    assert positions.tolist() == [0, 1, 2]
    assert predictions.tolist() == [2.0, 4.0, 6.0]


def test_bisection_isolates_each_bad_record_and_keeps_order() -> None:
    values = [float(i) for i in range(1_024)]
    for bad in (5, 6, 700):
        values[bad] = -1.0
    model = Model()
    scored = score(model.predict, _table(values), atomic=False, fail_fast=False)
    assert sorted(scored.bad) == [5, 6, 700]
    assert scored.bad[5] == "negative value -1.0"
    kept = np.concatenate([p for p, _ in scored.groups])
    assert kept.tolist() == [i for i in range(1_024) if i not in (5, 6, 700)]
    predicted = np.concatenate([y for _, y in scored.groups])
    np.testing.assert_array_equal(predicted, kept * 2.0)
    # about 2 * log2(n) calls per bad record, far from one call per record
    assert len(model.calls) < 3 * 2 * 11


def test_fail_fast_stops_at_the_first_bad_record() -> None:
    values = [1.0] * 64
    values[9] = values[40] = -5.0
    with pytest.raises(BadRecordFound) as found:
        score(Model().predict, _table(values), atomic=False, fail_fast=True)
    assert found.value.position == 9
    assert found.value.reason == "negative value -5.0"


def test_atomic_batches_fail_as_a_whole() -> None:
    model = Model()
    scored = score(model.predict, _table([1.0, -1.0, 2.0]), atomic=True, fail_fast=False)
    assert model.calls == [3]  # no bisection: the rows are one record
    assert sorted(scored.bad) == [0, 1, 2]


def test_a_prediction_count_mismatch_is_the_models_error() -> None:
    with pytest.raises(ModelError, match="returned 1 predictions for 3 records"):
        score(
            lambda batch: np.asarray([1.0]), _table([1.0, 2.0, 3.0]), atomic=False, fail_fast=False
        )


def test_memory_errors_are_not_blamed_on_records() -> None:
    def exhausted(batch: Any) -> Any:
        raise MemoryError

    with pytest.raises(MemoryError):
        score(exhausted, _table([1.0, 2.0]), atomic=False, fail_fast=False)
