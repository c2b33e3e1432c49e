"""The metric lines the built-in algorithms print, the regexes that read them, and parsers.

XGBoost prints one line per boosting round, as SageMaker's container does; the separator is
the literal text ``#011``, which is how SageMaker's logs (CloudWatch) show the tab XGBoost
writes, so SageMaker metric definitions written for those logs work unchanged::

    [12]#011train-rmse:2.01325#011validation-rmse:3.44651

Linear learner prints SageMaker's ``#quality_metric`` lines: one per epoch for the objective
loss, then the final model's scores on the validation and test channels::

    #quality_metric: host=algo-1, epoch=3, train mse_objective <loss>=0.5012
    #quality_metric: host=algo-1, validation mse <loss>=0.4981

Each algorithm offers SageMaker-style ``{"name", "regex"}`` definitions (the first group is the
value) and a parser that reads any line into ``{metric name: value}`` with its step (round or
epoch), which also covers metrics no static definition names (``error@0.7``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypedDict

from dockyard.algorithms._xgboost_params import DATA_NAMES, EVAL_METRICS

__all__ = [
    "LINEAR_LEARNER_METRICS",
    "NUMBER",
    "XGBOOST_METRICS",
    "MetricDefinition",
    "MetricLine",
    "format_quality_metric",
    "format_xgboost_line",
    "parse_linear_learner_line",
    "parse_xgboost_line",
]

NUMBER = r"[-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?"
SEPARATOR = "#011"


class MetricDefinition(TypedDict):
    """A SageMaker-style metric definition; ``direction`` says which way is better."""

    name: str
    regex: str
    direction: str


@dataclass(frozen=True)
class MetricLine:
    """The metrics read from one log line.

    Attributes:
        step: The boosting round or epoch the values belong to; ``None`` for final scores.
        values: Metric name (``validation:rmse``) -> value; non-finite values are left out.
    """

    step: int | None
    values: dict[str, float]


def _value(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _direction(maximize: bool) -> str:
    return "Maximize" if maximize else "Minimize"


# -- XGBoost -------------------------------------------------------------------------------------


def format_xgboost_line(iteration: int, scores: Iterable[tuple[str, str, float]]) -> str:
    """``[i]#011train-rmse:...`` for (data set, metric, value) triples."""
    return f"[{iteration}]" + "".join(
        f"{SEPARATOR}{data}-{metric}:{value:.6g}" for data, metric, value in scores
    )


# Real tabs are read too: XGBoost's own EvaluationMonitor writes them, so a user script that
# prints XGBoost's evaluation log is understood by the same parser.
_XGB_LINE = re.compile(r"\[(\d+)\]((?:(?:#011|\t)[A-Za-z0-9_]+-[^:\s]+:\S+?)+)\s*$")
_XGB_SPLIT = re.compile(r"#011|\t")


def parse_xgboost_line(line: str) -> MetricLine | None:
    """``{"train:rmse": 0.1, "validation:rmse": 0.2}`` with the round, or ``None``."""
    match = _XGB_LINE.search(line)
    if not match:
        return None
    values: dict[str, float] = {}
    for item in _XGB_SPLIT.split(match.group(2)):
        name, _, text = item.rpartition(":")
        data, _, metric = name.partition("-")
        value = _value(text)
        if data and metric and value is not None:
            values[f"{data}:{metric}"] = value
    return MetricLine(int(match.group(1)), values) if values else None


XGBOOST_METRICS: tuple[MetricDefinition, ...] = tuple(
    MetricDefinition(
        name=f"{data}:{metric}",
        regex=rf".*\[[0-9]+\].*#011{data}-{re.escape(metric)}:({NUMBER})",
        direction=_direction(maximize),
    )
    for data in DATA_NAMES
    for metric, maximize in EVAL_METRICS.items()
)


# -- Linear learner ------------------------------------------------------------------------------


def format_quality_metric(
    host: str, channel: str, metric: str, value: float, *, epoch: int | None = None, loss: bool
) -> str:
    """``#quality_metric: host=algo-1, [epoch=3, ]validation mse <loss>=0.5``."""
    at = f"epoch={epoch}, " if epoch is not None else ""
    kind = "loss" if loss else "score"
    return f"#quality_metric: host={host}, {at}{channel} {metric} <{kind}>={value:.6g}"


_QUALITY = re.compile(
    r"#quality_metric: host=\S+, (?:epoch=(\d+), )?(train|validation|test) (\S+) "
    r"<(?:loss|score)>=(\S+)"
)


def parse_linear_learner_line(line: str) -> MetricLine | None:
    """``{"validation:objective_loss": 0.4}`` with the epoch (``None`` for final scores)."""
    match = _QUALITY.search(line)
    if not match:
        return None
    epoch, channel, metric, text = match.groups()
    value = _value(text)
    if value is None:
        return None
    name = "objective_loss" if metric.endswith("_objective") else metric
    return MetricLine(int(epoch) if epoch else None, {f"{channel}:{name}": value})


# SageMaker's metric names for linear learner (regression and binary classification).
_LL_SCORES = {
    "mse": False,
    "rmse": False,
    "absolute_loss": False,
    "binary_classification_accuracy": True,
    "binary_f_beta": True,
    "precision": True,
    "recall": True,
    "roc_auc_score": True,
}
LINEAR_LEARNER_METRICS: tuple[MetricDefinition, ...] = (
    MetricDefinition(
        name="train:objective_loss",
        regex=rf"#quality_metric: host=\S+, epoch=[0-9]+, train \S+_objective <loss>=({NUMBER})",
        direction="Minimize",
    ),
    *(
        MetricDefinition(
            name=f"{channel}:objective_loss",
            regex=(
                rf"#quality_metric: host=\S+, (?:epoch=[0-9]+, )?{channel} \S+_objective "
                rf"<loss>=({NUMBER})"
            ),
            direction="Minimize",
        )
        for channel in ("validation", "test")
    ),
    *(
        MetricDefinition(
            name=f"{channel}:{metric}",
            regex=rf"#quality_metric: host=\S+, {channel} {metric} <(?:loss|score)>=({NUMBER})",
            direction=_direction(maximize),
        )
        for channel in ("validation", "test")
        for metric, maximize in _LL_SCORES.items()
    ),
)
