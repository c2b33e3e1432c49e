"""Predictions as per-record output text."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from dockyard.errors import ModelError
from dockyard.runtime.batch._encode import csv_block, csv_rows, json_values, normalize, text_column


@pytest.mark.parametrize(
    ("predictions", "expected"),
    [
        (np.asarray([0.1, 2.5], dtype=np.float32), ["0.1", "2.5"]),
        (np.asarray([0.1, np.nan]), ["0.1", ""]),
        (np.asarray([[1, 2], [3, 4]]), ["1,2", "3,4"]),
        (pd.DataFrame({"label": ["a,b", 'q"x'], "p": [0.5, 1.0]}), ['"a,b",0.5', '"q""x",1']),
        (np.asarray([True, False]), ["true", "false"]),
        ([[1, "x"], [2, None]], ["1,x", "2,"]),
    ],
    ids=["float32", "nan", "2d", "frame-quoted", "bool", "rows"],
)
def test_csv_rows(predictions: Any, expected: list[str]) -> None:
    assert csv_rows(normalize(predictions, len(expected))) == expected


def test_float32_text_reads_back_to_the_same_value() -> None:
    values = np.random.default_rng(0).normal(size=1_000).astype(np.float32)
    assert (np.asarray(text_column(values), dtype=np.float32) == values).all()


def test_json_values_per_record() -> None:
    assert json_values(normalize(pd.DataFrame({"a": [1, 2]}), 2)) == [{"a": 1}, {"a": 2}]
    assert json_values(normalize(np.asarray([[1.0, np.nan]]), 1)) == [[1.0, None]]
    assert json_values(normalize({"p": [0.25]}, 1)) == [{"p": 0.25}]


def test_one_scalar_for_one_record() -> None:
    assert normalize(3.0, 1).tolist() == [3.0]  # type: ignore[union-attr]


def test_count_mismatch() -> None:
    with pytest.raises(ModelError, match="returned 2 predictions for 3 records"):
        normalize(pd.Series([1, 2]), 3)


@pytest.mark.parametrize(
    "predictions",
    [
        np.random.default_rng(1).normal(size=300).astype(np.float32),
        np.asarray([0.1, np.nan, -np.inf, 1e300, 5e-324, -0.0]),
        np.asarray([3, -7, 2**62], dtype=np.int64),
        np.asarray([[0.25], [np.nan]], dtype=np.float32),
    ],
    ids=["float32", "float64-edges", "int64", "one-column"],
)
@pytest.mark.parametrize("separator", ["\n", ""])
@pytest.mark.parametrize("join", [False, True])
def test_csv_block_writes_what_the_rows_would(
    predictions: np.ndarray[Any, Any], separator: str, join: bool
) -> None:
    rows = csv_rows(normalize(predictions, len(predictions)))
    sources = [f"{i},x{i}" for i in range(len(predictions))] if join else None
    if sources is not None:
        rows = [f"{s},{r}" for s, r in zip(sources, rows, strict=True)]
    expected = "".join(r + separator for r in rows).encode()
    assert csv_block(predictions, sources, separator) == expected


@pytest.mark.parametrize(
    "predictions",
    [
        np.asarray([[1.0, 2.0], [3.0, 4.0]]),
        np.asarray(["a", "b"], dtype=object),
        np.asarray([True, False]),
        pd.DataFrame({"p": [1.0, 2.0]}),
        [1.0, 2.0],
    ],
    ids=["two-columns", "objects", "bool", "frame", "list"],
)
def test_csv_block_leaves_other_predictions_to_the_rows(predictions: Any) -> None:
    assert csv_block(predictions, None, "\n") is None
