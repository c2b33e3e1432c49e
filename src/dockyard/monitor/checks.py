"""Checking data against a baseline: SageMaker's violations plus per-feature drift.

Violations (``constraint_violations.json``), each ``{"feature_name", "constraint_check_type",
"description"}``, as SageMaker's prebuilt container reports them:

- ``missing_column_check``: a baseline feature is absent; ``extra_column_check``: a feature the
  baseline does not know.
- ``data_type_check``: the share of present values that fit the baseline's inferred type (an
  integer fits ``Fractional``) is below ``datatype_check_threshold`` (default 1.0: all).
- ``completeness_check``: the share of non-missing values is below the feature's
  ``completeness`` constraint.
- ``categorical_values_check``: the share of values inside ``string_constraints.domains`` is
  below ``domain_content_threshold`` (default 1.0: any unknown value).
- ``baseline_drift_check``: the feature drifted (below), unless ``distribution_constraints
  .perform_comparison`` is ``Disabled``.

Per-feature ``monitoringConfigOverrides`` override ``monitoring_config`` keys for one feature.

Drift: every statistic of :mod:`dockyard.monitor.drift` is computed for every feature; one,
:attr:`CheckOptions.drift_metric`, decides. Defaults (:data:`DEFAULT_THRESHOLDS`):

======================  =========  ====================================================
metric                  threshold  drifted when
======================  =========  ====================================================
``distance`` (default)  0.1        L-infinity distance > ``comparison_threshold`` of the
                                   constraints (``categorical_comparison_threshold`` for
                                   strings), SageMaker's check; ``Robust`` also requires it
                                   above the two-sample KS critical value at 1 %
``psi``                 0.2        PSI above (0.1-0.2 is the usual "watch" band)
``js``                  0.1        Jensen-Shannon distance above
``ks``                  0.1        Kolmogorov-Smirnov statistic above (numbers)
``wasserstein``         0.1        Wasserstein distance above this many baseline std devs
``chi_square``          0.05       chi-square p-value below (categories)
======================  =========  ====================================================

The constraints' ``comparison_method`` may be spelt ``Robust`` / ``Simple`` or
``linf_robust`` / ``linf_simple`` (both appear in SageMaker's documentation); with
``categorical_drift_method: ChiSquared`` a categorical feature drifts when the chi-square
p-value falls below ``categorical_comparison_threshold``. A metric that does not apply to a
feature's kind (``ks`` for strings, ``chi_square`` for numbers) falls back to ``distance`` for
it. A threshold given in :attr:`CheckOptions.thresholds` wins over the constraints file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from dockyard.errors import InvalidArgument
from dockyard.monitor.baseline import STATISTICS_FILE, Baseline, write_json
from dockyard.monitor.dataset import Dataset, NoData
from dockyard.monitor.documents import feature_index
from dockyard.monitor.drift import (
    Distances,
    categorical_distances,
    ks_critical,
    numerical_distances,
)
from dockyard.monitor.profile import ColumnProfile, DatasetProfile, profile_batches
from dockyard.monitor.sketch import KLLSketch

__all__ = [
    "DEFAULT_THRESHOLDS",
    "DRIFT_FILE",
    "REPORT_FILE",
    "VIOLATIONS_FILE",
    "CheckOptions",
    "CheckResult",
    "FeatureDrift",
    "check",
    "check_profile",
    "write_check",
]

VIOLATIONS_FILE = "constraint_violations.json"
DRIFT_FILE = "drift.json"
REPORT_FILE = "report.html"
DEFAULT_THRESHOLDS: Mapping[str, float] = {
    "distance": 0.1,
    "psi": 0.2,
    "js": 0.1,
    "ks": 0.1,
    "wasserstein": 0.1,
    "chi_square": 0.05,
}


@dataclass(frozen=True)
class CheckOptions:
    """How a check decides.

    Attributes:
        drift_metric: The statistic that decides ``baseline_drift_check`` (module docstring).
        thresholds: Thresholds by metric, over :data:`DEFAULT_THRESHOLDS`; ``distance`` given
            here wins over the constraints' ``comparison_threshold``.
        categorical_top_k: Values listed per string feature in the current ``statistics.json``.
        distinct_limit: Distinct values counted exactly per feature.
    """

    drift_metric: str = "distance"
    thresholds: Mapping[str, float] = field(default_factory=dict)
    categorical_top_k: int = 100
    distinct_limit: int = 10_000

    def __post_init__(self) -> None:
        if self.drift_metric not in DEFAULT_THRESHOLDS:
            raise InvalidArgument(
                f"drift_metric must be one of {', '.join(DEFAULT_THRESHOLDS)}, "
                f"got {self.drift_metric!r}",
                field="drift_metric",
            )
        for name, value in self.thresholds.items():
            if name not in DEFAULT_THRESHOLDS:
                raise InvalidArgument(
                    f"thresholds: unknown metric {name!r} (one of {', '.join(DEFAULT_THRESHOLDS)})",
                    field=f"thresholds.{name}",
                )
            if not isinstance(value, int | float) or value < 0:
                raise InvalidArgument(
                    f"thresholds.{name} must be a number >= 0", field=f"thresholds.{name}"
                )


@dataclass(frozen=True)
class FeatureDrift:
    """One feature's drift statistics and the decision at the configured threshold."""

    feature: str
    kind: Literal["numerical", "categorical"]
    psi: float
    ks: float | None
    js: float
    wasserstein: float | None
    chi_square_p: float | None
    drifted: bool
    distance: float = 0.0  # SageMaker's L-infinity distance
    metric: str = "distance"  # the statistic that decided
    threshold: float = 0.1  # ... its threshold
    value: float = 0.0  # ... and its value for this feature

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class CheckResult:
    """What one check found."""

    statistics: dict[str, Any]
    violations: dict[str, Any]
    drift: tuple[FeatureDrift, ...]
    rows: int

    def to_summary(self) -> dict[str, Any]:
        """Small JSON: rows, violation counts by type, the drifted features and their numbers."""
        by_type: dict[str, int] = {}
        for violation in self.violations["violations"]:
            kind = violation["constraint_check_type"]
            by_type[kind] = by_type.get(kind, 0) + 1
        return {
            "rows": self.rows,
            "violations": len(self.violations["violations"]),
            "violations_by_type": by_type,
            "features_checked": len(self.drift),
            "drifted_features": [d.to_dict() for d in self.drift if d.drifted],
        }


def check(data: Dataset, baseline: Baseline, options: CheckOptions | None = None) -> CheckResult:
    """Profile ``data`` and check it against ``baseline``."""
    from dockyard.monitor.readers import batches

    options = options or CheckOptions()
    text = {
        feature["name"]
        for feature in baseline.constraints.get("features", [])
        if isinstance(feature, dict) and feature.get("inferred_type") == "String"
    }
    found = profile_batches(batches(data), distinct_limit=options.distinct_limit, text_columns=text)
    if not found.rows:
        # Not a dataset whose columns are all missing: nothing came, so nothing is checked.
        raise NoData(data)
    return check_profile(found, baseline, options)


def check_profile(found: DatasetProfile, baseline: Baseline, options: CheckOptions) -> CheckResult:
    """Check an already profiled dataset (lets callers merge profiles of many files first)."""
    constraints = feature_index(baseline.constraints)
    statistics = feature_index(baseline.statistics)
    config = baseline.constraints.get("monitoring_config", {})
    violations: list[dict[str, Any]] = []
    drift: list[FeatureDrift] = []
    for name in found.columns:
        if name not in constraints:
            violations.append(
                _violation(
                    name,
                    "extra_column_check",
                    "There are extra columns in current dataset. Number of columns in current "
                    f"dataset: {len(found.columns)}, Number of columns in baseline constraints: "
                    f"{len(constraints)}",
                )
            )
    for name, constraint in constraints.items():
        column = found.columns.get(name)
        if column is None:
            violations.append(
                _violation(
                    name,
                    "missing_column_check",
                    "There are missing columns in current dataset. Number of columns in current "
                    f"dataset: {len(found.columns)}, Number of columns in baseline constraints: "
                    f"{len(constraints)}",
                )
            )
            continue
        settings = {**config, **constraint.get("monitoringConfigOverrides", {})}
        violations += _feature_violations(column, constraint, settings)
        result = _drift(column, constraint, statistics.get(name), settings, options)
        if result is not None:
            drift.append(result)
            distribution = settings.get("distribution_constraints", {})
            if result.drifted and distribution.get("perform_comparison", "Enabled") != "Disabled":
                violations.append(
                    _violation(
                        name,
                        "baseline_drift_check",
                        _drift_description(result),
                    )
                )
    return CheckResult(
        statistics=found.statistics(options.categorical_top_k),
        violations={"violations": violations},
        drift=tuple(drift),
        rows=found.rows,
    )


def _violation(feature: str, kind: str, description: str) -> dict[str, Any]:
    return {"feature_name": feature, "constraint_check_type": kind, "description": description}


def _percent(share: float) -> str:
    """A share as a percentage that never rounds a shortfall up to 100 %."""
    text = f"{share * 100:.1f}"
    digits = 1
    while share < 1 and float(text) >= 100 and digits < 8:
        digits += 1
        text = f"{share * 100:.{digits}f}"
    return f"{text}%"


def _feature_violations(
    column: ColumnProfile, constraint: dict[str, Any], settings: dict[str, Any]
) -> list[dict[str, Any]]:
    name = column.name
    found: list[dict[str, Any]] = []
    expected = constraint["inferred_type"]
    if expected in ("Integral", "Fractional", "String") and column.present:
        required = float(settings.get("datatype_check_threshold", 1.0))
        share = column.type_share(expected)
        if share < required:
            found.append(
                _violation(
                    name,
                    "data_type_check",
                    f"Data type match requirement is not met. Expected data type: {expected}, "
                    f"Expected match: {_percent(required)}. Observed: Only {_percent(share)} "
                    f"of data is {expected}.",
                )
            )
    if "completeness" in constraint:
        total = column.present + column.missing
        observed = column.present / total if total else 1.0
        if observed < float(constraint["completeness"]):
            found.append(
                _violation(
                    name,
                    "completeness_check",
                    "Data completeness requirement is not met. Expected completeness: "
                    f"{_percent(float(constraint['completeness']))}. Observed completeness: "
                    f"{_percent(observed)}.",
                )
            )
    domains = constraint.get("string_constraints", {}).get("domains")
    if domains and column.present:
        allowed = set(map(str, domains))
        inside = sum(count for value, count in column.counts.items() if value in allowed)
        counted = sum(column.counts.values()) or column.present
        share = inside / counted
        required = float(settings.get("domain_content_threshold", 1.0))
        if share < required:
            unknown = ", ".join(map(repr, sorted(v for v in column.counts if v not in allowed)[:5]))
            found.append(
                _violation(
                    name,
                    "categorical_values_check",
                    "Categorical values requirement is not met. Expected: "
                    f"{_percent(required)} of values in the baseline domain. Observed: only "
                    f"{_percent(share)} are; unknown values include {unknown}.",
                )
            )
    return found


def _drift(
    column: ColumnProfile,
    constraint: dict[str, Any],
    stats: dict[str, Any] | None,
    settings: dict[str, Any],
    options: CheckOptions,
) -> FeatureDrift | None:
    if stats is None or not column.present:
        return None
    name = column.name
    distribution = settings.get("distribution_constraints", {})
    numerical = stats.get("numerical_statistics")
    if constraint["inferred_type"] in ("Integral", "Fractional") and isinstance(numerical, dict):
        sketch_doc = numerical.get("distribution", {}).get("kll", {}).get("sketch")
        if sketch_doc is None:
            return None
        at = f"statistics.json: {name}.numerical_statistics.distribution.kll.sketch"
        base_sketch = KLLSketch.from_dict(sketch_doc, at)
        distances = numerical_distances(base_sketch, column.sketch)
        base_n = float(numerical["common"]["num_present"])
        scale = float(numerical.get("std_dev") or 0.0)
        kind: Literal["numerical", "categorical"] = "numerical"
        configured = distribution.get("comparison_threshold", DEFAULT_THRESHOLDS["distance"])
        current_n = float(column.numbers)
    else:
        strings = stats.get("string_statistics")
        if not isinstance(strings, dict):
            return None
        buckets = strings["distribution"]["categorical"]["buckets"]
        baseline_counts = {str(b.get("value")): float(b["count"]) for b in buckets}
        base_n = float(strings["common"]["num_present"])
        current_counts = {k: float(v) for k, v in column.counts.items()}
        pooled = base_n - sum(baseline_counts.values())
        if pooled > 0.5:  # the baseline lists its top values only: pool the rest on both sides
            baseline_counts["\0other"] = pooled
            current_counts = _pool(current_counts, baseline_counts)
        distances = categorical_distances(baseline_counts, current_counts)
        scale = 0.0
        kind = "categorical"
        configured = distribution.get(
            "categorical_comparison_threshold",
            distribution.get("comparison_threshold", DEFAULT_THRESHOLDS["distance"]),
        )
        current_n = float(sum(current_counts.values()))
    chi_squared = (
        kind == "categorical" and distribution.get("categorical_drift_method") == "ChiSquared"
    )
    metric, value, threshold, drifted = _decide(
        distances, kind, scale, float(configured), options, chi_squared
    )
    robust = distribution.get("comparison_method", "Robust") in ("Robust", "linf_robust")
    if drifted and metric == "distance" and robust:
        drifted = distances.distance > ks_critical(base_n, current_n)
    return FeatureDrift(
        feature=name,
        kind=kind,
        psi=distances.psi,
        ks=distances.ks,
        js=distances.js,
        wasserstein=distances.wasserstein,
        chi_square_p=distances.chi_square_p,
        drifted=drifted,
        distance=distances.distance,
        metric=metric,
        threshold=threshold,
        value=value,
    )


def _drift_description(result: FeatureDrift) -> str:
    if result.metric == "distance":
        return (
            f"Baseline drift distance: {result.value:.6g} exceeds threshold: {result.threshold:.6g}"
        )
    if result.metric == "chi_square":
        return (
            f"Baseline drift chi-square p-value: {result.value:.6g} is below threshold: "
            f"{result.threshold:.6g}"
        )
    return (
        f"Baseline drift {result.metric}: {result.value:.6g} exceeds threshold: "
        f"{result.threshold:.6g}"
    )


def _pool(current: dict[str, float], baseline: dict[str, float]) -> dict[str, float]:
    pooled: dict[str, float] = {}
    for value, count in current.items():
        key = value if value in baseline else "\0other"
        pooled[key] = pooled.get(key, 0.0) + count
    return pooled


def _decide(
    distances: Distances,
    kind: str,
    scale: float,
    configured: float,
    options: CheckOptions,
    chi_squared: bool,
) -> tuple[str, float, float, bool]:
    metric = options.drift_metric
    if metric == "distance" and chi_squared:
        # The constraints ask for SageMaker's ChiSquared categorical method: the p-value
        # against the categorical threshold, unless a chi-square threshold is given.
        threshold = float(options.thresholds.get("chi_square", configured))
        p = distances.chi_square_p if distances.chi_square_p is not None else 1.0
        return "chi_square", p, threshold, p < threshold
    if (kind == "categorical" and metric in ("ks", "wasserstein")) or (
        kind == "numerical" and metric == "chi_square"
    ):
        metric = "distance"
    default = configured if metric == "distance" else DEFAULT_THRESHOLDS[metric]
    threshold = float(options.thresholds.get(metric, default))
    if metric == "chi_square":
        p = distances.chi_square_p if distances.chi_square_p is not None else 1.0
        return metric, p, threshold, p < threshold
    value = {
        "distance": distances.distance,
        "psi": distances.psi,
        "js": distances.js,
        "ks": distances.ks or 0.0,
        "wasserstein": (distances.wasserstein or 0.0) / scale if scale > 0 else 0.0,
    }[metric]
    return metric, value, threshold, value > threshold


def write_check(result: CheckResult, baseline: Baseline, directory: str | Path) -> None:
    """Write ``statistics.json``, ``constraint_violations.json``, ``drift.json`` and
    ``report.html`` into ``directory`` (created)."""
    from dockyard.monitor.report import render_report

    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    write_json(result.statistics, folder / STATISTICS_FILE)
    write_json(result.violations, folder / VIOLATIONS_FILE)
    write_json(
        {"version": 0.0, "rows": result.rows, "features": [d.to_dict() for d in result.drift]},
        folder / DRIFT_FILE,
    )
    (folder / REPORT_FILE).write_text(render_report(result, baseline))
