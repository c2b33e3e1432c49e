"""Model monitoring's computation: baselines, data-quality checks, drift, model quality, reports.

Shared and process-neutral (the local CLI, a monitoring job's runner and the server use it);
it reads and writes SageMaker Model Monitor's documents, so existing tools read them::

    baseline = suggest_baseline(Dataset(("train.csv",)))       # statistics + constraints
    write_baseline(baseline, "baseline/")                      # statistics.json, constraints.json
    result = check(Dataset(("capture/churn/",), format="capture"), read_baseline("baseline/"))
    write_check(result, baseline, "out/")   # statistics.json, constraint_violations.json,
                                            # drift.json, report.html

For a model-quality join, ``batches(Dataset(..., format="capture", capture_side="output"))``
yields the predictions with each row's request id in the :data:`INFERENCE_ID` column;
``profile_batches`` + ``check_profile`` check batches a caller already holds.

- ``dataset``: :class:`Dataset` (what to read) and its files; ``readers``: record batches from
  CSV (header sniffed), JSON Lines, Parquet; ``capture``: endpoint capture records as rows.
- ``sketch``: the KLL quantile sketch (SageMaker's ``kll``), mergeable, numpy-vectorised.
- ``profile``: per-feature statistics over batches -> ``statistics.json``.
- ``baseline``: :class:`Baseline`, suggested ``constraints.json``, reading and writing them;
  ``documents``: validation of both, every bad field named.
- ``drift``: PSI, Kolmogorov-Smirnov, Jensen-Shannon, Wasserstein, chi-square.
- ``checks``: SageMaker's violation types and the drift decision; defaults (comparison
  threshold 0.1, the L-infinity distance, ``Robust``) are tabled in its docstring.
- ``quality``: regression and classification metrics; ``report``: the HTML report.

Memory is bounded by a few batches in flight (1 MB CSV blocks, 65,536 rows of JSON Lines,
a Parquet row group at most) plus, per feature, a sketch of a few thousand floats and at most
``distinct_limit`` distinct strings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.lazy import exports

if TYPE_CHECKING:
    from dockyard.monitor.baseline import (
        Baseline,
        BaselineOptions,
        parse_baseline,
        read_baseline,
        suggest_baseline,
        write_baseline,
    )
    from dockyard.monitor.capture import capture_stamp
    from dockyard.monitor.checks import (
        DEFAULT_THRESHOLDS,
        CheckOptions,
        CheckResult,
        FeatureDrift,
        check,
        check_profile,
        write_check,
    )
    from dockyard.monitor.dataset import Dataset, NoData
    from dockyard.monitor.profile import DatasetProfile, profile_batches
    from dockyard.monitor.quality import model_quality
    from dockyard.monitor.readers import INFERENCE_ID, batches
    from dockyard.monitor.report import render_report
    from dockyard.monitor.sketch import KLLSketch

__all__ = [
    "DEFAULT_THRESHOLDS",
    "INFERENCE_ID",
    "Baseline",
    "BaselineOptions",
    "CheckOptions",
    "CheckResult",
    "Dataset",
    "DatasetProfile",
    "FeatureDrift",
    "KLLSketch",
    "NoData",
    "batches",
    "capture_stamp",
    "check",
    "check_profile",
    "model_quality",
    "parse_baseline",
    "profile_batches",
    "read_baseline",
    "render_report",
    "suggest_baseline",
    "write_baseline",
    "write_check",
]
__getattr__, __dir__ = exports(
    __name__,
    {
        "DEFAULT_THRESHOLDS": ".checks",
        "INFERENCE_ID": ".readers",
        "capture_stamp": ".capture",
        "Baseline": ".baseline",
        "BaselineOptions": ".baseline",
        "CheckOptions": ".checks",
        "CheckResult": ".checks",
        "Dataset": ".dataset",
        "DatasetProfile": ".profile",
        "FeatureDrift": ".checks",
        "KLLSketch": ".sketch",
        "NoData": ".dataset",
        "batches": ".readers",
        "check": ".checks",
        "check_profile": ".checks",
        "model_quality": ".quality",
        "parse_baseline": ".baseline",
        "profile_batches": ".profile",
        "read_baseline": ".baseline",
        "render_report": ".report",
        "suggest_baseline": ".baseline",
        "write_baseline": ".baseline",
        "write_check": ".checks",
    },
)
