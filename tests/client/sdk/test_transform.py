"""``dy.Transformer``: errors name the keywords the caller passed, and the job it returns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
import pytest

import dockyard as dy
from dockyard.client.http import Client, Response, Transport
from dockyard.client.sdk import _transform
from dockyard.client.sdk._transform import KEYWORDS, TransformJob
from dockyard.errors import InvalidArgument, JobFailed


class _Accepts(Transport):
    """Answers every submission with a job name, keeping the bodies sent."""

    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(
        self, method: str, url: str, *, headers: Mapping[str, str], body: Any, timeout: float
    ) -> Response:
        self.sent.append(orjson.loads(body) if body else None)
        return Response(200, {}, b'{"name": "transform-1"}')


class _Context:
    def __init__(self, client: Client) -> None:
        self._client = client

    def server(self) -> Client:
        return self._client


@pytest.fixture
def transport(monkeypatch: pytest.MonkeyPatch) -> _Accepts:
    accepts = _Accepts()
    client = Client("http://dockyard.invalid", transport=accepts, retry_for=0)
    monkeypatch.setattr(_transform, "context", lambda: _Context(client))
    return accepts


@pytest.mark.parametrize(
    ("options", "keyword"),
    [
        ({"strategy": "Sometimes"}, "strategy"),
        ({"max_payload": 500}, "max_payload"),
        ({"assemble_with": "Newline"}, "assemble_with"),
        ({"on_error": "ignore"}, "on_error"),
    ],
)
def test_a_bad_argument_is_named_by_its_keyword(
    transport: _Accepts, options: dict[str, Any], keyword: str
) -> None:
    transformer = dy.Transformer("models:/m/1", **options)
    with pytest.raises(InvalidArgument) as refused:
        transformer.transform("s3://bucket/in.csv", wait=False)
    assert refused.value.field == keyword
    assert refused.value.message.startswith(f"{keyword}: ")
    assert transport.sent == []


def test_a_bad_transform_argument_is_named_by_its_keyword(transport: _Accepts) -> None:
    with pytest.raises(InvalidArgument) as refused:
        dy.Transformer("models:/m/1").transform(
            "s3://bucket/in.csv", content_type="text/xml", wait=False
        )
    assert refused.value.field == "content_type"


def test_the_job_returned_is_a_transform_job(transport: _Accepts) -> None:
    job = dy.Transformer("models:/m/1").transform("s3://bucket/in.csv", wait=False)
    assert isinstance(job, TransformJob)
    assert repr(job) == "<TransformJob transform-1>"
    assert "display_uri" not in transport.sent[0]["input"]  # a URI is named as it is


def test_a_failure_reason_names_the_keywords(
    transport: _Accepts, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = TransformJob("transform-1", Client("http://dockyard.invalid"), names=KEYWORDS)

    def failed(*_: Any) -> Any:
        raise JobFailed(
            "job transform-1 failed: input file in.csv is gzip-compressed: "
            "set input.compression: Gzip",
            details={"job": "transform-1"},
        )

    monkeypatch.setattr(job, "_wait", failed)
    with pytest.raises(JobFailed) as caught:
        job.wait(logs=False)
    assert caught.value.message.endswith("set compression_type: Gzip")
    assert caught.value.details == {"job": "transform-1"}


def test_sagemaker_sdk_arguments_are_taken(transport: _Accepts) -> None:
    """``Transformer(model, instance_count, instance_type, ...)`` as the SageMaker SDK's is
    called, with ``max_concurrent_transforms`` and tags as ``[{"Key", "Value"}]``."""
    dy.Transformer(
        "models:/m/1",
        1,
        "ml.m5.xlarge",
        max_concurrent_transforms=3,
        tags=[{"Key": "team", "Value": "fraud"}],
    ).transform("s3://bucket/in.csv", wait=False)
    (sent,) = transport.sent
    assert sent["max_concurrent_transforms"] == 3
    assert sent["tags"] == {"team": "fraud"}
    dy.Transformer("models:/m/1", 2, "ml.m5.large").transform("s3://bucket/in.csv", wait=False)
    assert transport.sent[1]["max_concurrent_transforms"] == 2


def test_a_bad_worker_count_is_named_by_the_keyword_given(transport: _Accepts) -> None:
    with pytest.raises(InvalidArgument) as refused:
        dy.Transformer("models:/m/1", max_concurrent_transforms=-1).transform(
            "s3://bucket/in.csv", wait=False
        )
    assert refused.value.field == "max_concurrent_transforms"
    with pytest.raises(InvalidArgument) as refused:
        dy.Transformer("models:/m/1", instance_count=-1).transform("s3://bucket/in.csv", wait=False)
    assert refused.value.field == "instance_count"


class _Trained(dy.Estimator):
    """An estimator whose training job made ``models:/m/1``."""

    model_uri = "models:/m/1"


def test_an_estimators_transformer_is_called_as_the_sagemaker_sdks(transport: _Accepts) -> None:
    estimator = _Trained.builtin("xgboost", {"num_round": 2})
    transformer = estimator.transformer(2, "ml.m5.large", output_path="s3://bucket/out")
    transformer.transform("s3://bucket/in.csv", wait=False)
    (sent,) = transport.sent
    assert sent["model_uri"] == "models:/m/1"
    assert sent["max_concurrent_transforms"] == 2
    assert sent["output"]["uri"] == "s3://bucket/out"
