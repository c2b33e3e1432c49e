"""A run's models on its page: an MLflow 3 logged model (the real ``mlflow`` client's
``log_model``, whose files live under the model, not in the run's artifacts) and a model kept
in the run's artifacts, both listed and both browsable. Each page is checked for console errors
and foreign requests."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import numpy as np
import pytest
from playwright.sync_api import expect
from sklearn.linear_model import LinearRegression

from tests.ui.conftest import Seeded, Watched

pytestmark = [
    pytest.mark.slow,
    # mlflow's own deprecation and schema-inference hints, raised inside mlflow.
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


@pytest.fixture(autouse=True)
def _timeouts() -> None:
    expect.set_options(timeout=20_000)


@pytest.fixture(scope="module")
def logged(seeded: Seeded, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(run id, model id) of a run that logged an MLflow 3 model and nothing else."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MLFLOW_TRACKING_URI", seeded.url)
        env.setenv("MLFLOW_TRACKING_TOKEN", seeded.token)
        env.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        # Out of the repository, log_model does not take this project's uv.lock.
        env.chdir(tmp_path_factory.mktemp("mlflow3"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import mlflow.sklearn

            mlflow.set_tracking_uri(seeded.url)
            mlflow.set_experiment("ui-mlflow3")
            features = np.random.default_rng(3).random((20, 2))
            estimator = LinearRegression().fit(features, features @ np.array([1.0, 2.0]))
            with mlflow.start_run(run_name="mlflow3-model") as run:
                info = mlflow.sklearn.log_model(estimator, name="model", input_example=features[:2])
        mlflow.set_tracking_uri(None)
        yield run.info.run_id, info.model_id


def test_the_lineage_lists_logged_and_artifact_models(
    page: Watched, seeded: Seeded, logged: tuple[str, str]
) -> None:
    run_id, model_id = logged
    p = page.goto(f"/runs/{run_id}?tab=lineage")
    card = p.locator(f".card.model[data-source='models:/{model_id}']")
    expect(card).to_contain_text("sklearn")  # its MLmodel, read from the model's files
    expect(card).to_contain_text(model_id)
    expect(p.locator("text=No model logged in this run.")).to_have_count(0)
    page.shot("run-lineage-logged-model")
    card.locator("a", has_text="model").first.click()
    expect(p.locator(f"#artifact-sources a.on[data-model='{model_id}']")).to_be_visible()
    expect(p.locator(".tree [data-path='MLmodel']")).to_be_visible()
    # A model kept in the run's own artifacts (older clients, Dockyard's packages) too.
    seeded_run = seeded.run_ids[0]
    p = page.goto(f"/runs/{seeded_run}?tab=lineage")
    expect(p.locator(f".card.model[data-source='runs:/{seeded_run}/model']")).to_be_visible()


def test_the_artifacts_tab_browses_a_logged_models_files(
    page: Watched, logged: tuple[str, str]
) -> None:
    run_id, model_id = logged
    p = page.goto(f"/runs/{run_id}?tab=artifacts")
    tree = p.locator(".tree")
    expect(tree).to_contain_text("its model's files are under the logged model above")
    p.locator(f"#artifact-sources a[data-model='{model_id}']").click()
    tree.locator("[data-path='MLmodel']").click()
    expect(p.locator(".preview")).to_contain_text("flavors:")
    assert f"model={model_id}" in p.url and "path=MLmodel" in p.url  # a link to share
    page.shot("run-artifacts-logged-model")
    p.reload()  # the link opens the same file of the same model
    expect(p.locator(".preview")).to_contain_text("flavors:")


def test_a_run_shows_the_description_mlflow_gave_it(page: Watched, seeded: Seeded) -> None:
    """``mlflow.start_run(description=...)`` (MLflow's notes) is the run's description on its
    page, as in MLflow's UI, not one of its system tags only; text, never markup. The same for
    an experiment's description on its runs' page."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MLFLOW_TRACKING_TOKEN", seeded.token)
        env.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        import mlflow

        mlflow.set_tracking_uri(seeded.url)
        try:
            experiment = mlflow.set_experiment("ui-notes")
            mlflow.set_experiment_tag("mlflow.note.content", "Churn models, 2026.")
            note = "Baseline on the **October** snapshot.\nSee <b>ticket</b> 42."
            with mlflow.start_run(run_name="noted", description=note) as run:
                mlflow.log_param("depth", 3)
        finally:
            mlflow.set_tracking_uri(None)
    p = page.goto(f"/runs/{run.info.run_id}")
    description = p.locator("#description p")
    expect(description).to_have_text(note)
    expect(p.locator("#description b")).to_have_count(0)
    # The experiment's description (MLflow's experiment notes) heads its runs.
    p = page.goto(f"/experiments/{experiment.experiment_id}")
    expect(p.locator("#description")).to_have_text("Churn models, 2026.")
