"""CreateModel holds a new model's name to SageMaker's rule, before anything is made."""

from __future__ import annotations

import pytest

from dockyard.errors import InvalidArgument, NotFound
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.compat.aws._sagemaker_models import create_model


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
