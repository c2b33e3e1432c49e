"""The registry the job service and runner read: channels, hyperparameters, metrics."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from tests.server.jobs.algorithms.conftest import SRC

import dockyard.algorithms as algorithms
from dockyard.algorithms import BUILTIN_ALGORITHMS, MetricLine, get_builtin
from dockyard.algorithms._metrics import format_quality_metric, format_xgboost_line
from dockyard.errors import InvalidArgument


def test_public_names() -> None:
    assert algorithms.__all__ == [
        "BUILTIN_ALGORITHMS",
        "INPUT_EXAMPLE_FILE",
        "BuiltinAlgorithm",
        "MetricDefinition",
        "MetricLine",
        "get_builtin",
    ]
    assert algorithms.INPUT_EXAMPLE_FILE == "input_example.csv"


def test_the_algorithms() -> None:
    assert set(BUILTIN_ALGORITHMS) == {"xgboost", "linear-learner"}
    xgboost, linear = BUILTIN_ALGORITHMS["xgboost"], BUILTIN_ALGORITHMS["linear-learner"]
    assert xgboost.command("py") == ["py", "-m", "dockyard.algorithms.xgboost"]
    assert linear.module == "dockyard.algorithms.linear_learner"
    assert xgboost.required_channels == linear.required_channels == ("train",)
    assert xgboost.content_types == ("text/csv", "text/libsvm", "application/x-parquet")
    assert linear.content_types == ("text/csv", "application/x-parquet")
    assert (xgboost.model_file, xgboost.model_flavor) == ("xgboost-model", "xgboost")
    assert (linear.model_file, linear.model_flavor) == ("model.joblib", "sklearn")
    with pytest.raises(TypeError):
        BUILTIN_ALGORITHMS["other"] = xgboost  # type: ignore[index]


def test_get_builtin() -> None:
    assert get_builtin("linear_learner") is BUILTIN_ALGORITHMS["linear-learner"]
    with pytest.raises(InvalidArgument) as caught:
        get_builtin("kmeans", field="spec.algorithm")
    assert caught.value.field == "spec.algorithm"
    assert "available: xgboost, linear-learner" in caught.value.message


def test_registry_import_does_not_load_training_libraries() -> None:
    # The job service validates specs with the registry; that must not cost an XGBoost import.
    code = (
        "import sys, dockyard.algorithms as a\n"
        "a.BUILTIN_ALGORITHMS['xgboost'].validate_hyperparameters({'num_round': '3'})\n"
        "print(sorted(m for m in ('xgboost', 'sklearn', 'pandas') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(SRC)},
    ).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(
    ("channels", "field", "message"),
    [
        ({"validation": None}, "inputs.train", "needs a 'train' channel"),
        ({"train": None, "test": None}, "inputs.test", "has no 'test' channel"),
        (
            {"train": "application/x-recordio-protobuf"},
            "inputs.train.content_type",
            "not supported by the xgboost algorithm",
        ),
    ],
    ids=["missing", "unknown", "content-type"],
)
def test_validate_channels(channels: dict[str, str | None], field: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        BUILTIN_ALGORITHMS["xgboost"].validate_channels(channels)
    assert caught.value.field == field
    assert message in caught.value.message


def test_valid_channels() -> None:
    BUILTIN_ALGORITHMS["xgboost"].validate_channels({"train": "text/libsvm", "validation": None})
    BUILTIN_ALGORITHMS["linear-learner"].validate_channels(
        {"train": "text/csv", "validation": "", "test": "application/x-parquet"}
    )


@pytest.mark.parametrize(
    ("hyperparameters", "field"),
    [
        ({"num_round": "100", "eta": "2"}, "eta"),
        ({"num_round": "100", "max_depth": "-1"}, "max_depth"),
        ({"num_round": "100", "tree_method": "gpu_hist"}, "tree_method"),
        ({"num_round": "100", "num_class": "3"}, "num_class"),
        ({"num_round": "100", "_kfold": "5"}, "_kfold"),
        ({"num_round": "100", "eval_metric": "error@x"}, "eval_metric"),
        (
            {"num_round": "9", "_tuning_objective_metric": "test:auc"},
            "_tuning_objective_metric",
        ),
        ({"num_round": "9", "monotone_constraints": "1,0"}, "monotone_constraints"),
    ],
    ids=["eta", "depth", "gpu", "num-class", "kfold", "metric-arg", "tuning", "constraints"],
)
def test_xgboost_hyperparameters_refused_at_submit(
    hyperparameters: dict[str, str], field: str
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        BUILTIN_ALGORITHMS["xgboost"].validate_hyperparameters(hyperparameters)
    assert caught.value.field == f"hyperparameters.{field}"


def test_xgboost_hyperparameters_accepted_at_submit() -> None:
    BUILTIN_ALGORITHMS["xgboost"].validate_hyperparameters(
        {
            "num_round": "200",
            "max_depth": "5",
            "eta": "0.2",
            "gamma": "4",
            "min_child_weight": "6",
            "subsample": "0.8",
            "objective": "multi:softprob",
            "num_class": "3",
            "eval_metric": "mlogloss,merror,accuracy,ndcg@5-,error@0.7",
            "_tuning_objective_metric": "validation:merror",
            "reg_lambda": "1",
            "monotone_constraints": "(1,0,-1)",
            "sketch_eps": "0.03",
        }
    )


def test_xgboost_lines_are_read_by_parser_and_regexes() -> None:
    xgboost = BUILTIN_ALGORITHMS["xgboost"]
    line = format_xgboost_line(
        12,
        [("train", "rmse", 0.125), ("train", "error@0.7", 0.5), ("validation", "rmse", 2.5e-7)],
    )
    assert line == "[12]#011train-rmse:0.125#011train-error@0.7:0.5#011validation-rmse:2.5e-07"
    assert xgboost.parse_metrics(line) == MetricLine(
        12, {"train:rmse": 0.125, "train:error@0.7": 0.5, "validation:rmse": 2.5e-7}
    )
    matched = {
        d["name"]: float(m.group(1))
        for d in xgboost.metric_definitions
        if (m := re.match(d["regex"], line))
    }
    assert matched == {"train:rmse": 0.125, "validation:rmse": 2.5e-7}


@pytest.mark.parametrize(
    ("line", "parsed"),
    [
        # XGBoost's own EvaluationMonitor writes real tabs; a script's log is read the same way.
        (
            "[3]\ttrain-auc:0.91000\tvalidation-auc:0.88",
            MetricLine(3, {"train:auc": 0.91, "validation:auc": 0.88}),
        ),
        (
            "2026-01-01 [7]#011validation-aft-nloglik:1.5",
            MetricLine(7, {"validation:aft-nloglik": 1.5}),
        ),
        ("[0]#011train-auc:nan#011validation-auc:0.5", MetricLine(0, {"validation:auc": 0.5})),
        ("[0]#011train-auc:nan", None),
        ("[0] nothing to see", None),
        ("Parameters: { predictor } are not used.", None),
    ],
    ids=["tabs", "prefix-and-dashed-metric", "nan-dropped", "only-nan", "no-metrics", "other"],
)
def test_xgboost_parser(line: str, parsed: MetricLine | None) -> None:
    assert BUILTIN_ALGORITHMS["xgboost"].parse_metrics(line) == parsed


def test_xgboost_definitions_cover_every_metric_and_direction() -> None:
    definitions = {d["name"]: d for d in BUILTIN_ALGORITHMS["xgboost"].metric_definitions}
    assert definitions["validation:auc"]["direction"] == "Maximize"
    assert definitions["validation:rmse"]["direction"] == "Minimize"
    assert definitions["train:accuracy"]["direction"] == "Maximize"
    assert len(definitions) == len(BUILTIN_ALGORITHMS["xgboost"].metric_definitions) == 70
    # rmse's regex does not read rmsle's value.
    assert not re.match(definitions["train:rmse"]["regex"], "[1]#011train-rmsle:0.5")


def test_linear_learner_lines_are_read_by_parser_and_regexes() -> None:
    linear = BUILTIN_ALGORITHMS["linear-learner"]
    per_epoch = format_quality_metric("algo-1", "train", "mse_objective", 0.25, epoch=4, loss=True)
    final = format_quality_metric("algo-1", "test", "binary_f_beta", 0.75, loss=False)
    assert per_epoch == "#quality_metric: host=algo-1, epoch=4, train mse_objective <loss>=0.25"
    assert final == "#quality_metric: host=algo-1, test binary_f_beta <score>=0.75"
    assert linear.parse_metrics(per_epoch) == MetricLine(4, {"train:objective_loss": 0.25})
    assert linear.parse_metrics(final) == MetricLine(None, {"test:binary_f_beta": 0.75})
    assert linear.parse_metrics("#quality_metric: host=a, test mse <loss>=inf") is None
    for line, name, value in (
        (per_epoch, "train:objective_loss", 0.25),
        (final, "test:binary_f_beta", 0.75),
    ):
        matched = [d["name"] for d in linear.metric_definitions if re.search(d["regex"], line)]
        assert matched == [name]
        regex = next(d["regex"] for d in linear.metric_definitions if d["name"] == name)
        assert float(re.search(regex, line).group(1)) == value  # type: ignore[union-attr]
