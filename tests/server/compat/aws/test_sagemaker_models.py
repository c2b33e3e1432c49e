"""CreateModel holds a new model's name to SageMaker's rule, before anything is made;
DeleteModel of a model an endpoint serves says so in SageMaker's words."""

from __future__ import annotations

import asyncio
import tarfile
from pathlib import Path

import anyio
import httpx
import numpy as np
import orjson
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from dockyard.api.endpoints import EndpointConfig
from dockyard.api.registry import CreateModelVersion, CreateRegisteredModel
from dockyard.errors import DockyardError, InvalidArgument, NotFound
from dockyard.models import save_model
from dockyard.server._app import create_app
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.compat.aws import _sagemaker_models
from dockyard.server.compat.aws._errors import AwsError
from dockyard.server.compat.aws._sagemaker import ACTIONS
from dockyard.server.compat.aws._sagemaker_models import create_model
from dockyard.settings import Settings

ACTOR = Actor.system()


@pytest.mark.parametrize("name", ["bad_name", "m" * 64, "-lead", "trail-", "a.b"])
def test_a_model_name_breaking_sagemakers_rule_is_refused(services: Services, name: str) -> None:
    body = {
        "ModelName": name,
        "PrimaryContainer": {"Image": "xgboost:1", "ModelDataUrl": "models:/elsewhere/1"},
        "ExecutionRoleArn": "arn:aws:iam::111122223333:role/x",
    }
    with pytest.raises(InvalidArgument) as refused:
        create_model(services, Actor.system(), body)
    assert refused.value.field == "ModelName"
    assert refused.value.message.startswith(f"ModelName: {name!r} must be 1 to 63 letters")
    with pytest.raises(NotFound):
        services.registry.get_registered_model(Actor.system(), name)


def test_deleting_a_served_model_is_resource_in_use_naming_the_model(
    services: Services, settings: Settings
) -> None:
    root = settings.home / "artifacts"
    frame = pd.DataFrame(np.random.default_rng(0).normal(size=(20, 2)), columns=["a", "b"])
    save_model(LinearRegression().fit(frame, frame["a"]), root / "m", input_example=frame)
    services.registry.create_registered_model(ACTOR, CreateRegisteredModel(name="served"))
    services.registry.create_model_version(
        ACTOR, "served", CreateModelVersion(source=str(root / "m"))
    )
    services.endpoints.create(
        ACTOR,
        EndpointConfig.model_validate(
            {"name": "serving", "variants": [{"name": "v", "model_uri": "models:/served/1"}]}
        ),
    )
    with pytest.raises(AwsError) as refused:
        ACTIONS["DeleteModel"](services, ACTOR, {"ModelName": "served"})
    assert refused.value.kind == "ResourceInUse"
    assert refused.value.message.startswith("Cannot delete model served: model 'served' is")
    assert "endpoint serving" in refused.value.message


@pytest.mark.parametrize("where", ["missing", "outside"])
def test_a_model_tar_gz_that_cannot_be_read_is_named_by_model_data_url(
    services: Services, settings: Settings, tmp_path: Path, where: str
) -> None:
    archive = (
        settings.home / "artifacts" / "none" / "model.tar.gz"
        if where == "missing"
        else tmp_path / "elsewhere" / "model.tar.gz"
    )
    body = {
        "ModelName": "unpackable",
        "PrimaryContainer": {"Image": "xgboost:1", "ModelDataUrl": str(archive)},
    }
    with pytest.raises(DockyardError) as refused:
        ACTIONS["CreateModel"](services, ACTOR, body)
    assert refused.value.message.startswith("PrimaryContainer.ModelDataUrl: ")
    assert "inputs.model" not in refused.value.message
    with pytest.raises(NotFound):
        services.registry.get_registered_model(ACTOR, "unpackable")


def test_creates_waiting_for_their_unpacking_leave_threads_for_other_requests(
    services: Services, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CreateModel of a model.tar.gz waits (minutes) for the job that unpacks it: a few such
    calls, their jobs queued behind others, must not hold every thread that the server's other
    requests (any caller's) need."""
    monkeypatch.setattr(_sagemaker_models, "UNPACK_WAIT_S", 30.0)  # bounds a failure's wait
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "xgboost-model").write_bytes(b"not read: the job never starts")
    archive = settings.home / "artifacts" / "data" / "model.tar.gz"
    archive.parent.mkdir(parents=True)
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "model", arcname=".")
    app = create_app(services=services)
    shared_threads = 2

    def unpacking() -> list[str]:
        return [j.name for j in services.jobs.list(ACTOR, status=["Pending"])]

    async def main() -> tuple[int, list[httpx.Response]]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = shared_threads
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            creates = [
                asyncio.ensure_future(
                    client.post(
                        "/",
                        content=orjson.dumps(
                            {
                                "ModelName": f"packed-{i}",
                                "PrimaryContainer": {"Image": "x", "ModelDataUrl": str(archive)},
                            }
                        ),
                        headers={
                            "X-Amz-Target": "SageMaker.CreateModel",
                            "Content-Type": "application/x-amz-json-1.1",
                        },
                    )
                )
                for i in range(shared_threads)
            ]
            while len(unpacking()) < shared_threads:  # every create is waiting for its job
                done = [c.result() for c in creates if c.done()]
                assert not done, [(a.status_code, a.text) for a in done]
                await asyncio.sleep(0.01)
            try:
                other = await asyncio.wait_for(client.get("/api/v1/experiments"), 10)
            except TimeoutError:
                other = None
            for job in unpacking():  # stopped, the jobs wake the creates
                services.jobs.stop(ACTOR, job)
            answers = await asyncio.gather(*creates)
        return (other.status_code if other is not None else 0), answers

    status, answers = asyncio.run(main())
    assert status == 200, "another request waited for the creates' threads"
    for answer in answers:
        assert answer.status_code == 400
        assert "did not become a model package" in answer.json()["message"]


def test_a_create_model_the_server_stopped_under_is_finished_when_asked_again(
    services: Services, settings: Settings
) -> None:
    """A restart while a CreateModel unpacked its model.tar.gz left the model without a
    version, and every CreateModel after (a pipeline's createModel task, resumed) was refused
    as existing. Asked again with the same definition, it is finished instead."""
    root = settings.home / "artifacts"
    frame = pd.DataFrame(np.random.default_rng(0).normal(size=(20, 2)), columns=["a", "b"])
    save_model(LinearRegression().fit(frame, frame["a"]), root / "m", input_example=frame)
    body = {
        "ModelName": "resumed",
        "PrimaryContainer": {"Image": "xgboost:1", "ModelDataUrl": str(root / "m")},
        "ExecutionRoleArn": "arn:aws:iam::111122223333:role/x",
    }
    left = {
        _sagemaker_models.IMAGE_TAG: "xgboost:1",
        _sagemaker_models.ROLE_TAG: body["ExecutionRoleArn"],
        _sagemaker_models.DATA_TAG: str(root / "m"),
    }
    services.registry.create_registered_model(
        ACTOR,
        CreateRegisteredModel.model_validate(
            {"name": "resumed", "tags": [{"key": k, "value": v} for k, v in left.items()]}
        ),
    )
    other = {**body, "PrimaryContainer": {**body["PrimaryContainer"], "Image": "sklearn:1"}}
    with pytest.raises(AwsError, match="already existing model"):
        ACTIONS["CreateModel"](services, ACTOR, other)  # another definition: refused
    answer = ACTIONS["CreateModel"](services, ACTOR, body)
    assert answer["ModelArn"].endswith(":model/resumed")
    assert services.registry.get_registered_model(ACTOR, "resumed").latest_version == 1
    with pytest.raises(AwsError, match="already existing model"):
        ACTIONS["CreateModel"](services, ACTOR, body)  # once whole, as SageMaker says
