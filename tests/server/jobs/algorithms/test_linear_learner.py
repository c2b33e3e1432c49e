"""The built-in linear-learner algorithm: regression and binary classification with scikit-learn."""

from __future__ import annotations

from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from tests.server.jobs.algorithms.conftest import MakeJob, Result, Split, csv_text

from dockyard.algorithms import BUILTIN_ALGORITHMS

ALGORITHM = BUILTIN_ALGORITHMS["linear-learner"]


def _model(result: Result) -> Any:
    return joblib.load(result.model_dir / "model.joblib")


def _frame(features: np.ndarray[Any, Any]) -> pd.DataFrame:
    return pd.DataFrame(features, columns=[f"f{i}" for i in range(features.shape[1])])


def _metrics(result: Result) -> tuple[list[tuple[int | None, dict[str, float]]], dict[str, float]]:
    """Per-epoch lines as (epoch, values), and the final scores merged."""
    epochs, final = [], {}
    for line in result.out.splitlines():
        parsed = ALGORITHM.parse_metrics(line)
        if parsed is None:
            continue
        if parsed.step is None:
            final.update(parsed.values)
        else:
            epochs.append((parsed.step, parsed.values))
    return epochs, final


def _channels(split: Split) -> dict[str, dict[str, str]]:
    return {
        name: {"d.csv": csv_text(labels, features)}
        for name, (features, labels) in (
            ("train", split.train),
            ("validation", split.validation),
            ("test", split.test),
        )
    }


def test_regression(make_job: MakeJob, linear: Split, capsys: pytest.CaptureFixture[str]) -> None:
    hps = {"predictor_type": "regressor", "epochs": "20", "mini_batch_size": "50"}
    result = make_job(hps, **_channels(linear)).run("linear-learner", capsys)
    assert result.status == 0, result.err
    epochs, final = _metrics(result)
    assert epochs[0] == (
        0,
        {"train:objective_loss": pytest.approx(epochs[0][1]["train:objective_loss"])},
    )
    assert [e for e, _ in epochs] == sorted(e for e, _ in epochs)
    assert {"validation:objective_loss", "test:mse", "test:rmse", "test:absolute_loss"} <= set(
        final
    )
    # The static regexes read the same final values as the parser.
    for definition in ALGORITHM.metric_definitions:
        if definition["name"] in ("test:mse", "test:rmse", "validation:objective_loss"):
            import re

            found = [
                m for line in result.out.splitlines() if (m := re.search(definition["regex"], line))
            ]
            assert float(found[-1].group(1)) == pytest.approx(final[definition["name"]], rel=1e-5)
    # The saved model takes raw features (scaling folded in) and predicts in the label's units.
    test_x, test_y = linear.test
    predictions = _model(result).predict(_frame(test_x))
    rmse = float(np.sqrt(np.mean((predictions - test_y) ** 2)))
    assert rmse == pytest.approx(final["test:rmse"], rel=1e-5)
    assert rmse < 0.05 * float(np.std(test_y))
    example = pd.read_csv(result.model_dir / "input_example.csv")
    np.testing.assert_allclose(example.to_numpy(), linear.train[0][:5])


def test_binary_classification(
    make_job: MakeJob, binary: Split, capsys: pytest.CaptureFixture[str]
) -> None:
    hps = {
        "predictor_type": "binary_classifier",
        "epochs": "10",
        "binary_classifier_model_selection_criteria": "f_beta",
        "num_models": "32",
    }
    result = make_job(hps, **_channels(binary)).run("linear-learner", capsys)
    assert result.status == 0, result.err
    assert "WARNING: hyperparameter 'num_models' has no effect here" in result.out
    assert "binary_classifier_model_selection_criteria' has no effect" in result.out
    assert "binary_classification_cross_entropy_objective" in result.out
    _, final = _metrics(result)
    model = _model(result)
    accuracy = float(np.mean(model.predict(_frame(binary.test[0])) == binary.test[1]))
    assert accuracy == pytest.approx(final["test:binary_classification_accuracy"])
    assert accuracy > 0.85
    assert final["test:roc_auc_score"] > 0.9
    assert set(model.classes_) == {0.0, 1.0}


def test_early_stopping_keeps_the_best_epoch(
    make_job: MakeJob, linear: Split, capsys: pytest.CaptureFixture[str]
) -> None:
    hps = {
        "predictor_type": "regressor",
        "epochs": "200",
        "early_stopping_patience": "2",
        "early_stopping_tolerance": "0.5",  # needs halving the loss each epoch: stops early
    }
    result = make_job(hps, **_channels(linear)).run("linear-learner", capsys)
    assert result.status == 0, result.err
    epochs, final = _metrics(result)
    losses = [v["validation:objective_loss"] for _, v in epochs if "validation:objective_loss" in v]
    assert len(losses) < 200
    assert "early stopping after epoch" in result.out
    assert final["validation:objective_loss"] == pytest.approx(min(losses), rel=1e-5)


@pytest.mark.parametrize(
    ("hyperparameters", "field", "named"),
    [
        ({}, "predictor_type", "'predictor_type' is required"),
        (
            {"predictor_type": "multiclass_classifier"},
            "predictor_type",
            "'multiclass_classifier' is not supported",
        ),
        ({"predictor_type": "regressor", "loss": "logistic"}, "loss", "does not fit"),
        ({"predictor_type": "regressor", "epochs": "0"}, "epochs", "integer >= 1"),
        (
            {"predictor_type": "regressor", "normalize_data": "yes"},
            "normalize_data",
            "true or false",
        ),
        ({"predictor_type": "regressor", "wd": "-1"}, "wd", 'a number >= 0 or "auto"'),
        ({"predictor_type": "regressor", "learning_rate": "auto"}, None, None),
    ],
    ids=["required", "multiclass", "loss", "epochs", "bool", "auto-number", "auto-ok"],
)
def test_validate_hyperparameters(
    hyperparameters: dict[str, str], field: str | None, named: str | None
) -> None:
    from dockyard.errors import InvalidArgument

    if field is None:
        ALGORITHM.validate_hyperparameters(hyperparameters)
        return
    with pytest.raises(InvalidArgument) as caught:
        ALGORITHM.validate_hyperparameters(hyperparameters)
    assert caught.value.field == f"hyperparameters.{field}"
    assert named is not None and named in caught.value.message


def test_bad_hyperparameter_through_the_process(make_job: MakeJob, linear: Split) -> None:
    job = make_job({"predictor_type": "regressor", "epochs": "many"}, **_channels(linear))
    result = job.run_process("linear-learner")
    assert result.status == 1
    assert result.failure == "hyperparameter 'epochs' must be an integer >= 1, got 'many'\n"
    assert "ERROR: hyperparameter 'epochs'" in result.err
    assert not (result.model_dir / "model.joblib").exists()


@pytest.mark.parametrize(
    ("train", "message"),
    [
        ("0,1.0,2.0\n2,1.0,2.0\n", "train/d.csv, line 2: label 2 is not 0 or 1"),
        ("0,1.0,2.0\n\n1,,2.0\n", "train/d.csv, line 3: a feature is missing"),
    ],
    ids=["label", "missing-feature"],
)
def test_bad_rows_are_named(
    make_job: MakeJob, capsys: pytest.CaptureFixture[str], train: str, message: str
) -> None:
    job = make_job({"predictor_type": "binary_classifier"}, train={"d.csv": train})
    result = job.run("linear-learner", capsys)
    assert result.status == 1
    assert result.failure is not None and result.failure.startswith(message)


def test_feature_dim_must_match(
    make_job: MakeJob, linear: Split, capsys: pytest.CaptureFixture[str]
) -> None:
    job = make_job({"predictor_type": "regressor", "feature_dim": "4"}, **_channels(linear))
    result = job.run("linear-learner", capsys)
    assert result.status == 1
    assert result.failure == (
        "hyperparameter 'feature_dim' is 4 but channel 'train' has 3 feature columns\n"
    )


@pytest.mark.parametrize(
    "settings",
    [
        {"loss": "absolute_loss"},
        {"loss": "huber_loss", "huber_delta": "2"},
        {"loss": "eps_insensitive_squared_loss", "loss_insensitivity": "0.1"},
        {"loss": "eps_insensitive_absolute_loss"},
        {"l1": "0.001", "wd": "0.001", "learning_rate": "0.01"},
        {"normalize_label": "false"},
        {"use_bias": "false"},
    ],
    ids=["absolute", "huber", "eps-squared", "eps-absolute", "elastic-net", "raw-label", "no-bias"],
)
def test_regression_settings(
    make_job: MakeJob, linear: Split, capsys: pytest.CaptureFixture[str], settings: dict[str, str]
) -> None:
    hps = {"predictor_type": "regressor", "epochs": "15", "mini_batch_size": "100", **settings}
    result = make_job(hps, **_channels(linear)).run("linear-learner", capsys)
    assert result.status == 0, result.err
    _, final = _metrics(result)
    # Every setting fits this linear target far better than predicting the mean would.
    assert final["test:rmse"] < 0.1 * float(np.std(linear.test[1]))


@pytest.mark.parametrize(
    "settings",
    [
        {"loss": "hinge_loss"},
        {"positive_example_weight_mult": "balanced"},
        {"normalize_data": "false"},
    ],
    ids=["hinge", "balanced", "raw-features"],
)
def test_binary_settings(
    make_job: MakeJob, binary: Split, capsys: pytest.CaptureFixture[str], settings: dict[str, str]
) -> None:
    hps = {"predictor_type": "binary_classifier", "epochs": "10", **settings}
    result = make_job(hps, **_channels(binary)).run("linear-learner", capsys)
    assert result.status == 0, result.err
    _, final = _metrics(result)
    assert final["test:binary_classification_accuracy"] > 0.85
