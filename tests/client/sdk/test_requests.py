"""Request bodies are the server's models, checked before anything is sent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
import pytest

import dockyard as dy
from dockyard.api.endpoints import EndpointConfig
from dockyard.client.http import Client, Response, Transport, routes
from dockyard.client.sdk import build_request, transform_request
from dockyard.errors import InvalidArgument


class _Recorder(Transport):
    """Answers ``{}`` to everything and keeps what was sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, Any]] = []

    def send(
        self, method: str, url: str, *, headers: Mapping[str, str], body: Any, timeout: float
    ) -> Response:
        assert body is None or isinstance(body, bytes)
        self.sent.append((method, url, orjson.loads(body) if body else None))
        return Response(200, {}, b"{}")


@pytest.fixture
def recorder() -> _Recorder:
    return _Recorder()


@pytest.fixture
def client(recorder: _Recorder) -> Client:
    return Client("http://dockyard.invalid", transport=recorder, retry_for=0)


def test_a_bad_value_fails_with_the_servers_field_before_it_is_sent(
    client: Client, recorder: _Recorder
) -> None:
    with pytest.raises(InvalidArgument) as long:
        dy.put_parameter("/svc/x", "1", description="d" * 2000, client=client)
    assert long.value.field == "description"
    with pytest.raises(InvalidArgument) as labels:
        dy.label_parameter_version("/svc/x", [], client=client)
    assert labels.value.field == "labels"
    with pytest.raises(InvalidArgument) as key:
        dy.fire_trigger("nightly", key="", client=client)
    assert key.value.field == "key"
    assert recorder.sent == []


def test_an_update_sends_what_it_names_and_a_none_it_names(
    client: Client, recorder: _Recorder
) -> None:
    variants = [{"name": "primary", "model_uri": "s3://bucket/model"}]
    config = build_request(EndpointConfig, {"name": "churn", "variants": variants, "shadow": None})
    client.call(routes.UPDATE_ENDPOINT(name="churn"), config)
    [(method, url, body)] = recorder.sent
    assert (method, url) == ("PUT", "http://dockyard.invalid/api/v1/endpoints/churn")
    # Capture, scaling and rollout keep their current values: their defaults are not sent.
    assert set(body) == {"name", "variants", "shadow"}
    assert body["shadow"] is None


def test_a_transform_without_an_output_is_checked_and_sent_without_one() -> None:
    body = {"model_uri": "s3://bucket/model", "input": {"uri": "s3://bucket/in.csv"}}
    assert transform_request(body) == body
    with pytest.raises(InvalidArgument) as bad:
        transform_request({**body, "output": {"accept": "text/xml"}})
    assert bad.value.field == "output.accept"


def test_a_spec_naming_a_parameter_is_sent_as_written(client: Client, recorder: _Recorder) -> None:
    # The server resolves {{param:...}} before it validates: a reference may stand for a number.
    from dockyard.api.jobs import TrainingJobSpec
    from dockyard.client.sdk import spec_body

    spec = {"entry_point": "train.py", "source_dir": "/s", "resources": {"cpus": "{{param:/cpus}}"}}
    body = spec_body(TrainingJobSpec, spec)
    assert body == spec
    client.call(routes.SUBMIT_TRAINING_JOB(), body)
    assert recorder.sent[-1][2] == spec
    endpoint = spec_body(
        EndpointConfig, {"variants": [{"model_uri": "m", "instance_count": "{{param:/n}}"}]}
    )
    assert isinstance(endpoint, dict)
    transform = {"model_uri": "m", "input": {"uri": "/d"}, "instance_count": "{{param:/n}}"}
    assert transform_request(transform) == transform


def test_a_spec_without_parameters_is_still_checked_here() -> None:
    from dockyard.api.jobs import TrainingJobSpec
    from dockyard.client.sdk import spec_body

    spec = {"entry_point": "train.py", "source_dir": "/s"}
    with pytest.raises(InvalidArgument) as caught:
        spec_body(TrainingJobSpec, {**spec, "resources": {"cpus": "lots"}})
    assert caught.value.field == "resources.cpus"
    assert isinstance(spec_body(TrainingJobSpec, spec), TrainingJobSpec)
