"""The seeds' XGBoost notebook, unchanged but for where its clients go (``AWS_ENDPOINT_URL``)
and its bucket: a server without accounts, the SDK's default session built from the
environment, channels as S3 prefixes with ``content_type='csv'``, ``fit`` streaming its log
(``logs=True``, the default), a batch transform, ``deploy`` and ``predict`` read as CSV text with
the SDK's default deserializer, then the endpoint deleted.

The SDK polls every 5 s (jobs), 10 s (logs) and 30 s (endpoints); the test makes it poll every
half second, which changes how often it asks, not what it asks.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import boto3
import numpy as np
import pytest
from tests.runtime.serving.test_aws import import_sagemaker
from tests.services.s3 import S3Server
from tests.services.server_process import ServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.s3]

ROLE = "arn:aws:iam::111122223333:role/SageMakerRole"


@pytest.fixture(scope="module")
def open_server(
    s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerProcess, str]]:
    bucket = s3_server.create_bucket("notebook")
    base = tmp_path_factory.mktemp("notebook")
    server = ServerProcess(
        base / "home",
        env={
            "DOCKYARD_DATA_ROOTS": f"s3://{bucket},{base}",
            "DOCKYARD_S3_ENDPOINT_URL": s3_server.endpoint_url,
            "DOCKYARD_EXECUTOR_CPUS": "2",
        },
    )
    server.start()
    try:
        yield server, bucket
    finally:
        server.stop()


def _rows(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    return x, 3 * x[:, 0] - 2 * x[:, 1] + rng.normal(size=n) * 0.1


def test_the_notebook_runs_with_only_the_endpoint_and_bucket_changed(
    open_server: tuple[ServerProcess, str],
    s3_server: S3Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, bucket = open_server
    # What the notebook's environment says: every AWS client to the server, S3 to the S3
    # server (whose keys the fixture put in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_server.endpoint_url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    # A fresh process's default boto3 session: one an earlier test made (boto3.client() keeps
    # it) would carry that test's credentials.
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    sagemaker = import_sagemaker()
    session_class = sagemaker.session.Session
    for name in ("wait_for_job", "wait_for_transform_job", "wait_for_endpoint", "logs_for_job"):
        monkeypatch.setattr(
            session_class, name, functools.partialmethod(getattr(session_class, name), poll=0.5)
        )
    from sagemaker.deserializers import NumpyDeserializer
    from sagemaker.inputs import TrainingInput
    from sagemaker.serializers import CSVSerializer, NumpySerializer

    # -- the notebook ------------------------------------------------------------------------
    opt_out = {
        "SchemaVersion": "1.0",
        "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}},
    }
    session = sagemaker.Session(default_bucket=bucket, sagemaker_config=opt_out)
    prefix = "demo-xgboost"
    x, y = _rows(400, seed=1)
    test_x, test_y = _rows(20, seed=2)
    for name, rows in (("train", slice(0, 300)), ("validation", slice(300, 400))):
        local = tmp_path / f"{name}.csv"
        np.savetxt(local, np.column_stack([y[rows], x[rows]]), delimiter=",", fmt="%.6f")
        session.upload_data(str(local), key_prefix=f"{prefix}/{name}")
    np.savetxt(tmp_path / "test.csv", test_x, delimiter=",", fmt="%.6f")
    batch_input = session.upload_data(str(tmp_path / "test.csv"), key_prefix=f"{prefix}/test")
    container = sagemaker.image_uris.retrieve("xgboost", session.boto_region_name, "1.7-1")
    s3_input_train = TrainingInput(s3_data=f"s3://{bucket}/{prefix}/train", content_type="csv")
    s3_input_validation = TrainingInput(
        s3_data=f"s3://{bucket}/{prefix}/validation/", content_type="csv"
    )
    xgb = sagemaker.estimator.Estimator(
        container,
        ROLE,
        instance_count=1,
        instance_type="ml.m4.xlarge",
        output_path=f"s3://{bucket}/{prefix}/output",
        sagemaker_session=session,
    )
    xgb.set_hyperparameters(
        max_depth=5,
        eta=0.2,
        gamma=4,
        min_child_weight=6,
        subsample=0.8,
        objective="reg:squarederror",
        num_round=40,
    )
    xgb.fit({"train": s3_input_train, "validation": s3_input_validation})
    transformer = xgb.transformer(
        instance_count=1, instance_type="ml.m4.xlarge", output_path=f"s3://{bucket}/{prefix}/batch"
    )
    transformer.transform(batch_input, content_type="text/csv", split_type="Line")
    transformer.wait()
    predictor = xgb.deploy(
        initial_instance_count=1, instance_type="ml.m4.xlarge", serializer=CSVSerializer()
    )
    predictions = predictor.predict(test_x).decode("utf-8")
    as_arrays = sagemaker.predictor.Predictor(  # NPY both ways: scikit-learn's predictor default
        predictor.endpoint_name,
        session,
        serializer=NumpySerializer(),
        deserializer=NumpyDeserializer(),
    ).predict(test_x)
    predictor.delete_endpoint()
    # -- what it made ------------------------------------------------------------------------
    logged = capsys.readouterr().out
    assert "validation-rmse" in logged  # fit(logs=True) streamed the training log
    predicted = np.array([float(v) for v in predictions.replace(",", "\n").split()])
    assert len(predicted) == 20 and np.sqrt(np.mean((predicted - test_y) ** 2)) < 1.0
    assert np.allclose(as_arrays, predicted)
    scored = s3_server.client().get_object(Bucket=bucket, Key=f"{prefix}/batch/test.csv.out")
    batch = np.array([float(v) for v in scored["Body"].read().decode().split()])
    assert np.allclose(batch, predicted)
    sm = session.sagemaker_client
    sm.get_waiter("endpoint_deleted").wait(
        EndpointName=predictor.endpoint_name, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
    )
    assert predictor.endpoint_name not in [
        e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]
    ]
