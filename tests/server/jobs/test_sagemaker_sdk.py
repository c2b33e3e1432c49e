"""Notebook code written for the SageMaker Python SDK, run through dy.Estimator against a real
server: its arguments, fit(), set_hyperparameters(), deploy() and the predictor it returns."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.server.jobs.conftest import SCRIPTS
from tests.services.server_process import ServerProcess

import dockyard as dy
from dockyard.client.sdk import reset_context
from dockyard.settings import Settings

pytestmark = pytest.mark.slow

ROLE = "arn:aws:iam::111122223333:role/service-role/AmazonSageMaker-ExecutionRole"


@pytest.fixture
def sdk(job_server: ServerProcess, tmp_path: Path) -> Iterator[None]:
    reset_context(Settings(home=tmp_path / "client", uri=job_server.url))
    yield
    reset_context(Settings(home=tmp_path / "client"))


def test_a_sagemaker_notebook_trains_deploys_and_predicts_unchanged(
    sdk: None, train_dir: Path
) -> None:
    # --- as written for SageMaker (only the import differs) ---
    xgb_estimator = dy.Estimator(
        entry_point="save_model.py",
        source_dir=str(SCRIPTS / "sagemaker"),
        role=ROLE,
        instance_count=1,
        instance_type="ml.m5.xlarge",
        framework_version="1.7-1",
        py_version="py3",
        output_path="s3://my-bucket/xgboost/output",
        base_job_name="xgb-notebook",
        hyperparameters={"num_round": 5},
        max_run=600,
        tags=[{"Key": "team", "Value": "fraud"}],
    )
    xgb_estimator.set_hyperparameters(format="pickled-booster")
    printed = io.StringIO()
    with redirect_stdout(printed):
        xgb_estimator.fit({"train": str(train_dir)}, wait=True, logs="All")
    predictor = xgb_estimator.deploy(initial_instance_count=1, instance_type="ml.m5.large")
    rows = pd.read_csv(train_dir / "part-1.csv").drop(columns="target").head(4)
    predictions = predictor.predict(rows)
    predictor.delete_endpoint()
    # --- what it did ---
    assert xgb_estimator.hyperparameters() == {"num_round": 5, "format": "pickled-booster"}
    job = xgb_estimator.latest_job
    assert job is not None and job.name.startswith("xgb-notebook-")
    described = job.describe()
    assert described.status == "Completed"
    assert described.spec["hyperparameters"] == {"num_round": "5", "format": "pickled-booster"}
    assert described.spec["stopping_condition"]["max_runtime_s"] == 600
    # ml.m5.xlarge is 4 CPUs and 16 GiB; this executor has 2 CPUs, and says so.
    assert described.spec["resources"]["cpus"] == 2
    assert described.spec["resources"]["instance_type"] == "ml.m5.xlarge"
    assert "ml.m5.xlarge asks for 4 CPUs and 16384 MB; this executor has 2 CPUs" in (
        described.events[0].message
    )
    assert "saved pickled-booster" in printed.getvalue()
    assert xgb_estimator.model_data == f"runs:/{described.run_id}/model"
    # deploy() with no name names the endpoint after the training job.
    assert predictor.endpoint_name == job.name
    expected = dy.load_model(xgb_estimator.model_data).predict(rows)
    np.testing.assert_allclose(np.asarray(predictions).reshape(-1), np.asarray(expected), rtol=1e-5)


def test_deploy_takes_the_endpoint_name_and_instance_count(sdk: None, train_dir: Path) -> None:
    estimator = dy.Estimator(
        "save_model.py",
        SCRIPTS / "sagemaker",
        role=ROLE,
        instance_type="local",
        hyperparameters={"format": "joblib"},
    )
    estimator.fit(str(train_dir), logs=False, job_name="sk-notebook")
    handle = estimator.deploy(
        initial_instance_count=2, instance_type="ml.m5.large", endpoint_name="sk-endpoint"
    )
    try:
        scaling = handle.describe().config.scaling
        assert (handle.name, scaling.min_workers, scaling.max_workers) == ("sk-endpoint", 2, 2)
    finally:
        handle.delete_endpoint()


@pytest.mark.parametrize(
    ("options", "field", "words"),
    [
        ({"instance_count": 2}, "resources", "runs on one host, so instance_count must be 1"),
        ({"instance_type": "ml.inf1.xlarge"}, "resources", "'ml.inf1.xlarge' is not an instance"),
        ({"enable_network_isolation": True}, "enable_network_isolation", "cannot cut a job off"),
        ({"input_mode": "Pipe"}, "input_mode", "channels are files here"),
        ({"instance_typo": "ml.m5.large"}, "instance_typo", "unknown Estimator option"),
    ],
)
def test_sagemaker_arguments_dockyard_cannot_honour_are_refused_by_name(
    sdk: None,
    train_dir: Path,
    options: dict,
    field: str,
    words: str,  # type: ignore[type-arg]
) -> None:
    with pytest.raises(dy.InvalidArgument) as caught:
        dy.Estimator("save_model.py", SCRIPTS / "sagemaker", **options).fit(str(train_dir))
    assert words in caught.value.message
    assert (caught.value.field or "").startswith(field), caught.value.field


def test_deploy_without_a_name_or_a_trained_model_says_what_is_missing(sdk: None) -> None:
    with pytest.raises(dy.InvalidArgument, match="call fit"):
        dy.Estimator("save_model.py", SCRIPTS / "sagemaker").deploy(initial_instance_count=1)
    with pytest.raises(dy.InvalidArgument, match="endpoint_name") as caught:
        dy.deploy("runs:/0123/model")
    assert caught.value.field == "name"


def test_an_entry_point_without_source_dir_is_the_local_script_sent_alone(
    sdk: None, train_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SageMaker's habit: Estimator(entry_point="train.py") with the script beside the notebook.
    project = tmp_path / "notebook"
    (project / "scripts").mkdir(parents=True)
    script = (SCRIPTS / "sagemaker" / "save_model.py").read_text()
    (project / "scripts" / "train.py").write_text(script)
    (project / "big-data.bin").write_bytes(b"\0" * 1024)  # beside it: not sent
    monkeypatch.chdir(project)
    estimator = dy.Estimator(entry_point="scripts/train.py", hyperparameters={"num_round": 2})
    described = estimator.fit({"train": str(train_dir)}, logs=False).describe()
    assert described.status == "Completed", described.failure_reason
    assert described.spec["entry_point"] == "train.py"
    assert Path(described.spec["source_dir"]).name != "notebook"
    assert [p.name for p in Path(described.spec["source_dir"]).iterdir()] == ["train.py"]
    with pytest.raises(dy.InvalidArgument, match=r"entry point nope\.py is not a file") as caught:
        dy.Estimator(entry_point="nope.py").fit({"train": str(train_dir)})
    assert caught.value.field == "entry_point"
    # With source_dir, a script missing from it is named in the folder given, not its copy.
    with pytest.raises(dy.InvalidArgument) as caught:
        dy.Estimator(entry_point="trian.py", source_dir="scripts").fit({"train": str(train_dir)})
    assert caught.value.message == "entry point 'trian.py' is not a file in scripts"
