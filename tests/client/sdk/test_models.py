"""``dy.log_model``, ``dy.register_model``, ``dy.load_model`` on the embedded default."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import dockyard as dy
from dockyard.client.sdk import context, reset_context
from dockyard.client.sdk._sender import MetricSender
from dockyard.errors import InvalidArgument, NotFound
from dockyard.models import verify
from dockyard.settings import Settings


@pytest.fixture(autouse=True)
def embedded(settings: Settings) -> Iterator[None]:
    reset_context(settings)
    yield
    while dy.active_run():
        dy.end_run()
    reset_context(settings)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    return pd.DataFrame({"alcohol": rng.random(50) * 5 + 9, "acidity": rng.random(50)})


@pytest.fixture(scope="module")
def estimator(frame: pd.DataFrame) -> Any:
    from sklearn.linear_model import LinearRegression

    return LinearRegression().fit(frame, frame["alcohol"] * 0.3 - frame["acidity"])


def test_log_register_alias_and_load_back_by_every_uri(
    frame: pd.DataFrame, estimator: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Slow metric delivery: the version's metric snapshot must not depend on the background
    # sender's timing (registering flushes it first).
    deliver = MetricSender._deliver

    def slow_deliver(self: MetricSender, batch: Any) -> None:
        time.sleep(2)
        deliver(self, batch)

    monkeypatch.setattr(MetricSender, "_deliver", slow_deliver)
    dy.set_experiment("wine")
    # The SDK records the code version at run start; pinned here so the test runs outside git.
    code = {"mlflow.source.git.commit": "c0ffee", "dockyard.source.git.dirty": "false"}
    with dy.start_run(tags=code) as run:
        dy.log_input(frame, name="wine-train", context_name="training")
        dy.log_metric("rmse", 0.12)
        info = dy.log_model(
            estimator, "model", input_example=frame.head(3), registered_model_name="wine"
        )
    assert info.model_uri == f"runs:/{run.run_id}/model" and info.run_id == run.run_id
    assert (info.version, info.registered_model_uri, info.flavor) == (
        1,
        "models:/wine/1",
        "sklearn",
    )
    assert info.signature is not None and info.signature.inputs is not None
    assert [c.name for c in info.signature.inputs.columns] == ["alcohol", "acidity"]

    context().client.request(
        "PUT", "/api/v1/registered-models/wine/aliases/champion", json={"version": 1}
    )
    expected = estimator.predict(frame)
    for uri in (info.model_uri, "models:/wine/1", "models:/wine@champion", "models:/wine/latest"):
        model = dy.load_model(uri)
        np.testing.assert_allclose(model.predict(frame), expected)
        assert model.metadata.digest == info.digest and model.metadata.verified
    records = frame.head(2).to_dict(orient="records")
    np.testing.assert_allclose(
        dy.load_model("models:/wine@champion").predict(records), expected[:2]
    )

    local = dy.download_model("models:/wine@champion")
    assert local.path == settings.home / "cache" / "models" / info.digest.removeprefix("sha256:")
    assert verify(local.path) == info.digest

    lineage = context().client.request("GET", "/api/v1/registered-models/wine/versions/1/lineage")
    assert [d["name"] for d in lineage["datasets"]] == ["wine-train"]
    assert lineage["model_version"]["metrics"] == {"rmse": 0.12}
    assert (lineage["code"]["git_commit"], lineage["code"]["git_dirty"]) == ("c0ffee", False)


def test_log_model_without_a_run_starts_one(estimator: Any, frame: pd.DataFrame) -> None:
    info = dy.log_model(estimator, "nested/model")
    assert dy.active_run() == info.run_id and info.version is None
    np.testing.assert_allclose(
        dy.load_model(f"runs:/{info.run_id}/nested/model").predict(frame),
        estimator.predict(frame),
    )


def test_register_a_local_folder_into_a_new_run(tmp_path: Path, estimator: Any) -> None:
    from dockyard.models import save_model

    saved = save_model(estimator, tmp_path / "pkg")
    version = dy.register_model(str(tmp_path / "pkg"), "wine", description="from disk")
    assert (version.version, version.digest, version.description) == (1, saved.digest, "from disk")
    assert version.source.startswith("runs:/") and dy.active_run() is None
    source_run = dy.get_run(version.source.split("/")[1])
    assert source_run.info.status == "FINISHED"
    again = dy.register_model("models:/wine/1", "wine-prod")
    assert again.digest == saved.digest and again.source == "models:/wine/1"


def test_errors_name_the_problem(estimator: Any, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="registered model 'nope' does not exist"):
        dy.load_model("models:/nope/1")
    with pytest.raises(InvalidArgument, match="not a version number"):
        dy.load_model("models:/wine/Production")
    with dy.start_run() as run:
        info = dy.log_model(estimator, "model")
    context().client.request("DELETE", f"/api/v1/runs/{run.run_id}")
    with pytest.raises(InvalidArgument, match=f"run {run.run_id} is deleted"):
        dy.register_model(info.model_uri, "wine")
    with pytest.raises(InvalidArgument, match="not a model package"):
        dy.register_model(str(tmp_path), "wine")
    with pytest.raises(InvalidArgument, match="artifact path"):
        dy.log_model(estimator, "../escape")
