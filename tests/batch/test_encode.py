"""Predictions as per-record output text."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from dockyard.batch._encode import csv_rows, json_values, normalize, text_column
from dockyard.errors import ModelError


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
