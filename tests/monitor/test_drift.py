from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dockyard.monitor import Baseline, CheckOptions, Dataset, check
from dockyard.monitor.drift import categorical_distances, chi_square_sf, numerical_distances
from dockyard.monitor.sketch import KLLSketch

from .conftest import frame, write_csv

# Each planted shift and the feature it moves (conftest.frame).
_PLANTED = {"mean": ("x", 0.5), "scale": ("y", 2.0), "swap": ("c", 1), "new": ("c", 0.2)}


def _drifted(
    tmp_path: Path, baseline: Baseline, seed: int, metric: str, **shift: float
) -> set[str]:
    path = write_csv(
        tmp_path / f"current-{seed}.csv", frame(np.random.default_rng(seed), 2000, **shift)
    )
    result = check(Dataset((str(path),)), baseline, CheckOptions(drift_metric=metric))
    return {d.feature for d in result.drift if d.drifted}


@pytest.mark.parametrize("metric", ["distance", "psi", "js"])
@pytest.mark.parametrize("shift", sorted(_PLANTED))
def test_each_planted_shift_is_flagged_and_only_there(
    tmp_path: Path, baseline: Baseline, shift: str, metric: str
) -> None:
    feature, amount = _PLANTED[shift]
    assert _drifted(tmp_path, baseline, 11, metric, **{shift: amount}) == {feature}


@pytest.mark.parametrize("metric", ["distance", "psi", "js", "ks", "wasserstein", "chi_square"])
def test_no_shift_raises_at_most_one_false_alarm_in_twenty_runs(
    tmp_path: Path, baseline: Baseline, metric: str
) -> None:
    alarms = sum(bool(_drifted(tmp_path, baseline, 100 + seed, metric)) for seed in range(20))
    assert alarms <= 1


def _sketch(values: Any) -> KLLSketch:
    sketch = KLLSketch(seed=0)
    sketch.update(values)
    return sketch


def test_numerical_distances_match_their_definitions() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 20_000), rng.normal(0.3, 1, 20_000)
    found = numerical_distances(_sketch(a), _sketch(b))
    grid = np.sort(np.concatenate([a, b]))
    ecdf_a = np.searchsorted(np.sort(a), grid, side="right") / len(a)
    ecdf_b = np.searchsorted(np.sort(b), grid, side="right") / len(b)
    assert found.ks == pytest.approx(np.max(np.abs(ecdf_a - ecdf_b)), abs=0.005)
    assert found.wasserstein == pytest.approx(0.3, abs=0.03)
    assert found.distance == found.ks
    same = numerical_distances(_sketch(a), _sketch(a))
    assert (same.ks, same.psi, same.js, same.wasserstein) == (0.0, 0.0, 0.0, 0.0)


def test_categorical_distances_match_their_definitions() -> None:
    found = categorical_distances({"a": 60, "b": 40}, {"a": 40, "b": 60})
    assert found.distance == pytest.approx(0.2)
    assert found.psi == pytest.approx(2 * 0.2 * np.log(1.5))
    assert found.ks is None and found.wasserstein is None
    assert found.chi_square_p is not None and found.chi_square_p < 0.01
    assert categorical_distances({"a": 5}, {"a": 7}).chi_square_p == 1.0


@pytest.mark.parametrize(
    ("x", "df", "expected"),
    # Reference values of the chi-square survival function (R: pchisq(x, df, lower=FALSE)).
    [(3.841459, 1, 0.05), (5.991465, 2, 0.05), (0.5, 1, 0.4795001), (50, 10, 2.669083e-07)],
)
def test_chi_square_survival_function(x: float, df: int, expected: float) -> None:
    assert chi_square_sf(x, df) == pytest.approx(expected, rel=1e-5)
