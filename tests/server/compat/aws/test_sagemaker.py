"""SageMaker's control plane through its own clients, unchanged: the SageMaker Python SDK v2
runs the XGBoost notebook flow (upload, fit with the built-in image, batch transform, deploy,
predict, delete) and boto3's ``sagemaker`` client checks, invokes and deletes an endpoint,
against a live server with accounts (the Dockyard token is the session token) and an
S3-compatible server for the data (``AWS_ENDPOINT_URL`` for every service but S3).

The SDK polls every 5 s (jobs) and 30 s (endpoints); the tests make it poll every half second,
which changes how often it asks, not what it asks.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import boto3
import httpx
import numpy as np
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, WaiterError
from tests.runtime.serving.test_aws import import_sagemaker
from tests.services.s3 import S3Server
from tests.services.server_process import ServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.s3]

PASSWORD = "correct horse battery"
NO_RETRIES = Config(retries={"max_attempts": 1, "mode": "standard"})
HPS = {
    "max_depth": 4,
    "eta": 0.3,
    "min_child_weight": 2,
    "subsample": 0.9,
    "objective": "reg:squarederror",
    "num_round": 30,
}
TARGET = 7  # the SageMaker model and endpoint config made by hand below


@dataclass
class Live:
    server: ServerProcess
    s3: S3Server
    bucket: str
    token: str


@pytest.fixture(scope="module")
def live(s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    bucket = s3_server.create_bucket("sagemaker")
    s3_server.client().put_object(Bucket=bucket, Key="y/train.csv", Body=b"1,2\n3,4\n")
    base = tmp_path_factory.mktemp("sagemaker")
    server = ServerProcess(
        base / "home",
        env={
            "DOCKYARD_DATA_ROOTS": f"s3://{bucket},{base}",
            "DOCKYARD_S3_ENDPOINT_URL": s3_server.endpoint_url,
            "DOCKYARD_EXECUTOR_CPUS": "2",
        },
    )
    server.start()
    http = httpx.Client(base_url=server.url)
    made = http.post("/api/v1/users", json={"name": "ana", "role": "admin", "password": PASSWORD})
    assert made.status_code == 201, made.text  # the first account: sign-in is now required
    basic = base64.b64encode(f"ana:{PASSWORD}".encode()).decode()
    answer = http.post(
        "/api/v1/tokens", json={"name": "t"}, headers={"Authorization": f"Basic {basic}"}
    )
    http.close()
    try:
        yield Live(server, s3_server, bucket, answer.json()["token"])
    finally:
        server.stop()


@pytest.fixture
def aws(live: Live, monkeypatch: pytest.MonkeyPatch) -> Live:
    """Every AWS client of this test goes to the server, S3's to the S3 server; the SDK's
    waits poll every half second."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", live.server.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", live.s3.endpoint_url)
    session = import_sagemaker().session.Session
    for name in ("wait_for_job", "wait_for_transform_job", "wait_for_endpoint"):
        monkeypatch.setattr(
            session, name, functools.partialmethod(getattr(session, name), poll=0.5)
        )
    return live


def boto(live: Live, token: str | None = "") -> boto3.Session:
    return boto3.Session(
        aws_access_key_id=live.s3.access_key,
        aws_secret_access_key=live.s3.secret_key,
        aws_session_token=live.token if token == "" else token,
        region_name="us-east-1",
    )


def sagemaker_client(live: Live, token: str | None = "") -> Any:
    return boto(live, token).client("sagemaker", config=NO_RETRIES)


def error(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    found = caught.value.response["Error"]
    return str(found["Code"]), str(found["Message"])


def _session(live: Live) -> Any:
    """The SDK's session as a notebook makes it, telemetry off. S3 is signed with the S3
    server's keys alone (it refuses a session token it did not issue); the SageMaker clients
    carry the Dockyard token as theirs, as they would beside S3 on AWS. The S3 server has no
    KMS, so code archives are uploaded without ``ServerSideEncryption: aws:kms``."""
    sagemaker = import_sagemaker()
    from sagemaker.session_settings import SessionSettings

    opt_out = {
        "SchemaVersion": "1.0",
        "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}},
    }
    dockyard = boto(live)
    return sagemaker.session.Session(
        boto_session=boto(live, token=None),
        sagemaker_client=dockyard.client("sagemaker", config=NO_RETRIES),
        sagemaker_runtime_client=dockyard.client("sagemaker-runtime", config=NO_RETRIES),
        default_bucket=live.bucket,
        sagemaker_config=opt_out,
        settings=SessionSettings(encrypt_repacked_artifacts=False),
    )


def _rows(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    return x, 3 * x[:, 0] - 2 * x[:, 1] + rng.normal(size=n) * 0.1


def _csv(path: Path, *columns: np.ndarray) -> Path:
    np.savetxt(path, np.column_stack(columns), delimiter=",", fmt="%.6f")
    return path


def test_the_xgboost_notebook_flow(aws: Live, tmp_path: Path) -> None:
    sagemaker = import_sagemaker()
    from sagemaker.deserializers import CSVDeserializer
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput
    from sagemaker.serializers import CSVSerializer

    session = _session(aws)
    x, y = _rows(400, seed=1)
    test_x, test_y = _rows(20, seed=2)
    train = session.upload_data(
        str(_csv(tmp_path / "train.csv", y[:300], x[:300])), key_prefix="xgb/train"
    )
    validation = session.upload_data(
        str(_csv(tmp_path / "validation.csv", y[300:], x[300:])), key_prefix="xgb/validation"
    )
    batch = session.upload_data(str(_csv(tmp_path / "test.csv", test_x)), key_prefix="xgb/test")
    image = sagemaker.image_uris.retrieve("xgboost", "us-west-2", "1.7-1")

    estimator = Estimator(
        image,
        "arn:aws:iam::111122223333:role/SageMakerRole",
        instance_count=1,
        instance_type="ml.m5.large",
        output_path=f"s3://{aws.bucket}/xgb/output",
        sagemaker_session=session,
    )
    estimator.set_hyperparameters(**HPS)
    estimator.fit(
        {
            "train": TrainingInput(train, content_type="text/csv"),
            "validation": TrainingInput(validation, content_type="text/csv"),
        },
        logs=False,
    )
    sm = session.sagemaker_client
    job = sm.describe_training_job(TrainingJobName=estimator.latest_training_job.name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["AlgorithmSpecification"]["TrainingImage"] == image
    statuses = [t["Status"] for t in job["SecondaryStatusTransitions"]]
    assert statuses[-1] == "Completed" and "Training" in statuses
    metrics = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert metrics["validation:rmse"] < 1.0  # the noise is 0.1; a mean predictor is ~3.6
    assert job["ModelArtifacts"]["S3ModelArtifacts"] == estimator.model_data

    transformer = estimator.transformer(
        instance_count=1, instance_type="ml.m5.large", output_path=f"s3://{aws.bucket}/xgb/batch"
    )
    transformer.transform(batch, content_type="text/csv", split_type="Line", logs=False)
    scored = aws.s3.client().get_object(Bucket=aws.bucket, Key="xgb/batch/test.csv.out")
    predicted = np.array([float(v) for v in scored["Body"].read().decode().split()])
    assert len(predicted) == 20 and np.sqrt(np.mean((predicted - test_y) ** 2)) < 1.0

    predictor = estimator.deploy(
        initial_instance_count=1,
        instance_type="ml.m5.large",
        serializer=CSVSerializer(),
        deserializer=CSVDeserializer(),
    )
    answer = predictor.predict(test_x[:3])
    assert np.allclose([float(row[0]) for row in answer], predicted[:3])

    # boto3's own calls on the endpoint the SDK deployed: status, invoke, delete.
    name = predictor.endpoint_name
    described = sm.describe_endpoint(EndpointName=name)
    assert described["EndpointStatus"] == "InService"
    assert described["ProductionVariants"][0]["DeployedImages"][0]["SpecifiedImage"] == image
    runtime = session.sagemaker_runtime_client
    invoked = runtime.invoke_endpoint(
        EndpointName=name,
        Body=",".join(f"{v:.6f}" for v in test_x[0]),
        ContentType="text/csv",
        Accept="text/csv",
    )
    assert float(invoked["Body"].read()) == pytest.approx(predicted[0])
    predictor.delete_endpoint()
    sm.get_waiter("endpoint_deleted").wait(
        EndpointName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    with pytest.raises(ClientError) as caught:
        sm.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
    assert error(caught)[1].startswith("Could not find endpoint configuration")
    for model in sm.list_endpoints()["Endpoints"]:
        assert model["EndpointName"] != name


TRAIN_PY = """
import argparse, os
import joblib
import numpy as np
from sklearn.linear_model import LinearRegression

parser = argparse.ArgumentParser()
parser.add_argument("--fit_intercept", type=str, default="true")
parser.add_argument("--model-dir", default=os.environ["SM_MODEL_DIR"])
args = parser.parse_args()
train = os.environ["SM_CHANNEL_TRAIN"]
rows = np.vstack([np.loadtxt(os.path.join(train, f), delimiter=",") for f in os.listdir(train)])
model = LinearRegression(fit_intercept=args.fit_intercept == "true").fit(rows[:, 1:], rows[:, 0])
print(f"train_r2={model.score(rows[:, 1:], rows[:, 0]):.4f}")
joblib.dump(model, os.path.join(args.model_dir, "model.joblib"))
"""


def test_a_scikit_learn_script_mode_job(aws: Live, tmp_path: Path) -> None:
    """The framework estimator's script mode: its code as sourcedir.tar.gz on S3, its
    hyperparameters JSON-encoded, ``sagemaker_program`` naming the script."""
    sagemaker = import_sagemaker()
    from sagemaker.sklearn import SKLearn

    session = _session(aws)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text(TRAIN_PY)
    x, y = _rows(200, seed=4)
    train = session.upload_data(str(_csv(tmp_path / "train.csv", y, x)), key_prefix="sk/train")
    estimator = SKLearn(
        entry_point="train.py",
        source_dir=str(tmp_path / "src"),
        framework_version="1.2-1",
        role="arn:aws:iam::111122223333:role/SageMakerRole",
        instance_count=1,
        instance_type="ml.m5.large",
        hyperparameters={"fit_intercept": "false"},
        metric_definitions=[{"Name": "train:r2", "Regex": r"train_r2=([0-9.]+)"}],
        sagemaker_session=session,
    )
    estimator.fit({"train": train}, logs=False)
    job = session.sagemaker_client.describe_training_job(
        TrainingJobName=estimator.latest_training_job.name
    )
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    sent = job["HyperParameters"]  # as CreateTrainingJob sent them, JSON-encoded, as on AWS
    assert sent["fit_intercept"] == '"false"'
    assert sent["sagemaker_program"] == '"train.py"'
    assert sent["sagemaker_submit_directory"] == f'"{estimator.uploaded_code.s3_prefix}"'
    assert sent["sagemaker_container_log_level"] == "20"
    metrics = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert metrics["train:r2"] > 0.99
    assert (
        sagemaker.image_uris.retrieve("sklearn", "us-east-1", "1.2-1")
        in (job["AlgorithmSpecification"]["TrainingImage"])
    )


def _keyed_session(live: Live) -> Any:
    """The SDK's session with its boto session signing with a Dockyard access key, as a
    notebook's default session would: every client the SDK builds from it (SageMaker,
    CloudWatch Logs for ``logs=True``) reaches the server with no session token. Only S3 keeps
    the S3 server's own keys."""
    sagemaker = import_sagemaker()
    from sagemaker.session_settings import SessionSettings

    basic = base64.b64encode(f"ana:{PASSWORD}".encode()).decode()
    made = httpx.post(
        f"{live.server.url}/api/v1/access-keys",
        json={"name": "notebook"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert made.status_code == 201, made.text
    keyed = boto3.Session(
        aws_access_key_id=made.json()["access_key_id"],
        aws_secret_access_key=made.json()["secret_access_key"],
        region_name="us-east-1",
    )
    session = sagemaker.session.Session(
        boto_session=keyed,
        default_bucket=live.bucket,
        sagemaker_config={
            "SchemaVersion": "1.0",
            "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}},
        },
        settings=SessionSettings(encrypt_repacked_artifacts=False),
    )
    s3 = boto(live, token=None)
    session.s3_client = s3.client("s3")
    session.s3_resource = s3.resource("s3")
    return session


def test_fit_streams_the_logs_with_an_access_key_and_attach_rebuilds_the_estimator(
    aws: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sagemaker.sklearn import SKLearn

    session = _keyed_session(aws)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text(TRAIN_PY)
    x, y = _rows(100, seed=6)
    train = session.upload_data(str(_csv(tmp_path / "train.csv", y, x)), key_prefix="key/train")
    estimator = SKLearn(
        entry_point="train.py",
        source_dir=str(tmp_path / "src"),
        framework_version="1.2-1",
        role="arn:aws:iam::111122223333:role/SageMakerRole",
        instance_count=1,
        instance_type="ml.m5.large",
        hyperparameters={"fit_intercept": "false"},
        sagemaker_session=session,
    )
    estimator.fit({"train": train}, logs=True)
    assert "train_r2=" in capsys.readouterr().out  # the script's print, read through Logs

    attached = SKLearn.attach(estimator.latest_training_job.name, sagemaker_session=session)
    assert attached.entry_point == "train.py"
    assert attached.source_dir == estimator.uploaded_code.s3_prefix
    assert attached.hyperparameters()["fit_intercept"] == '"false"'
    assert attached.model_data == estimator.model_data


FAST = {"Delay": 1, "MaxAttempts": 120}
TRAIN_KEY = "boto/train/train.csv"


@pytest.fixture(scope="module")
def trained(live: Live, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A built-in XGBoost job made with boto3 alone (the older ``xgboost:1`` image name of
    another region); its name."""
    folder = tmp_path_factory.mktemp("boto-train")
    x, y = _rows(200, seed=5)
    key = TRAIN_KEY
    live.s3.client().upload_file(str(_csv(folder / "train.csv", y, x)), live.bucket, key)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", live.server.url)
        sm = sagemaker_client(live)
        sm.create_training_job(**_training(live.bucket, key, TrainingJobName="boto-xgb"))
        job = ended(sm, "boto-xgb")
        assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    return "boto-xgb"


def ended(sm: Any, name: str) -> dict[str, Any]:
    """The training job once it ended (boto3's own waiter, polling every second)."""
    with contextlib.suppress(WaiterError):  # a failed job: its description says why
        sm.get_waiter("training_job_completed_or_stopped").wait(
            TrainingJobName=name, WaiterConfig=FAST
        )
    found: dict[str, Any] = sm.describe_training_job(TrainingJobName=name)
    return found


def _variant(name: str, model: str, weight: float = 1.0) -> dict[str, Any]:
    return {
        "VariantName": name,
        "ModelName": model,
        "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large",
        "InitialVariantWeight": weight,
    }


def test_boto3_models_endpoint_configs_and_endpoints(aws: Live, trained: str) -> None:
    sm = sagemaker_client(aws)
    artifacts = sm.describe_training_job(TrainingJobName=trained)["ModelArtifacts"]
    container = {
        "Image": "683313688378.dkr.ecr.eu-west-1.amazonaws.com/xgboost:1",
        "ModelDataUrl": artifacts["S3ModelArtifacts"],
        "Environment": {"SAGEMAKER_MODEL_SERVER_TIMEOUT": "60"},
    }
    role = "arn:aws:iam::111122223333:role/x"
    for model in ("boto-a", "boto-b"):
        sm.create_model(ModelName=model, PrimaryContainer=container, ExecutionRoleArn=role)
    with pytest.raises(ClientError) as caught:
        sm.create_model(ModelName="boto-a", PrimaryContainer=container, ExecutionRoleArn=role)
    assert error(caught)[1].startswith("Cannot create already existing model")
    described = sm.describe_model(ModelName="boto-a")
    assert described["PrimaryContainer"] == {**container, "Mode": "SingleModel"}
    assert described["ExecutionRoleArn"] == role

    sm.create_endpoint_config(
        EndpointConfigName="one", ProductionVariants=[_variant("a", "boto-a")]
    )
    sm.create_endpoint_config(
        EndpointConfigName="two",
        ProductionVariants=[_variant("a", "boto-a", 3), _variant("b", "boto-b", 1)],
    )
    assert [
        v["VariantName"]
        for v in sm.describe_endpoint_config(EndpointConfigName="two")["ProductionVariants"]
    ] == ["a", "b"]
    with pytest.raises(ClientError) as caught:
        sm.create_endpoint_config(
            EndpointConfigName="three", ProductionVariants=[_variant("a", "nope")]
        )
    assert error(caught)[1].startswith('Could not find model "')

    sm.create_endpoint(EndpointName="boto-ep", EndpointConfigName="one")
    sm.get_waiter("endpoint_in_service").wait(EndpointName="boto-ep", WaiterConfig=FAST)
    sm.update_endpoint(EndpointName="boto-ep", EndpointConfigName="two")
    sm.get_waiter("endpoint_in_service").wait(EndpointName="boto-ep", WaiterConfig=FAST)
    found = sm.describe_endpoint(EndpointName="boto-ep")
    assert found["EndpointConfigName"] == "two"
    assert {v["VariantName"]: v["CurrentWeight"] for v in found["ProductionVariants"]} == {
        "a": 3.0,
        "b": 1.0,
    }
    sm.update_endpoint_weights_and_capacities(
        EndpointName="boto-ep",
        DesiredWeightsAndCapacities=[{"VariantName": "b", "DesiredWeight": 0.0}],
    )
    sm.get_waiter("endpoint_in_service").wait(EndpointName="boto-ep", WaiterConfig=FAST)
    weights = {
        v["VariantName"]: v["CurrentWeight"]
        for v in sm.describe_endpoint(EndpointName="boto-ep")["ProductionVariants"]
    }
    assert weights == {"a": 3.0, "b": 0.0}
    runtime = boto(aws).client("sagemaker-runtime", config=NO_RETRIES)
    answer = runtime.invoke_endpoint(
        EndpointName="boto-ep", Body=b"0.1,0.2,0.3,0.4", ContentType="text/csv", TargetVariant="b"
    )
    assert answer["InvokedProductionVariant"] == "b"
    # One prediction, read to its end: an unread streaming body keeps its connection out of
    # the client's pool, where closing the client does not close it (a leaked socket).
    float(answer["Body"].read())
    listed = sm.list_endpoints(NameContains="boto-")["Endpoints"]
    assert [(e["EndpointName"], e["EndpointStatus"]) for e in listed] == [("boto-ep", "InService")]

    sm.delete_endpoint(EndpointName="boto-ep")
    sm.get_waiter("endpoint_deleted").wait(EndpointName="boto-ep", WaiterConfig=FAST)
    for config in ("one", "two"):
        sm.delete_endpoint_config(EndpointConfigName=config)
    for model in ("boto-a", "boto-b"):
        sm.delete_model(ModelName=model)
    with pytest.raises(ClientError) as caught:
        sm.describe_model(ModelName="boto-a")
    assert error(caught)[1].startswith('Could not find model "')


def test_a_shadow_variant_gets_its_weights_share_of_requests_and_answers_none(
    aws: Live, trained: str
) -> None:
    sm = sagemaker_client(aws)
    artifacts = sm.describe_training_job(TrainingJobName=trained)["ModelArtifacts"]
    container = {"Image": "123.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"}
    container["ModelDataUrl"] = artifacts["S3ModelArtifacts"]
    role = "arn:aws:iam::111122223333:role/x"
    for model in ("live-m", "shadow-m"):
        sm.create_model(ModelName=model, PrimaryContainer=container, ExecutionRoleArn=role)
    with pytest.raises(ClientError) as caught:
        sm.create_endpoint_config(
            EndpointConfigName="two-shadows",
            ProductionVariants=[_variant("live", "live-m")],
            ShadowProductionVariants=[_variant("s1", "shadow-m"), _variant("s2", "shadow-m")],
        )
    assert "ShadowProductionVariants" in error(caught)[1]
    sm.create_endpoint_config(
        EndpointConfigName="shadowed",
        ProductionVariants=[_variant("live", "live-m", 2)],
        ShadowProductionVariants=[_variant("shadow", "shadow-m", 1)],
    )
    sm.create_endpoint(EndpointName="shadow-ep", EndpointConfigName="shadowed")
    sm.get_waiter("endpoint_in_service").wait(EndpointName="shadow-ep", WaiterConfig=FAST)
    found = sm.describe_endpoint(EndpointName="shadow-ep")
    assert [v["VariantName"] for v in found["ShadowProductionVariants"]] == ["shadow"]
    # Dockyard's own view: the shadow mirrors half the requests (weight 1 beside 2).
    native = httpx.get(
        f"{aws.server.url}/api/v1/endpoints/shadow-ep",
        headers={"Authorization": f"Bearer {aws.token}"},
    ).json()
    assert native["config"]["shadow"]["sampling_pct"] == pytest.approx(50.0)
    runtime = boto(aws).client("sagemaker-runtime", config=NO_RETRIES)
    for _ in range(4):  # the shadow never answers
        answer = runtime.invoke_endpoint(
            EndpointName="shadow-ep", Body=b"0.1,0.2,0.3,0.4", ContentType="text/csv"
        )
        assert answer["InvokedProductionVariant"] == "live"
        float(answer["Body"].read())  # live's prediction, read to free its connection
    sm.delete_endpoint(EndpointName="shadow-ep")
    sm.get_waiter("endpoint_deleted").wait(EndpointName="shadow-ep", WaiterConfig=FAST)
    sm.delete_endpoint_config(EndpointConfigName="shadowed")
    for model in ("live-m", "shadow-m"):
        sm.delete_model(ModelName=model)


def test_a_model_tar_gz_made_elsewhere_scores_in_a_transform_job(aws: Live, tmp_path: Path) -> None:
    """A pickled Booster in ``xgboost-model`` inside ``model.tar.gz``, as SageMaker's XGBoost
    container saves it, becomes a model; boto3's transform calls score with it."""
    import pickle
    import tarfile

    import xgboost

    x, y = _rows(200, seed=6)
    booster = xgboost.train({"max_depth": 3}, xgboost.DMatrix(x, label=y), num_boost_round=20)
    (tmp_path / "xgboost-model").write_bytes(pickle.dumps(booster))
    with tarfile.open(tmp_path / "model.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "xgboost-model", arcname="xgboost-model")
    s3 = aws.s3.client()
    s3.upload_file(str(tmp_path / "model.tar.gz"), aws.bucket, "made/model.tar.gz")
    s3.upload_file(str(_csv(tmp_path / "rows.csv", x[:10])), aws.bucket, "made/in/rows.csv")
    sm = sagemaker_client(aws)
    sm.create_model(
        ModelName="made-elsewhere",
        PrimaryContainer={
            "Image": "246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:1.7-1",
            "ModelDataUrl": f"s3://{aws.bucket}/made/model.tar.gz",
        },
        ExecutionRoleArn="arn:aws:iam::111122223333:role/x",
    )
    sm.create_transform_job(
        TransformJobName="made-scored",
        ModelName="made-elsewhere",
        TransformInput={
            "DataSource": {
                "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{aws.bucket}/made/in"}
            },
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        TransformOutput={"S3OutputPath": f"s3://{aws.bucket}/made/out", "AssembleWith": "Line"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
    )
    sm.get_waiter("transform_job_completed_or_stopped").wait(
        TransformJobName="made-scored", WaiterConfig=FAST
    )
    job = sm.describe_transform_job(TransformJobName="made-scored")
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    assert job["ModelName"] == "made-elsewhere"
    assert job["TransformInput"]["SplitType"] == "Line"
    body = s3.get_object(Bucket=aws.bucket, Key="made/out/rows.csv.out")["Body"].read()
    scored = [float(v) for v in body.decode().split()]
    sent = np.loadtxt(tmp_path / "rows.csv", delimiter=",")  # the rows as written, rounded
    assert np.allclose(scored, booster.predict(xgboost.DMatrix(sent)), atol=1e-5)
    listed = sm.list_transform_jobs(NameContains="made")["TransformJobSummaries"]
    assert [(j["TransformJobName"], j["TransformJobStatus"]) for j in listed] == [
        ("made-scored", "Completed")
    ]


def test_a_model_tar_gz_that_unpacks_outside_is_refused(aws: Live, tmp_path: Path) -> None:
    import io
    import tarfile

    with tarfile.open(tmp_path / "model.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("../../outside")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    aws.s3.client().upload_file(str(tmp_path / "model.tar.gz"), aws.bucket, "bad/model.tar.gz")
    sm = sagemaker_client(aws)
    with pytest.raises(ClientError) as caught:
        sm.create_model(
            ModelName="bad-archive",
            PrimaryContainer={"Image": "x", "ModelDataUrl": f"s3://{aws.bucket}/bad/model.tar.gz"},
            ExecutionRoleArn="arn:aws:iam::111122223333:role/x",
        )
    code, text = error(caught)
    assert code == "ValidationException" and text.startswith("PrimaryContainer.ModelDataUrl")
    assert "does not unpack safely" in text
    with pytest.raises(ClientError):
        sm.describe_model(ModelName="bad-archive")  # nothing half made is left


def test_list_and_stop_training_jobs(aws: Live, trained: str) -> None:
    sm = sagemaker_client(aws)
    hps = {**{k: str(v) for k, v in HPS.items()}, "num_round": "100000"}
    sm.create_training_job(
        **_training(aws.bucket, TRAIN_KEY, TrainingJobName="boto-long", HyperParameters=hps)
    )
    # Stopped while training (a stop before the runner is up ends the job Failed: a known
    # race of the job service, not of this adapter).
    deadline = time.monotonic() + 60
    while (job := sm.describe_training_job(TrainingJobName="boto-long"))[
        "SecondaryStatus"
    ] != "Training":
        assert job["TrainingJobStatus"] == "InProgress", job.get("FailureReason")
        assert time.monotonic() < deadline, "the job did not start training in 60 s"
        time.sleep(0.2)
    sm.stop_training_job(TrainingJobName="boto-long")
    with pytest.raises(ClientError) as caught:
        sm.create_training_job(**_training(aws.bucket, TRAIN_KEY, TrainingJobName="boto-long"))
    assert error(caught)[0] == "ResourceInUse"
    stopped = ended(sm, "boto-long")
    assert stopped["TrainingJobStatus"] == "Stopped", stopped.get("FailureReason")
    listed = sm.list_training_jobs(NameContains="boto-")["TrainingJobSummaries"]
    assert [j["TrainingJobName"] for j in listed] == ["boto-long", trained]
    done = sm.list_training_jobs(StatusEquals="Completed", NameContains="boto")
    assert [j["TrainingJobName"] for j in done["TrainingJobSummaries"]] == [trained]
    # A job's last change is its end, in the listing as in DescribeTrainingJob; filtering on
    # it finds a job that ended after a time even if it was created before.
    (summary,) = done["TrainingJobSummaries"]
    described = sm.describe_training_job(TrainingJobName=trained)
    assert summary["LastModifiedTime"] == described["LastModifiedTime"]
    assert summary["LastModifiedTime"] >= summary["TrainingEndTime"] > summary["CreationTime"]
    changed = sm.list_training_jobs(
        NameContains="boto", StatusEquals="Completed", LastModifiedTimeAfter=summary["CreationTime"]
    )
    assert [j["TrainingJobName"] for j in changed["TrainingJobSummaries"]] == [trained]
    first = sm.list_training_jobs(NameContains="boto-", MaxResults=1)
    assert len(first["TrainingJobSummaries"]) == 1
    rest = sm.list_training_jobs(NameContains="boto-", MaxResults=1, NextToken=first["NextToken"])
    assert [j["TrainingJobName"] for j in rest["TrainingJobSummaries"]] == [trained]
    assert "NextToken" not in rest


def test_unknown_resources_are_validation_errors_the_sdk_reads(aws: Live) -> None:
    sm = sagemaker_client(aws)
    calls = [
        (sm.describe_training_job, {"TrainingJobName": "nope"}, "Requested resource not found"),
        (sm.describe_transform_job, {"TransformJobName": "nope"}, "Could not find"),
        (sm.describe_model, {"ModelName": "nope"}, 'Could not find model "arn:aws:sagemaker:'),
        (sm.describe_endpoint, {"EndpointName": "nope"}, "Could not find endpoint"),
        (sm.delete_endpoint, {"EndpointName": "nope"}, "Could not find endpoint"),
        (
            sm.describe_endpoint_config,
            {"EndpointConfigName": "nope"},
            "Could not find endpoint configuration",
        ),
    ]
    for call, args, message in calls:
        with pytest.raises(ClientError) as caught:
            call(**args)
        code, text = error(caught)
        assert code == "ValidationException" and text.startswith(message), (call, text)


def _training(bucket: str, channel: str = "y", **changes: Any) -> dict[str, Any]:
    request = {
        "TrainingJobName": "bad-request",
        "AlgorithmSpecification": {
            "TrainingImage": "683313688378.dkr.ecr.eu-west-1.amazonaws.com/xgboost:1",
            "TrainingInputMode": "File",
        },
        "RoleArn": "arn:aws:iam::111122223333:role/x",
        "HyperParameters": {k: str(v) for k, v in HPS.items()},
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/{channel}"}
                },
            }
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/out"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }
    request.update(changes)
    return request


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        (
            {"HyperParameters": {**{k: str(v) for k, v in HPS.items()}, "eta": "2"}},
            "HyperParameters.eta",
        ),
        (
            {"AlgorithmSpecification": {"TrainingImage": "my/own:1", "TrainingInputMode": "File"}},
            "AlgorithmSpecification.TrainingImage",
        ),
        (
            {
                "ResourceConfig": {
                    "InstanceType": "ml.m5.large",
                    "InstanceCount": 2,
                    "VolumeSizeInGB": 5,
                }
            },
            "ResourceConfig.InstanceCount",
        ),
        ({"TrainingJobName": "not_a_job_name"}, "TrainingJobName"),
    ],
    ids=["hyperparameter", "image", "instance-count", "name"],
)
def test_bad_training_requests_name_the_field(
    aws: Live, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(ClientError) as caught:
        sagemaker_client(aws).create_training_job(**_training(aws.bucket, **changes))
    code, text = error(caught)
    assert code == "ValidationException" and text.startswith(field), text


@pytest.mark.parametrize(
    ("target", "body", "field"),
    [
        ("SageMaker.CreateTrainingJob", {"TrainingJobName": 5}, "TrainingJobName"),
        ("SageMaker.DescribeEndpoint", {}, "EndpointName"),
        (
            "SageMaker.CreateEndpointConfig",
            {"EndpointConfigName": "c", "ProductionVariants": [1]},
            "ProductionVariants[0]",
        ),
        (
            "SageMaker.CreateModel",
            {"ModelName": "m", "PrimaryContainer": {"Image": "x"}},
            "PrimaryContainer.ModelDataUrl",
        ),
        ("SageMaker.ListTrainingJobs", {"MaxResults": 1000}, "MaxResults"),
    ],
    ids=["type", "missing", "variant", "no-model-data", "page-size"],
)
def test_malformed_requests_are_aws_errors_naming_the_field(
    live: Live, target: str, body: dict[str, Any], field: str
) -> None:
    """What botocore's own checks would stop, sent as raw JSON: never a 500."""
    answer = httpx.post(
        live.server.url + "/",
        json=body,
        headers={
            "X-Amz-Target": target,
            "Content-Type": "application/x-amz-json-1.1",
            "Authorization": f"Bearer {live.token}",
        },
    )
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/x-amz-json-1.1"
    found = answer.json()
    assert found["__type"] == "ValidationException" and field in found["message"], found


def test_without_a_dockyard_session_token_the_call_is_refused(aws: Live) -> None:
    with pytest.raises(ClientError) as caught:
        sagemaker_client(aws, token=None).list_endpoints()
    assert error(caught)[0] == "UnrecognizedClientException"


def _member(live: Live, name: str) -> str:
    """A member account made by the admin; its token."""
    with httpx.Client(base_url=live.server.url) as http:
        http.post(
            "/api/v1/users",
            json={"name": name, "password": PASSWORD},
            headers={"Authorization": f"Bearer {live.token}"},
        ).raise_for_status()
        basic = base64.b64encode(f"{name}:{PASSWORD}".encode()).decode()
        answer = http.post(
            "/api/v1/tokens", json={"name": "t"}, headers={"Authorization": f"Basic {basic}"}
        )
        answer.raise_for_status()
        return str(answer.json()["token"])


def test_two_members_each_fit_an_estimator_naming_no_experiment(aws: Live, tmp_path: Path) -> None:
    """A SageMaker job names no experiment: each member's goes to the shared ``training-jobs``
    (the second was refused when the first member's job made it theirs)."""
    sagemaker = import_sagemaker()
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput

    image = sagemaker.image_uris.retrieve("xgboost", "us-west-2", "1.7-1")
    x, y = _rows(100, seed=7)
    experiments = set()
    for who in ("dana", "eve"):
        member = replace(aws, token=_member(aws, who))
        session = _session(member)
        train = session.upload_data(
            str(_csv(tmp_path / f"{who}.csv", y, x)), key_prefix=f"{who}/train"
        )
        estimator = Estimator(
            image,
            "arn:aws:iam::111122223333:role/SageMakerRole",
            instance_count=1,
            instance_type="ml.m5.large",
            output_path=f"s3://{aws.bucket}/{who}/output",
            sagemaker_session=session,
        )
        estimator.set_hyperparameters(objective="reg:squarederror", num_round=5)
        estimator.fit({"train": TrainingInput(train, content_type="text/csv")}, logs=False)
        name = estimator.latest_training_job.name
        job = session.sagemaker_client.describe_training_job(TrainingJobName=name)
        assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
        with httpx.Client(
            base_url=aws.server.url, headers={"Authorization": f"Bearer {member.token}"}
        ) as http:
            found = http.get(f"/api/v1/jobs/{name}").json()
            run = http.get(f"/api/v1/runs/{found['run_id']}").json()
        assert run["info"]["user_id"] == who
        experiments.add(found["experiment_id"])
    assert len(experiments) == 1
