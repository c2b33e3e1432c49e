"""boto3's ``sagemaker-runtime`` client and the SageMaker SDK's ``Predictor``, unchanged, against
an endpoint's own port: ``POST /endpoints/{EndpointName}/invocations``.

The clients are the real ones; only where they send is changed (``endpoint_url``, or
``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`` for the SDK, which builds its own client). They sign
every request with SigV4, so they need some credentials; without API keys the worker does not
look at them.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import orjson
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from sklearn.datasets import load_iris
from tests.models.test_sagemaker_script import SCRIPTS, train
from tests.runtime.serving.conftest import FEATURES, Running, config, rows, running, variant

from dockyard.api.serving import new_api_key
from dockyard.api.serving.config import ApiKey
from dockyard.models.pyfunc import PyFuncModel
from dockyard.runtime.runner._packaging import package_model

NO_RETRIES = Config(retries={"max_attempts": 1, "mode": "standard"})


def runtime(url: str, token: str | None = None) -> Any:
    """boto3's client for SageMaker Runtime, sending to ``url``."""
    return boto3.client(
        "sagemaker-runtime",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="dockyard",
        aws_secret_access_key="not-checked",
        aws_session_token=token,
        config=NO_RETRIES,
    )


@pytest.fixture(scope="module")
def handlers_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("measurements")
    model_dir = train(SCRIPTS / "measurements", "train.py", work)
    code = SCRIPTS / "measurements"
    package_model(model_dir, work / "package", code_dir=code, entry_point="train.py")
    return work / "package"


@pytest.fixture(scope="module")
def iris_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("iris")
    model_dir = train(SCRIPTS / "iris", "iris_tree.py", work)
    code = SCRIPTS / "iris"
    package_model(model_dir, work / "package", code_dir=code, entry_point="iris_tree.py")
    return work / "package"


@pytest.fixture(scope="module")
def worker(
    packages: dict[str, Path], handlers_package: Path, iris_package: Path
) -> Iterator[Running]:
    directory = Path(tempfile.mkdtemp(prefix="dy-"))
    cfg = config(
        directory,
        [
            variant("xgb", packages["xgboost"]),
            variant("labels", packages["labeller"], weight=0),
            variant("species", handlers_package, weight=0),
            variant("iris", iris_package, weight=0),
        ],
    )
    try:
        with running(cfg) as w:
            yield w
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _csv(data: list[list[float]]) -> bytes:
    return "".join(",".join(repr(v) for v in row) + "\n" for row in data).encode()


def test_invoke_endpoint_answers_as_sagemaker_does(worker: Running, xgb: PyFuncModel) -> None:
    data = rows(3)
    answer = runtime(worker.url).invoke_endpoint(
        EndpointName="ep", Body=_csv(data), ContentType="text/csv", Accept="text/csv"
    )
    assert answer["ContentType"] == "text/csv"
    assert answer["InvokedProductionVariant"] == "xgb"
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert answer["ResponseMetadata"]["RequestId"]
    got = [float(v) for v in answer["Body"].read().decode().splitlines()]
    expected = xgb.predict(np.asarray(data)).astype(np.float64).tolist()
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_target_variant_pins_a_variant(worker: Running) -> None:
    body = orjson.dumps({"instances": [{"x": 1.0}]})
    answer = runtime(worker.url).invoke_endpoint(
        EndpointName="ep", Body=body, ContentType="application/json", TargetVariant="labels"
    )
    assert answer["InvokedProductionVariant"] == "labels"
    assert orjson.loads(answer["Body"].read()) == {"predictions": [{"double": 2.0, "label": "pos"}]}


def test_inference_handlers_get_the_body_and_custom_attributes(worker: Running) -> None:
    answer = runtime(worker.url).invoke_endpoint(
        EndpointName="ep",
        Body=b"5.1 3.5 1.4 0.2\n",
        ContentType="application/x-measurements",
        Accept="application/x-species",
        TargetVariant="species",
        CustomAttributes="trace=1",
    )
    assert answer["Body"].read() == b"setosa\n"
    assert answer["ContentType"] == "application/x-species"
    assert answer["CustomAttributes"] == "classes=3"  # set by the script's output_fn


def _error(call: Any) -> ClientError:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value


def test_errors_are_the_exceptions_boto3_models(worker: Running) -> None:
    client = runtime(worker.url)

    def invoke(**kw: Any) -> Any:
        return client.invoke_endpoint(**{"EndpointName": "ep", "Body": b"1,2\n", **kw})

    refused = _error(lambda: invoke(ContentType="text/csv"))  # 2 fields for 4 features
    assert isinstance(refused, client.exceptions.ModelError)
    assert refused.response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert refused.response["OriginalStatusCode"] == 400
    assert "4 columns" in refused.response["Error"]["Message"]
    assert orjson.loads(refused.response["OriginalMessage"])["code"] == "invalid_argument"

    unread = _error(lambda: invoke(ContentType="application/xml"))
    assert unread.response["OriginalStatusCode"] == 415

    unknown = _error(lambda: invoke(ContentType="text/csv", TargetVariant="nope"))
    assert isinstance(unknown, client.exceptions.ValidationError)
    assert "TargetVariant names unknown variant 'nope'" in unknown.response["Error"]["Message"]

    elsewhere = _error(lambda: client.invoke_endpoint(EndpointName="other", Body=b"1"))
    assert isinstance(elsewhere, client.exceptions.ValidationError)
    assert "Endpoint other not found" in elsewhere.response["Error"]["Message"]

    long = _error(lambda: invoke(ContentType="text/csv", CustomAttributes="a" * 1025))
    assert isinstance(long, client.exceptions.ValidationError)  # SageMaker's limit is 1,024
    assert "at most 1024 ASCII characters" in long.response["Error"]["Message"]

    multi = _error(lambda: invoke(ContentType="text/csv", TargetModel="model-2.tar.gz"))
    assert isinstance(multi, client.exceptions.ValidationError)
    assert "TargetModel (multi-model endpoints) is not supported" in str(multi)

    failing = _error(
        lambda: invoke(
            Body=b"[[1, 2, 3, 4]]", ContentType="application/json", TargetVariant="species"
        )
    )
    assert isinstance(failing, client.exceptions.ModelError)
    assert failing.response["OriginalStatusCode"] == 500
    assert "input_fn failed: ValueError" in failing.response["Error"]["Message"]


def test_sagemaker_sdk_predictor(
    worker: Running, xgb: PyFuncModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SDK builds its own runtime client: it finds the endpoint through
    ``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME``, as any botocore client does."""
    sdk = import_sagemaker()
    Predictor = sdk.predictor.Predictor
    CSVSerializer, NumpySerializer = sdk.serializers.CSVSerializer, sdk.serializers.NumpySerializer
    CSVDeserializer = sdk.deserializers.CSVDeserializer
    NumpyDeserializer = sdk.deserializers.NumpyDeserializer

    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", worker.url)
    session = sagemaker_session()
    data = np.asarray(rows(4))
    expected = xgb.predict(data).astype(np.float64)

    csv = Predictor("ep", session, serializer=CSVSerializer(), deserializer=CSVDeserializer())
    got = np.asarray(csv.predict(data), dtype=np.float64).ravel()
    np.testing.assert_allclose(got, expected, rtol=1e-6)

    # The scikit-learn predictor's defaults (NPY both ways) through the default handlers.
    iris = Predictor("ep", session, serializer=NumpySerializer(), deserializer=NumpyDeserializer())
    flowers = load_iris()
    got = iris.predict(flowers.data[[0, 75, 149]], target_variant="iris")
    assert got.tolist() == flowers.target[[0, 75, 149]].tolist()
    sklearn_predictor = import_sagemaker_sklearn().SKLearnPredictor("ep", session)
    assert sklearn_predictor.predict(flowers.data[:2], target_variant="iris").tolist() == [0, 0]


def import_sagemaker() -> Any:
    """The SageMaker Python SDK (v2). Importing it compiles modules with invalid escape
    sequences and announces v3: warnings this suite would turn into errors."""
    import importlib
    import os
    import warnings

    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sdk = importlib.import_module("sagemaker")
        for name in ("predictor", "serializers", "deserializers", "session"):
            importlib.import_module(f"sagemaker.{name}")
    return sdk


def import_sagemaker_sklearn() -> Any:
    import importlib
    import warnings

    import_sagemaker()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return importlib.import_module("sagemaker.sklearn.model")


def sagemaker_session(**clients: Any) -> Any:
    """A SageMaker SDK session that never reaches AWS: static credentials, a default bucket (no
    account lookup), telemetry off."""
    Session = import_sagemaker().session.Session
    boto = boto3.Session(
        aws_access_key_id="dockyard",
        aws_secret_access_key="not-checked",
        aws_session_token=clients.pop("token", None),
        region_name="us-east-1",
    )
    opt_out = {
        "SchemaVersion": "1.0",
        "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}},
    }
    return Session(
        boto_session=boto, default_bucket="dockyard-tests", sagemaker_config=opt_out, **clients
    )


def test_handlers_never_see_the_callers_credentials() -> None:
    from dockyard.runtime.serving._inputs import raw_request

    request = raw_request(
        b"x",
        [
            (b"content-type", b"text/csv"),
            (b"authorization", b"Bearer dyk_secret"),
            (b"x-api-key", b"dyk_secret"),
            (b"x-amz-security-token", b"dyt_secret"),
            (b"x-amzn-sagemaker-custom-attributes", b"a=1"),
        ],
    )
    assert request.headers == {
        "content-type": "text/csv",
        "x-amzn-sagemaker-custom-attributes": "a=1",
    }
    assert request.content_type == "text/csv" and request.accept is None


def test_api_keys_travel_as_the_session_token(packages: dict[str, Path]) -> None:
    directory = Path(tempfile.mkdtemp(prefix="dy-"))
    key_id, key, digest = new_api_key()
    cfg = config(
        directory,
        [variant("xgb", packages["xgboost"])],
        require_api_key=True,
        api_keys=[ApiKey(id=key_id, sha256=digest)],
    )
    body = _csv(rows(1))
    try:
        with running(cfg) as w:
            missing = _error(lambda: runtime(w.url).invoke_endpoint(EndpointName="ep", Body=body))
            assert missing.response["Error"]["Code"] == "UnrecognizedClientException"
            assert "AWS_SESSION_TOKEN" in missing.response["Error"]["Message"]
            wrong = runtime(w.url, token=key[:-2] + "xx")
            refused = _error(lambda: wrong.invoke_endpoint(EndpointName="ep", Body=body))
            assert refused.response["ResponseMetadata"]["HTTPStatusCode"] == 401
            answer = runtime(w.url, token=key).invoke_endpoint(
                EndpointName="ep", Body=body, ContentType="text/csv"
            )
            # No Accept: answered in the request's format, as SageMaker's XGBoost answers.
            assert answer["ContentType"].startswith("text/csv")
            assert len(answer["Body"].read().splitlines()) == 1
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_native_routes_are_unchanged(worker: Running) -> None:
    response = worker.client.post(
        "/invocations", content=_csv(rows(2)), headers={"content-type": "text/csv"}
    )
    assert response.status_code == 200
    assert "x-amzn-invoked-production-variant" not in response.headers
    assert len(response.text.splitlines()) == 2  # CSV rows in, CSV predictions out
    assert FEATURES  # the xgb variant's columns, sent positionally above
