"""Baselines: a dataset's ``statistics.json`` and the ``constraints.json`` suggested from it.

Suggested constraints follow SageMaker's prebuilt container: per feature the inferred type, the
observed completeness, ``num_constraints.is_non_negative`` for numbers, the observed
``string_constraints.domains`` for strings with at most ``categorical_max_distinct`` values; and
a ``monitoring_config`` with SageMaker's defaults (``comparison_threshold`` 0.1, the ``Robust``
comparison, thresholds of 1.0 for data types and domains). Users may edit the file; the checks
read what it says.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.errors import InvalidArgument
from dockyard.monitor.dataset import Dataset, NoData
from dockyard.monitor.documents import validate_constraints, validate_statistics
from dockyard.monitor.profile import DatasetProfile, profile_batches
from dockyard.monitor.sketch import DEFAULT_K

__all__ = [
    "CONSTRAINTS_FILE",
    "STATISTICS_FILE",
    "Baseline",
    "BaselineOptions",
    "parse_baseline",
    "read_baseline",
    "suggest_baseline",
    "suggest_constraints",
    "write_baseline",
    "write_json",
]

STATISTICS_FILE = "statistics.json"
CONSTRAINTS_FILE = "constraints.json"


@dataclass(frozen=True)
class BaselineOptions:
    """How a baseline is computed.

    Attributes:
        categorical_max_distinct: A string feature with at most this many distinct values gets
            its values as ``string_constraints.domains`` (checked by
            ``categorical_values_check``); more, and it has no domain.
        categorical_top_k: How many of the most frequent values ``statistics.json`` lists.
        distinct_limit: Distinct values counted exactly per feature; beyond it counts are lower
            bounds.
        sketch_k: The KLL sketch's ``k`` (rank error about ``1.7 / k``).
        comparison_threshold: ``distribution_constraints.comparison_threshold`` (SageMaker: 0.1).
        comparison_method: ``Robust`` (SageMaker's default: a distance must also be beyond
            sampling noise) or ``Simple``.
    """

    categorical_max_distinct: int = 20
    categorical_top_k: int = 100
    distinct_limit: int = 10_000
    sketch_k: int = DEFAULT_K
    comparison_threshold: float = 0.1
    comparison_method: str = "Robust"

    def __post_init__(self) -> None:
        for name in ("categorical_max_distinct", "categorical_top_k", "distinct_limit"):
            if getattr(self, name) < 1:
                raise InvalidArgument(f"{name} must be at least 1", field=name)
        if self.comparison_method not in ("Robust", "Simple"):
            raise InvalidArgument(
                f"comparison_method must be Robust or Simple, got {self.comparison_method!r}",
                field="comparison_method",
            )
        if not 0 < self.comparison_threshold <= 1:
            raise InvalidArgument(
                "comparison_threshold must be in (0, 1]", field="comparison_threshold"
            )


@dataclass(frozen=True)
class Baseline:
    """A dataset's statistics and the constraints new data is checked against."""

    statistics: dict[str, Any]
    constraints: dict[str, Any]


def suggest_baseline(data: Dataset, options: BaselineOptions | None = None) -> Baseline:
    """Profile ``data`` and suggest constraints from it."""
    from dockyard.monitor.readers import batches

    options = options or BaselineOptions()
    found = profile_batches(
        batches(data), k=options.sketch_k, distinct_limit=options.distinct_limit
    )
    if not found.rows:
        raise NoData(data)
    return Baseline(
        found.statistics(options.categorical_top_k), suggest_constraints(found, options)
    )


def suggest_constraints(found: DatasetProfile, options: BaselineOptions) -> dict[str, Any]:
    """SageMaker's ``constraints.json`` for a profiled dataset."""
    features = []
    for column in found.columns.values():
        total = column.present + column.missing
        feature: dict[str, Any] = {
            "name": column.name,
            "inferred_type": column.inferred_type,
            "completeness": column.present / total if total else 0.0,
        }
        if column.is_numeric:
            feature["num_constraints"] = {"is_non_negative": column.low >= 0}
        elif (
            column.inferred_type == "String"
            and not column.pruned
            and len(column.counts) <= options.categorical_max_distinct
        ):
            feature["string_constraints"] = {"domains": sorted(column.counts)}
        features.append(feature)
    return {
        "version": 0.0,
        "features": features,
        "monitoring_config": {
            "evaluate_constraints": "Enabled",
            "emit_metrics": "Enabled",
            "datatype_check_threshold": 1.0,
            "domain_content_threshold": 1.0,
            "distribution_constraints": {
                "perform_comparison": "Enabled",
                "comparison_threshold": options.comparison_threshold,
                "comparison_method": options.comparison_method,
                "categorical_comparison_threshold": options.comparison_threshold,
                "categorical_drift_method": "LInfinity",
            },
        },
    }


def write_json(document: Any, path: Path) -> None:
    path.write_text(json.dumps(document, indent=2, allow_nan=False) + "\n")


def write_baseline(baseline: Baseline, directory: str | Path) -> None:
    """Write ``statistics.json`` and ``constraints.json`` into ``directory`` (created)."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    write_json(baseline.statistics, folder / STATISTICS_FILE)
    write_json(baseline.constraints, folder / CONSTRAINTS_FILE)


def read_baseline(directory: str | Path) -> Baseline:
    """Read and check ``statistics.json`` + ``constraints.json`` from ``directory``.

    Raises:
        NotFound: A file is missing.
        InvalidArgument: A file is not JSON, or a field has the wrong shape (named).
    """
    folder = Path(directory)
    return parse_baseline(
        _read(folder / STATISTICS_FILE), _read(folder / CONSTRAINTS_FILE), str(folder)
    )


def parse_baseline(
    statistics: bytes | str, constraints: bytes | str, where: str, field: str = "baseline"
) -> Baseline:
    """The baseline held by the two files' contents, checked as :func:`read_baseline` checks
    them; errors name the file (``where``/statistics.json...) and, for JSON, line and column."""
    stats_name, constraints_name = f"{where}/{STATISTICS_FILE}", f"{where}/{CONSTRAINTS_FILE}"
    return Baseline(
        validate_statistics(_load(statistics, stats_name, field), stats_name),
        validate_constraints(_load(constraints, constraints_name, field), constraints_name),
    )


def _read(path: Path) -> bytes:
    from dockyard.errors import NotFound

    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"{path}: no such file", field="baseline") from None


def _load(text: bytes | str, path: str, field: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArgument(
            f"{path}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})", field=field
        ) from None
    except UnicodeDecodeError:
        raise InvalidArgument(f"{path}: not UTF-8 text", field=field) from None
