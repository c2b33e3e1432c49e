"""The built-in XGBoost algorithm, run as the runner runs it and in-process."""

from __future__ import annotations

import io
import re
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xgboost as xgb
from tests.server.jobs.algorithms.conftest import MakeJob, Result, Split, csv_text

from dockyard.algorithms import BUILTIN_ALGORITHMS

ALGORITHM = BUILTIN_ALGORITHMS["xgboost"]
DEMO = {  # the seed story's hyperparameters
    "max_depth": "5",
    "eta": "0.2",
    "gamma": "4",
    "min_child_weight": "6",
    "subsample": "0.8",
    "objective": "reg:squarederror",
    "early_stopping_rounds": "10",
    "num_round": "200",
}


def _booster(result: Result) -> xgb.Booster:
    booster = xgb.Booster()
    booster.load_model(bytearray((result.model_dir / "xgboost-model").read_bytes()))
    return booster


def _rmse(booster: xgb.Booster, features: Any, labels: Any) -> float:
    predictions = booster.predict(xgb.DMatrix(features))
    return float(np.sqrt(np.mean((predictions - labels) ** 2)))


def _rounds(result: Result) -> list[dict[str, float]]:
    lines = [ALGORITHM.parse_metrics(line) for line in result.out.splitlines()]
    steps = [line for line in lines if line is not None]
    assert [s.step for s in steps] == list(range(len(steps)))
    return [s.values for s in steps]


def test_trains_as_the_runner_runs_it(make_job: MakeJob, nonlinear: Split) -> None:
    job = make_job(
        DEMO,
        # Two training files: both are read, in name order.
        train={
            "part-0.csv": csv_text(nonlinear.train[1][:150], nonlinear.train[0][:150]),
            "part-1.csv": csv_text(nonlinear.train[1][150:], nonlinear.train[0][150:]),
            "_SUCCESS": "",
        },
        validation={"v.csv": csv_text(nonlinear.validation[1], nonlinear.validation[0])},
    )
    result = job.run_process("xgboost")
    assert result.status == 0, result.err
    assert result.failure is None
    lines = [line for line in result.out.splitlines() if line.startswith("[")]
    assert re.fullmatch(r"\[0\]#011train-rmse:[0-9.e+-]+#011validation-rmse:[0-9.e+-]+", lines[0])
    rounds = _rounds(result)
    assert "train: 360 rows, 4 features" in result.out
    # The static SageMaker-style regexes read the same values as the parser.
    for definition in ALGORITHM.metric_definitions:
        matches = [re.match(definition["regex"], line) for line in lines]
        values = [float(m.group(1)) for m in matches if m]
        assert values == [r[definition["name"]] for r in rounds if definition["name"] in r]
    assert rounds[-1]["train:rmse"] < rounds[0]["train:rmse"] / 3
    booster = _booster(result)
    assert booster.num_features() == 4
    test_x, test_y = nonlinear.test
    baseline = float(np.std(test_y))  # what predicting the mean scores
    assert _rmse(booster, test_x, test_y) < 0.25 * baseline
    example = pd.read_csv(result.model_dir / "input_example.csv")
    assert list(example.columns) == ["f0", "f1", "f2", "f3"]
    np.testing.assert_allclose(example.to_numpy(), nonlinear.train[0][:5])


def test_early_stopping_keeps_the_best_round(
    make_job: MakeJob, nonlinear: Split, capsys: pytest.CaptureFixture[str]
) -> None:
    x, y = nonlinear.train
    noise = np.random.default_rng(0).normal(0, 5, len(nonlinear.validation[1]))
    hps = {"num_round": "300", "eta": "0.5", "max_depth": "6", "early_stopping_rounds": "5"}
    job = make_job(
        hps,
        train={"t.csv": csv_text(y, x)},
        # Validation labels mostly noise: the validation score soon stops improving.
        validation={"v.csv": csv_text(nonlinear.validation[1] + noise, nonlinear.validation[0])},
    )
    result = job.run("xgboost", capsys)
    assert result.status == 0, result.err
    scores = [r["validation:rmse"] for r in _rounds(result)]
    best = int(np.argmin(scores))
    assert len(scores) == best + 6 < 300
    assert f"best round: {best} " in result.out
    assert _booster(result).num_boosted_rounds() == best + 1


def test_binary_classification_with_sagemaker_metrics(
    make_job: MakeJob, binary: Split, capsys: pytest.CaptureFixture[str]
) -> None:
    hps = {
        "num_round": "40",
        "objective": "binary:logistic",
        "eval_metric": "accuracy,auc",
        "early_stopping_rounds": "3",
        "_tuning_objective_metric": "validation:f1",
    }
    job = make_job(
        hps,
        train={"t.csv": csv_text(binary.train[1], binary.train[0])},
        validation={"v.csv": csv_text(binary.validation[1], binary.validation[0])},
    )
    result = job.run("xgboost", capsys)
    assert result.status == 0, result.err
    last = _rounds(result)[-1]
    assert set(last) == {
        f"{d}:{m}" for d in ("train", "validation") for m in ("accuracy", "auc", "f1")
    }
    assert last["validation:accuracy"] > 0.8 and last["validation:auc"] > 0.9
    probabilities = _booster(result).predict(xgb.DMatrix(binary.test[0]))
    assert np.mean((probabilities > 0.5) == binary.test[1]) > 0.8


def _libsvm(labels: Any, features: Any) -> str:
    lines = []
    for label, row in zip(labels, features, strict=True):
        # Zero features are left out, as sparse data would; index 0 is a real column.
        items = " ".join(f"{i}:{float(v)!r}" for i, v in enumerate(row) if v != 0)
        lines.append(f"{float(label)!r} {items}")
    return "# a comment line\n" + "\n".join(lines) + "\n"


def _parquet(labels: Any, features: Any) -> bytes:
    table = pa.table({"y": labels, **{f"x{i}": features[:, i] for i in range(features.shape[1])}})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content_type", "writer", "name"),
    [
        ("text/libsvm", _libsvm, "d.libsvm"),
        (None, _libsvm, "d.txt"),  # undeclared: detected
        ("application/x-parquet", _parquet, "d.parquet"),
        (None, _parquet, "d.bin"),
    ],
    ids=["libsvm", "libsvm-detected", "parquet", "parquet-detected"],
)
def test_other_formats(
    make_job: MakeJob,
    nonlinear: Split,
    capsys: pytest.CaptureFixture[str],
    content_type: str | None,
    writer: Any,
    name: str,
) -> None:
    x, y = nonlinear.train
    x = np.where(np.abs(x) < 0.3, 0.0, x)
    types = {"train": content_type or "", "validation": content_type or ""}
    job = make_job(
        {"num_round": "60", "max_depth": "4"},
        content_types=types,
        train={name: writer(y, x)},
        validation={name: writer(nonlinear.validation[1], nonlinear.validation[0])},
    )
    result = job.run("xgboost", capsys)
    assert result.status == 0, result.err
    assert _rounds(result)[-1]["validation:rmse"] < 0.25 * float(np.std(nonlinear.validation[1]))
    if content_type is None:
        assert "declares no ContentType" in result.out


@pytest.mark.parametrize(
    ("hyperparameters", "named"),
    [
        ({"num_round": "10", "eta": "1.5"}, "'eta' must be a number in [0, 1], got '1.5'"),
        ({"num_round": "0"}, "'num_round' must be an integer >= 1"),
        ({"eta": "0.1"}, "'num_round' is required"),
        ({"num_round": "10", "max_depth": "deep"}, "'max_depth' must be an integer >= 0"),
        ({"num_round": "10", "etta": "0.1"}, "'etta' (did you mean 'eta'?)"),
        ({"num_round": "10", "objective": "multi:softmax"}, "'num_class' is required"),
        ({"num_round": "10", "eval_metric": "rmse,bogus"}, "'bogus' is not an evaluation metric"),
    ],
    ids=["range", "minimum", "required", "type", "unknown", "dependent", "metric"],
)
def test_bad_hyperparameters_fail_naming_them(
    make_job: MakeJob,
    nonlinear: Split,
    capsys: pytest.CaptureFixture[str],
    hyperparameters: dict[str, str],
    named: str,
) -> None:
    job = make_job(hyperparameters, train={"t.csv": csv_text(*reversed(nonlinear.train))})
    result = job.run("xgboost", capsys)
    assert result.status == 1
    assert result.failure is not None and named in result.failure
    assert named in result.err
    assert not (result.model_dir / "xgboost-model").exists()


def test_missing_train_channel(
    make_job: MakeJob, nonlinear: Split, capsys: pytest.CaptureFixture[str]
) -> None:
    job = make_job(
        {"num_round": "5"}, validation={"v.csv": csv_text(*reversed(nonlinear.validation))}
    )
    result = job.run("xgboost", capsys)
    assert result.status == 1
    assert result.failure is not None
    assert result.failure == "the xgboost algorithm needs a 'train' channel\n"


def test_unknown_channel_is_refused(
    make_job: MakeJob, nonlinear: Split, capsys: pytest.CaptureFixture[str]
) -> None:
    data = csv_text(*reversed(nonlinear.train))
    job = make_job({"num_round": "5"}, train={"t.csv": data}, extra={"t.csv": data})
    result = job.run("xgboost", capsys)
    assert result.status == 1
    assert result.failure is not None and "no 'extra' channel" in result.failure


def test_malformed_csv_names_file_and_line(
    make_job: MakeJob, nonlinear: Split, capsys: pytest.CaptureFixture[str]
) -> None:
    good = csv_text(*reversed(nonlinear.train))
    bad = "1.0,2.0,3.0,4.0,5.0\n2.0,oops,3.0,4.0,5.0\n"
    job = make_job({"num_round": "5"}, train={"a.csv": good, "b.csv": bad})
    result = job.run("xgboost", capsys)
    assert result.status == 1
    assert result.failure == "train/b.csv, line 2, column 2: 'oops' is not a number\n"


def test_training_error_from_xgboost_is_the_failure(
    make_job: MakeJob, nonlinear: Split, capsys: pytest.CaptureFixture[str]
) -> None:
    # Poisson regression needs non-negative labels: XGBoost's words, without its stack trace.
    job = make_job(
        {"num_round": "5", "objective": "count:poisson"},
        train={"t.csv": csv_text(*reversed(nonlinear.train))},
    )
    result = job.run("xgboost", capsys)
    assert result.status == 1
    assert result.failure is not None
    assert result.failure.startswith("XGBoost could not train: ")
    assert "label must be non-negative" in result.failure
    assert "Stack trace" not in result.failure and "\n" not in result.failure.strip()


@pytest.mark.parametrize(
    ("objective", "labels", "message"),
    [
        ("binary:logistic", "0\n1\n2\n", "train/t.csv, line 4: label 2 is not in [0, 1]"),
        (
            "multi:softprob",
            "0\n2\n\n1.5\n",
            "train/t.csv, line 5: label 1.5 is not a class number from 0 to 2",
        ),
    ],
    ids=["binary", "multiclass"],
)
def test_labels_the_objective_cannot_take(
    make_job: MakeJob,
    capsys: pytest.CaptureFixture[str],
    objective: str,
    labels: str,
    message: str,
) -> None:
    rows = "".join(f"{label},0.5,1.5\n" if label else "\n" for label in labels.split("\n"))
    hps = {"num_round": "5", "objective": objective, "num_class": "3"}
    if objective.startswith("binary"):
        del hps["num_class"]
    job = make_job(hps, train={"t.csv": "1,0.1,0.2\n" + rows})
    result = job.run("xgboost", capsys)
    assert result.status == 1
    assert result.failure is not None and result.failure.startswith(message)


@pytest.mark.parametrize("weighted", [True, False], ids=["csv_weights", "unweighted"])
def test_instance_weights(
    make_job: MakeJob, nonlinear: Split, capsys: pytest.CaptureFixture[str], weighted: bool
) -> None:
    x, y = nonlinear.train
    # Every other row has a wild label and weight 0: only the weighted model ignores them.
    odd = np.arange(len(y)) % 2 == 1
    labels = np.where(odd, 100.0, y)
    weights = np.where(odd, 0.0, 1.0)
    job = make_job(
        {"num_round": "80", "csv_weights": "1" if weighted else "0"},
        train={"t.csv": csv_text(labels, np.column_stack([weights, x]) if weighted else x)},
    )
    result = job.run("xgboost", capsys)
    assert result.status == 0, result.err
    booster = _booster(result)
    assert booster.num_features() == 4
    error = _rmse(booster, *nonlinear.test)
    assert bool(error < 0.3 * np.std(nonlinear.test[1])) == weighted


def test_parameters_passed_to_xgboost() -> None:
    from dockyard.algorithms import xgboost as algorithm

    hps = ALGORITHM.hyperparameters.parse(
        {
            "num_round": "5",
            "learning_rate": "0.3",
            "validate_parameters": "true",
            "updater": "grow_quantile_histmaker,prune",
            "eval_metric": "auc,accuracy",
            "objective": "binary:logistic",
            "early_stopping_rounds": "3",
            "predictor": "auto",
        }
    )
    assert algorithm._params(hps, 3) == {
        "nthread": 3,  # SM_NUM_CPUS unless nthread is given
        "objective": "binary:logistic",
        "eta": 0.3,  # an alias is passed under XGBoost's main name
        "validate_parameters": 1,
        "updater": "grow_quantile_histmaker,prune",
        "eval_metric": ["auc"],  # accuracy is computed by the algorithm, not XGBoost
    }
    given = ALGORITHM.hyperparameters.parse({"num_round": "5", "nthread": "2"})
    assert algorithm._params(given, 3)["nthread"] == 2


def test_resumes_from_checkpoint(
    make_job: MakeJob, nonlinear: Split, capsys: pytest.CaptureFixture[str]
) -> None:
    data = {"t.csv": csv_text(*reversed(nonlinear.train))}
    job = make_job({"num_round": "8"}, train=data)
    checkpoints = job.root / "checkpoints"
    environ = job.environ

    def with_checkpoints() -> dict[str, str]:
        return {**environ(), "SM_CHECKPOINT_DIR": str(checkpoints)}

    job.environ = with_checkpoints  # type: ignore[method-assign]
    first = job.run("xgboost", capsys)
    assert first.status == 0, first.err
    # The last five rounds' checkpoints are kept.
    assert sorted(p.name for p in checkpoints.iterdir()) == [
        f"xgboost-checkpoint.{i}" for i in range(3, 8)
    ]
    (job.root / "input" / "config" / "hyperparameters.json").write_text('{"num_round": "12"}')
    second = job.run("xgboost", capsys)
    assert second.status == 0, second.err
    assert "resuming from checkpoint xgboost-checkpoint.7: 8 rounds done" in second.out
    assert [r.step for r in map(ALGORITHM.parse_metrics, second.out.splitlines()) if r] == [
        8,
        9,
        10,
        11,
    ]
    assert _booster(second).num_boosted_rounds() == 12


def test_ignored_hyperparameters_warn(
    make_job: MakeJob, nonlinear: Split, capsys: pytest.CaptureFixture[str]
) -> None:
    job = make_job(
        {"num_round": "3", "predictor": "cpu_predictor", "objective": "reg:linear"},
        train={"t.csv": csv_text(*reversed(nonlinear.train))},
    )
    result = job.run("xgboost", capsys)
    assert result.status == 0, result.err
    assert "WARNING: hyperparameter 'predictor' has no effect here" in result.out
    assert "'reg:linear' is read as 'reg:squarederror'" in result.out
    # Nothing XGBoost would complain about reached it.
    assert "not used" not in result.out


def test_xgboost_warnings_become_log_lines(
    make_job: MakeJob, nonlinear: Split, capsys: pytest.CaptureFixture[str]
) -> None:
    # The linear booster does not use max_depth; XGBoost warns, and the job's log says so.
    job = make_job(
        {"num_round": "2", "booster": "gblinear", "max_depth": "3"},
        train={"t.csv": csv_text(*reversed(nonlinear.train))},
    )
    result = job.run("xgboost", capsys)
    assert result.status == 0, result.err
    assert 'WARNING: Parameters: { "max_depth" } are not used.' in result.out.splitlines()
