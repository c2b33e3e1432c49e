"""dy.HyperparameterTuner end to end: the built-in XGBoost tuned on a scikit-learn dataset
against a real server, the best trial's model deployed; and the tuner's own checks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes
from tests.server.tuning.conftest import server_env
from tests.services.server_process import ServerProcess

import dockyard as dy
from dockyard.client.sdk import reset_context
from dockyard.settings import Settings


@pytest.fixture
def sdk(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    server = ServerProcess(tmp_path / "home", env=server_env(tmp_path_factory))
    server.start()
    reset_context(Settings(home=tmp_path / "client", uri=server.url))
    yield
    reset_context(Settings(home=tmp_path / "client"))
    server.stop()


@pytest.fixture
def diabetes(tmp_path: Path) -> dict[str, str]:
    """The diabetes data as the built-in XGBoost reads it: CSV, label first, no header."""
    x, y = load_diabetes(return_X_y=True)
    frame = pd.DataFrame(np.column_stack([y, x]))
    paths = {}
    for channel, part in (("train", frame.iloc[:330]), ("validation", frame.iloc[330:])):
        folder = tmp_path / channel
        folder.mkdir()
        part.to_csv(folder / "data.csv", header=False, index=False)
        paths[channel] = str(folder)
    return paths


@pytest.mark.slow
def test_a_tuner_tunes_the_builtin_xgboost_and_deploys_the_best(
    sdk: None, diabetes: dict[str, str]
) -> None:
    estimator = dy.Estimator.builtin(
        "xgboost",
        hyperparameters={"num_round": 20, "objective": "reg:squarederror"},
        resources={"cpus": 1},
    )
    tuner = dy.HyperparameterTuner(
        estimator,
        objective_metric_name="validation:rmse",
        objective_type="Minimize",
        hyperparameter_ranges={
            "eta": dy.ContinuousParameter(0.05, 0.5, scaling_type="Logarithmic"),
            "max_depth": dy.IntegerParameter(2, 6),
        },
        strategy="Bayesian",
        max_jobs=4,
        max_parallel_jobs=2,
        early_stopping_type="Auto",
        random_seed=5,
        base_tuning_job_name="diabetes",
    )
    tuner.fit(diabetes)
    described = tuner.describe()
    assert described.status.value == "Completed"
    frame = tuner.analytics().dataframe()
    assert len(frame) == 4
    assert {"eta", "max_depth", "TrainingJobName", "FinalObjectiveValue"} <= set(frame.columns)
    done = frame[frame["TrainingJobStatus"] == "Completed"]
    best_row = done.loc[done["FinalObjectiveValue"].idxmin()]
    assert tuner.best_training_job() == best_row["TrainingJobName"]
    assert frame["eta"].min() >= 0.05 and frame["eta"].max() <= 0.5
    importance = tuner.analytics().importance()
    assert set(importance) == {"eta", "max_depth"}
    assert sum(importance.values()) == pytest.approx(1.0)
    over_time = tuner.analytics().objective_over_time()
    assert over_time["BestObjectiveValue"].is_monotonic_decreasing
    assert over_time["BestObjectiveValue"].iloc[-1] == pytest.approx(
        best_row["FinalObjectiveValue"]
    )
    best = tuner.best_estimator()
    assert best.hyperparameters()["num_round"] == "20"
    assert float(best.hyperparameters()["eta"]) == pytest.approx(best_row["eta"])
    predictor = best.deploy(initial_instance_count=1, endpoint_name="diabetes-best")
    try:
        rows = pd.read_csv(Path(diabetes["validation"]) / "data.csv", header=None).iloc[:3, 1:]
        rows.columns = [f"f{i}" for i in range(rows.shape[1])]  # the model's signature
        predictions = np.asarray(predictor.predict(rows)).reshape(-1)
    finally:
        predictor.delete_endpoint()
    expected = dy.load_model(best.model_data).predict(rows)
    np.testing.assert_allclose(predictions, np.asarray(expected).reshape(-1), rtol=1e-5)


def test_the_tuner_checks_its_arguments_before_sending() -> None:
    estimator = dy.Estimator.builtin("xgboost", hyperparameters={"num_round": 5})
    with pytest.raises(dy.InvalidArgument) as bad_range:
        dy.HyperparameterTuner(estimator, "loss", {"eta": (0.1, 0.2)})._ranges()
    assert bad_range.value.field == "hyperparameter_ranges.eta"
    with pytest.raises(dy.InvalidArgument) as unknown:
        dy.HyperparameterTuner(estimator, "loss", {}, max_job=3)
    assert unknown.value.field == "max_job"
    with pytest.raises(dy.InvalidArgument, match="fit"):
        dy.HyperparameterTuner(estimator, "loss", {}).best_training_job()
