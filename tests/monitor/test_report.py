from __future__ import annotations

import re
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pyarrow as pa

from dockyard.monitor import Dataset, check, render_report, suggest_baseline

from .conftest import frame, write_csv


def test_one_plot_per_feature_and_everything_escaped(tmp_path: Path) -> None:
    hostile = "<script>alert('x')</script>"
    columns = frame(np.random.default_rng(1), 2000)
    columns[hostile] = pa.array([hostile, "a&b"] * 1000, pa.string())
    baseline = suggest_baseline(Dataset((str(write_csv(tmp_path / "b.csv", columns)),)))
    current = frame(np.random.default_rng(2), 2000, mean=1.0)
    current[hostile] = pa.array(["<b>new</b>"] * 2000, pa.string())
    result = check(Dataset((str(write_csv(tmp_path / "c.csv", current)),)), baseline)
    page = render_report(result, baseline)
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page
    assert "<b>new" not in page
    assert "&lt;script&gt;" in page
    assert page.count("<svg") == len(baseline.statistics["features"]) == 6
    assert not re.search(r"(src|href)=", page)  # self-contained
    drifted = re.findall(r"<div class='feature drifted'><h3>([^<]*)</h3>", page)
    assert "x" in drifted
    assert "baseline_drift_check" in page
    for svg in re.findall(r"<svg.*?</svg>", page, re.S):
        plot = ElementTree.fromstring(svg)  # well-formed, attributes quoted and escaped
        assert plot.findall("{http://www.w3.org/2000/svg}rect")
