"""Distances between a baseline distribution and the current one, per feature.

Numerical features are compared through their KLL sketches (items weighted by level), so a
baseline's ``statistics.json`` is all a check needs:

- ``distance``: SageMaker's ``baseline_drift_check`` distance, the L-infinity distance between
  the two CDFs (for numbers this is the two-sample Kolmogorov-Smirnov statistic ``ks``; for
  categories, the largest difference of a category's share);
- ``psi``: population stability index over the baseline's deciles (categories: over the union
  of values), shares floored at 1e-4 so an empty bin counts without being infinite;
- ``js``: Jensen-Shannon distance (base 2, in [0, 1]) over the same bins;
- ``wasserstein``: earth mover's distance in the feature's units (numbers only);
- ``chi_square_p``: p-value of a chi-square goodness-of-fit test of the current counts against
  the baseline's shares, add-half smoothed (categories only). With large samples any
  difference is significant, so it is reported, not a default decider.

Categorical baselines list the top values only; the rest is pooled as one "other" value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dockyard.monitor.sketch import KLLSketch

__all__ = [
    "Distances",
    "categorical_distances",
    "chi_square_sf",
    "ks_critical",
    "numerical_distances",
]

_FLOOR = 1e-4
_DECILES = np.linspace(0.1, 0.9, 9)
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Distances:
    distance: float
    psi: float
    js: float
    ks: float | None = None
    wasserstein: float | None = None
    chi_square_p: float | None = None


def _psi_js(expected: Floats, actual: Floats) -> tuple[float, float]:
    p = np.maximum(expected / max(expected.sum(), 1e-300), _FLOOR)
    q = np.maximum(actual / max(actual.sum(), 1e-300), _FLOOR)
    p, q = p / p.sum(), q / q.sum()
    psi = float(np.sum((q - p) * np.log(q / p)))
    m = (p + q) / 2
    divergence = 0.5 * float(np.sum(p * np.log2(p / m))) + 0.5 * float(np.sum(q * np.log2(q / m)))
    return psi, math.sqrt(max(divergence, 0.0))


def numerical_distances(baseline: KLLSketch, current: KLLSketch) -> Distances:
    """Distances between two numeric distributions; all zero when either side is empty."""
    base_values, base_weights = baseline.weighted()
    cur_values, cur_weights = current.weighted()
    if not base_values.size or not cur_values.size:
        return Distances(0.0, 0.0, 0.0, 0.0, 0.0)
    grid = np.union1d(base_values, cur_values)
    f_base = _cdf(base_values, base_weights, grid)
    f_cur = _cdf(cur_values, cur_weights, grid)
    ks = float(np.max(np.abs(f_base - f_cur)))
    wasserstein = float(np.sum(np.abs(f_base - f_cur)[:-1] * np.diff(grid)))
    edges = np.unique(baseline.quantiles(_DECILES))
    base_bins = np.diff(np.concatenate([[0.0], _cdf(base_values, base_weights, edges), [1.0]]))
    cur_bins = np.diff(np.concatenate([[0.0], _cdf(cur_values, cur_weights, edges), [1.0]]))
    psi, js = _psi_js(base_bins, cur_bins)
    return Distances(ks, psi, js, ks=ks, wasserstein=wasserstein)


def _cdf(values: Floats, weights: Floats, points: Floats) -> Floats:
    cumulative = np.concatenate([[0.0], np.cumsum(weights)])
    found: Floats = cumulative[np.searchsorted(values, points, side="right")] / cumulative[-1]
    return found


def categorical_distances(baseline: dict[str, float], current: dict[str, float]) -> Distances:
    """Distances between two value -> count maps (an ``"other"`` pool may be in either)."""
    values = sorted(set(baseline) | set(current))
    base = np.array([baseline.get(v, 0.0) for v in values], dtype=np.float64)
    cur = np.array([current.get(v, 0.0) for v in values], dtype=np.float64)
    if not base.sum() or not cur.sum():
        return Distances(0.0, 0.0, 0.0, chi_square_p=1.0)
    distance = float(np.max(np.abs(base / base.sum() - cur / cur.sum())))
    psi, js = _psi_js(base, cur)
    shares = (base + 0.5) / (base.sum() + 0.5 * len(values))
    expected = shares * cur.sum()
    statistic = float(np.sum((cur - expected) ** 2 / expected))
    p = chi_square_sf(statistic, len(values) - 1) if len(values) > 1 else 1.0
    return Distances(distance, psi, js, chi_square_p=p)


def ks_critical(n: float, m: float, alpha: float = 0.01) -> float:
    """The two-sample Kolmogorov-Smirnov statistic sampling noise stays under with 1 - alpha."""
    if n <= 0 or m <= 0:
        return math.inf
    return math.sqrt(-math.log(alpha / 2) / 2) * math.sqrt((n + m) / (n * m))


def chi_square_sf(x: float, df: int) -> float:
    """P(X >= x) for a chi-square variable with ``df`` degrees of freedom."""
    if x <= 0:
        return 1.0
    return _upper_gamma(df / 2, x / 2)


def _upper_gamma(a: float, x: float) -> float:
    """The regularised upper incomplete gamma function Q(a, x) (series / continued fraction)."""
    log_prefix = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1:
        term = total = 1.0 / a
        denominator = a
        for _ in range(1000):
            denominator += 1
            term *= x / denominator
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return max(0.0, 1.0 - total * math.exp(log_prefix))
    tiny = 1e-300
    b = x + 1 - a
    c = 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, 1000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-15:
            break
    return min(1.0, math.exp(log_prefix) * h)
