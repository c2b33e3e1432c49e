"""Synthetic data for the monitoring tests, written as real files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from dockyard.monitor import Baseline, Dataset, suggest_baseline


def write_csv(path: Path, columns: dict[str, Any], *, header: bool = True) -> Path:
    """``columns`` (name -> values) as a CSV file."""
    table = pa.table(columns)
    options = pacsv.WriteOptions(include_header=header, quoting_style="none")
    pacsv.write_csv(table, path, write_options=options)
    return path


def frame(rng: np.random.Generator, rows: int, **shift: float) -> dict[str, Any]:
    """Three numeric and two categorical features; ``shift`` plants changes:
    ``mean`` (x moves by that many std devs), ``scale`` (y's std dev is multiplied),
    ``swap`` (c's two main categories trade shares), ``new`` (that share of c is a new value)."""
    shares = [0.6, 0.3, 0.1]
    if shift.get("swap"):
        shares = [0.3, 0.6, 0.1]
    c = rng.choice(["a", "b", "c"], size=rows, p=shares).astype(object)
    if shift.get("new"):
        c[rng.random(rows) < shift["new"]] = "zz"
    return {
        "x": rng.normal(shift.get("mean", 0.0), 1.0, rows),
        "y": rng.normal(10.0, 2.0 * shift.get("scale", 1.0), rows),
        "n": rng.integers(0, 100, rows),
        "c": pa.array(c.tolist(), pa.string()),
        "d": pa.array(rng.choice(["u", "v"], size=rows).tolist(), pa.string()),
    }


@pytest.fixture
def baseline_csv(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "baseline.csv", frame(np.random.default_rng(7), 5000))


@pytest.fixture
def baseline(baseline_csv: Path) -> Baseline:
    return suggest_baseline(Dataset((str(baseline_csv),)))
