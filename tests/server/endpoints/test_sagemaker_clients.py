"""SageMaker's own clients against a Dockyard server, unchanged: a script-mode job with inference
handlers, deployed with ``Estimator.deploy()``, called with boto3's ``sagemaker-runtime`` client
and the SageMaker SDK's predictors through the server's port and the endpoint's own, and scored
by a transform job through the same handlers.

The server has accounts, so every call carries a token: boto3 signs with SigV4 and carries the
Dockyard token as its session token (``aws_session_token`` / ``AWS_SESSION_TOKEN``).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import numpy as np
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from sklearn.datasets import load_iris
from tests.runtime.serving.test_aws import (
    import_sagemaker,
    import_sagemaker_sklearn,
    sagemaker_session,
)
from tests.services.server_process import ServerProcess

import dockyard as dy
from dockyard.client.sdk import reset_context
from dockyard.settings import Settings

pytestmark = pytest.mark.slow

SCRIPTS = Path(__file__).resolve().parents[2] / "runtime" / "serving" / "scripts"
IRIS = load_iris()
PASSWORD = "correct horse battery"
NO_RETRIES = Config(retries={"max_attempts": 1, "mode": "standard"})
FLOWERS = [0, 60, 120]  # one of each species


@dataclass
class Deployed:
    server: ServerProcess
    token: str
    iris_url: str  # the endpoint's own URL
    iris_uri: str  # the trained model


def runtime(url: str, token: str | None) -> Any:
    return boto3.client(
        "sagemaker-runtime",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="dockyard",
        aws_secret_access_key="not-checked",
        aws_session_token=token,
        config=NO_RETRIES,
    )


def _labelled_iris(folder: Path) -> Path:
    folder.mkdir(parents=True)
    rows = np.column_stack([IRIS.target, IRIS.data])  # SageMaker's layout: the label first
    np.savetxt(folder / "iris.csv", rows, delimiter=",", fmt="%g")
    return folder


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    base = tmp_path_factory.mktemp("sagemaker-clients")
    server = ServerProcess(
        base / "home", env={"DOCKYARD_DATA_ROOTS": str(tmp_path_factory.getbasetemp())}
    )
    server.start()
    http = httpx.Client(base_url=server.url)
    made = http.post("/api/v1/users", json={"name": "ana", "role": "admin", "password": PASSWORD})
    assert made.status_code == 201, made.text  # the first account: sign-in is now required
    basic = base64.b64encode(f"ana:{PASSWORD}".encode()).decode()
    answer = http.post(
        "/api/v1/tokens", json={"name": "t"}, headers={"Authorization": f"Basic {basic}"}
    )
    token = answer.json()["token"]
    reset_context(Settings(home=base / "client", uri=server.url, token=token))
    try:
        estimator = dy.Estimator(
            entry_point="iris_tree.py",
            source_dir=SCRIPTS / "iris",
            hyperparameters={"max-depth": 3},
        )
        estimator.fit({"train": str(_labelled_iris(base / "train"))}, logs=False)
        endpoint = estimator.deploy(endpoint_name="iris")  # serves through its model_fn
        custom = dy.Estimator(entry_point="train.py", source_dir=SCRIPTS / "measurements")
        custom.fit({"train": str(base / "train")}, logs=False)
        custom.deploy(endpoint_name="species")
        assert estimator.model_uri is not None
        yield Deployed(server, token, endpoint.url, estimator.model_uri)
    finally:
        reset_context(Settings(home=base / "client"))
        http.close()
        server.stop()


@pytest.mark.parametrize("where", ["server", "endpoint"])
def test_boto3_invoke_endpoint_through_the_handlers(deployed: Deployed, where: str) -> None:
    url = deployed.server.url if where == "server" else deployed.iris_url
    client = runtime(url, deployed.token)
    rows = IRIS.data[FLOWERS]
    as_json = client.invoke_endpoint(
        EndpointName="iris", Body=json.dumps(rows.tolist()), ContentType="application/json"
    )
    assert as_json["InvokedProductionVariant"] == "primary"
    assert as_json["ContentType"] == "application/json"
    assert json.loads(as_json["Body"].read()) == IRIS.target[FLOWERS].tolist()
    for count in (1, 2):  # headerless CSV: every line is a flower
        body = "".join(",".join(f"{v:g}" for v in row) + "\n" for row in rows[:count])
        answer = client.invoke_endpoint(
            EndpointName="iris", Body=body, ContentType="text/csv", Accept="text/csv"
        )
        assert answer["Body"].read().decode().splitlines() == [
            str(v) for v in IRIS.target[FLOWERS][:count]
        ]


def test_custom_content_type_through_the_server(deployed: Deployed) -> None:
    answer = runtime(deployed.server.url, deployed.token).invoke_endpoint(
        EndpointName="species",
        Body=b"5.1 3.5 1.4 0.2\n7.7 3.0 6.1 2.3\n",
        ContentType="application/x-measurements",
        Accept="application/x-species",
    )
    assert answer["Body"].read() == b"setosa\nvirginica\n"
    assert answer["ContentType"] == "application/x-species"
    assert answer["CustomAttributes"] == "classes=3"


def test_sagemaker_sdk_predictors(deployed: Deployed, monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK's scikit-learn predictor (NPY both ways) and a CSV predictor, finding the
    server through ``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`` with the token as session token."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", deployed.server.url)
    session = sagemaker_session(token=deployed.token)
    rows = IRIS.data[FLOWERS]
    sklearn_predictor = import_sagemaker_sklearn().SKLearnPredictor("iris", session)
    assert sklearn_predictor.predict(rows).tolist() == IRIS.target[FLOWERS].tolist()
    sdk = import_sagemaker()
    csv = sdk.predictor.Predictor(
        "iris",
        session,
        serializer=sdk.serializers.CSVSerializer(),
        deserializer=sdk.deserializers.CSVDeserializer(),
    )
    assert csv.predict(rows[:1]) == [["0"]]


def test_sigv4_requests_need_a_dockyard_session_token(deployed: Deployed) -> None:
    body = json.dumps(IRIS.data[:1].tolist())
    for token, wanted in (
        (None, "sign with a Dockyard access key"),
        ("dyt_0123456789ab_" + "x" * 40, "invalid"),
    ):
        client = runtime(deployed.server.url, token)
        with pytest.raises(ClientError) as caught:
            client.invoke_endpoint(EndpointName="iris", Body=body, ContentType="application/json")
        assert caught.value.response["Error"]["Code"] == "UnrecognizedClientException"
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 401
        assert wanted in caught.value.response["Error"]["Message"]
    client = runtime(deployed.server.url, deployed.token)
    with pytest.raises(client.exceptions.ValidationError, match="nope"):
        client.invoke_endpoint(EndpointName="nope", Body=body)


def test_an_invocation_signed_with_an_access_key_is_checked_by_the_server(
    deployed: Deployed,
) -> None:
    made = httpx.post(
        f"{deployed.server.url}/api/v1/access-keys",
        json={"name": "runtime"},
        headers={"Authorization": f"Bearer {deployed.token}"},
    ).json()
    body = json.dumps(IRIS.data[:1].tolist())
    for secret, answers in ((made["secret_access_key"], True), ("x" * 40, False)):
        client = boto3.client(
            "sagemaker-runtime",
            endpoint_url=deployed.server.url,
            region_name="us-east-1",
            aws_access_key_id=made["access_key_id"],
            aws_secret_access_key=secret,
            config=NO_RETRIES,
        )
        if answers:
            answer = client.invoke_endpoint(
                EndpointName="iris", Body=body, ContentType="application/json"
            )
            assert json.loads(answer["Body"].read()) is not None
            continue
        with pytest.raises(ClientError) as caught:
            client.invoke_endpoint(EndpointName="iris", Body=body, ContentType="application/json")
        assert caught.value.response["Error"]["Code"] == "InvalidSignatureException"


def test_endpoint_api_keys_guard_its_own_port_not_the_server(deployed: Deployed) -> None:
    handle = dy.deploy(deployed.iris_uri, name="iris-keys", require_api_key=True)
    key = handle.create_key().key
    body = json.dumps(IRIS.data[:1].tolist())
    own = runtime(handle.url, None)
    with pytest.raises(ClientError) as caught:
        own.invoke_endpoint(EndpointName="iris-keys", Body=body, ContentType="application/json")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 401
    deadline = time.monotonic() + 30
    while True:  # the workers get the new key within a supervisor tick or so
        try:
            answer = runtime(handle.url, key).invoke_endpoint(
                EndpointName="iris-keys", Body=body, ContentType="application/json"
            )
            break
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "UnrecognizedClientException"
            assert time.monotonic() < deadline, "the new key never reached the workers"
            time.sleep(0.1)
    assert json.loads(answer["Body"].read()) == [0]
    through_server = runtime(deployed.server.url, deployed.token).invoke_endpoint(
        EndpointName="iris-keys", Body=body, ContentType="application/json"
    )
    assert json.loads(through_server["Body"].read()) == [0]


def test_batch_transform_through_the_handlers(deployed: Deployed, tmp_path: Path) -> None:
    source = tmp_path / "flowers.csv"
    np.savetxt(source, IRIS.data[::25], delimiter=",", fmt="%g")
    transformer = dy.Transformer(
        deployed.iris_uri, accept="text/csv", output_path=str(tmp_path / "out")
    )
    transformer.transform(str(source), content_type="text/csv", logs=False)
    lines = (tmp_path / "out" / "flowers.csv.out").read_text().splitlines()
    assert [int(v) for v in lines] == IRIS.target[::25].tolist()


def test_a_transform_job_from_boto3_filters_and_joins_around_the_handlers(
    deployed: Deployed, tmp_path: Path
) -> None:
    """CreateTransformJob with SageMaker's DataProcessing for a script-mode model: the label
    column is left out of what the handlers read, and each answer is joined to its record."""
    source = _labelled_iris(tmp_path / "labelled")
    sagemaker = boto3.client(
        "sagemaker",
        endpoint_url=deployed.server.url,
        region_name="us-east-1",
        aws_access_key_id="dockyard",
        aws_secret_access_key="not-checked",
        aws_session_token=deployed.token,
        config=NO_RETRIES,
    )
    image = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
    sagemaker.create_model(
        ModelName="iris-joined",
        PrimaryContainer={"Image": image, "ModelDataUrl": deployed.iris_uri},
        ExecutionRoleArn="arn:aws:iam::111122223333:role/x",
    )
    sagemaker.create_transform_job(
        TransformJobName="iris-joined",
        ModelName="iris-joined",
        TransformInput={
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": str(source)}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        TransformOutput={
            "S3OutputPath": str(tmp_path / "out"),
            "Accept": "text/csv",
            "AssembleWith": "Line",
        },
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
        DataProcessing={"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"},
    )
    sagemaker.get_waiter("transform_job_completed_or_stopped").wait(
        TransformJobName="iris-joined", WaiterConfig={"Delay": 1, "MaxAttempts": 120}
    )
    described = sagemaker.describe_transform_job(TransformJobName="iris-joined")
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    pairs = [
        line.split(",") for line in (tmp_path / "out" / "iris.csv.out").read_text().splitlines()
    ]
    assert [int(label) for label, _ in pairs] == IRIS.target.tolist()
    assert np.mean([label == predicted for label, predicted in pairs]) > 0.9


@pytest.mark.parametrize("where", ["server", "endpoint"])
def test_input_the_model_refuses_is_the_callers_error(deployed: Deployed, where: str) -> None:
    """Rows of the wrong width through the default predict_fn: the model refuses the input,
    a 400 ModelError naming what it said, as every other model answers it."""
    url = deployed.server.url if where == "server" else deployed.iris_url
    client = runtime(url, deployed.token)
    with pytest.raises(ClientError) as refused:
        client.invoke_endpoint(EndpointName="iris", Body="1.0,2.0\n", ContentType="text/csv")
    error = refused.value.response
    assert error["Error"]["Code"] == "ModelError"
    assert error["OriginalStatusCode"] == 400
    assert "predict_fn failed: ValueError" in error["OriginalMessage"]
    assert "features" in error["OriginalMessage"]
