"""Arrow's numeric CSV parse: used only where it reads exactly what the careful path reads."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dockyard.runtime.batch import _csv, _csv_arrow
from dockyard.runtime.batch._csv_arrow import parse_numeric

from .conftest import Scored


def test_reads_declared_floats_and_integers() -> None:
    columns = parse_numeric(b"1.5,7,x\n,8,y\n-2e3,9,z", 3, [0, 1], ["double", "long"], 3)
    assert columns is not None
    np.testing.assert_array_equal(columns[0], [1.5, np.nan, -2000.0])
    assert columns[1].dtype == np.int64
    assert columns[1].tolist() == [7, 8, 9]


@pytest.mark.parametrize(
    ("data", "types"),
    [
        (b"1.0,2.0\n3.0", ["double", "double"]),  # a record with another field count
        (b"1.0,nan\n3.0,4.0", ["double", "double"]),  # text that reads as NaN
        (b"1,\n3,4", ["long", "long"]),  # a missing value in an integer column
        (b"1.5,2\n3,4", ["long", "long"]),  # not an integer
        (b"1.0,abc\n3.0,4.0", ["double", "double"]),  # not a number
        (b"1.0,2.0\n3.0,4.0", ["double", "string"]),  # a text column: pandas reads it
    ],
    ids=["field-count", "nan-text", "int-missing", "int-not-int", "not-a-number", "text-column"],
)
def test_batches_it_cannot_read_exactly_go_back(data: bytes, types: list[str]) -> None:
    assert parse_numeric(data, 2, [0, 1], types, data.count(b"\n") + 1) is None


# Odd but legal spellings, missing values, blank lines, and records the careful path must name.
MIXED = (
    "a,b,c\n"
    "1,2,3\n"
    "1e3,+2,-0\n"
    ",5,6\n"
    "\n"
    "7,8\n"
    "nan,1,2\n"
    " 1 ,2.5,3.\n"
    "inf,-Infinity,0.000001\n"
    "9,x,1\n"
    "4,5,6,7\n"
    "0.1,0.2,0.3\n"
)


@pytest.mark.parametrize("join", [False, True])
def test_outputs_and_reports_match_the_path_without_arrow(
    tmp_path: Path,
    score_file: Callable[..., Scored],
    monkeypatch: pytest.MonkeyPatch,
    join: bool,
) -> None:
    source = tmp_path / "in.csv"
    source.write_text(MIXED)
    parsed: list[bool] = []

    def spy(*args: Any) -> Any:
        columns = parse_numeric(*args)
        parsed.append(columns is not None)
        return columns

    monkeypatch.setattr(_csv, "parse_numeric", spy)
    with_arrow = score_file("linear", source, join=join, batch_bytes=24)
    assert True in parsed and False in parsed  # both paths ran
    monkeypatch.setattr(_csv_arrow, "optional_arrow", lambda: None)
    without = score_file("linear", source, join=join, batch_bytes=24)
    assert with_arrow.text == without.text
    assert with_arrow.bad == without.bad
    assert [line for line, _ in with_arrow.bad] == [6, 7, 10, 11]
    assert with_arrow.marker["records"] == 6
