"""CreateModel holds a new model's name to SageMaker's rule, before anything is made;
DeleteModel of a model an endpoint serves says so in SageMaker's words."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from dockyard.api.endpoints import EndpointConfig
from dockyard.api.registry import CreateModelVersion, CreateRegisteredModel
from dockyard.errors import DockyardError, InvalidArgument, NotFound
from dockyard.models import save_model
from dockyard.server._services import Services
from dockyard.server.actor import Actor
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
