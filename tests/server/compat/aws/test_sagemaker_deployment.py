"""UpdateEndpoint's DeploymentConfig: SageMaker's blue/green traffic routing as Dockyard's rollout
policy (the mapping, then boto3 against a live server: a canary that passes, and one that is
rolled back)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from tests.server.compat.aws.test_sagemaker import FAST, Live, error, live, sagemaker_client
from tests.server.compat.aws.test_sagemaker_monitoring import aws, capturing_endpoint

from dockyard.api.endpoints import Rollout
from dockyard.errors import InvalidArgument
from dockyard.server.compat.aws._sagemaker_deployment import rollout, shown

__all__ = ["aws", "live"]  # the module's own server (the fixtures are module-scoped)


def _routing(kind: str, wait: int = 30, **size: Any) -> dict[str, Any]:
    return {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {"Type": kind, "WaitIntervalInSeconds": wait, **size}
        }
    }


@pytest.mark.parametrize(
    ("deployment", "workers", "plan"),
    [
        (_routing("ALL_AT_ONCE", 30), 1, "all-at-once: 100% for 30 s"),
        (
            _routing("CANARY", 60, CanarySize={"Type": "CAPACITY_PERCENT", "Value": 10}),
            1,
            "canary: 10% for 60 s, then 100%",
        ),
        (
            _routing("CANARY", 5, CanarySize={"Type": "INSTANCE_COUNT", "Value": 1}),
            4,
            "canary: 25% for 5 s, then 100%",
        ),
        (
            _routing("LINEAR", 10, LinearStepSize={"Type": "CAPACITY_PERCENT", "Value": 25}),
            1,
            "linear: 25% for 10 s, then 50% for 10 s, then 75% for 10 s, then 100%",
        ),
        (
            _routing("LINEAR", 10, LinearStepSize={"Type": "INSTANCE_COUNT", "Value": 1}),
            2,
            "linear: 50% for 10 s, then 100%",
        ),
    ],
)
def test_traffic_routing_becomes_a_rollout_plan(deployment: Any, workers: int, plan: str) -> None:
    assert Rollout.model_validate(rollout(deployment, workers)).describe() == plan


def _rolling(kind: str, value: int, wait: int = 10) -> dict[str, Any]:
    size = {"Type": kind, "Value": value}
    return {"RollingUpdatePolicy": {"MaximumBatchSize": size, "WaitIntervalInSeconds": wait}}


@pytest.mark.parametrize(
    ("deployment", "workers", "plan"),
    [
        (_rolling("INSTANCE_COUNT", 1), 2, "linear: 50% for 10 s, then 100% for 10 s"),
        (
            _rolling("CAPACITY_PERCENT", 25, 5),
            1,
            "linear: 25% for 5 s, then 50% for 5 s, then 75% for 5 s, then 100% for 5 s",
        ),
        (_rolling("INSTANCE_COUNT", 4), 2, "all-at-once: 100% for 10 s"),
    ],
)
def test_a_rolling_update_moves_traffic_a_batch_at_a_time(
    deployment: Any, workers: int, plan: str
) -> None:
    """A RollingUpdatePolicy was refused; each batch now takes its share of traffic and is
    baked WaitIntervalInSeconds, the last one too."""
    assert Rollout.model_validate(rollout(deployment, workers)).describe() == plan


def test_last_deployment_config_keeps_sagemakers_fields_only() -> None:
    given = {
        **_rolling("INSTANCE_COUNT", 1),
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "a", "Extra": 1}]},
        "Unknown": {"x": 1},
    }
    assert shown(given) == {
        **_rolling("INSTANCE_COUNT", 1),
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "a"}]},
    }


def test_alarms_ask_for_evidence_before_a_step_passes() -> None:
    quiet = rollout(_routing("ALL_AT_ONCE"), 1)
    alarmed = rollout(
        {**_routing("ALL_AT_ONCE"), "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "a"}]}},
        1,
    )
    assert (quiet["thresholds"]["min_requests"], alarmed["thresholds"]["min_requests"]) == (0, 10)


@pytest.mark.parametrize(
    ("deployment", "field"),
    [
        (
            {"RollingUpdatePolicy": {"MaximumBatchSize": {}, "WaitIntervalInSeconds": 1}},
            "RollingUpdatePolicy.MaximumBatchSize",
        ),
        (
            {"RollingUpdatePolicy": {"MaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 1}}},
            "RollingUpdatePolicy.WaitIntervalInSeconds",
        ),
        (
            {**_routing("ALL_AT_ONCE"), **_rolling("INSTANCE_COUNT", 1)},
            "DeploymentConfig.RollingUpdatePolicy",
        ),
        (_routing("SLOW"), "TrafficRoutingConfiguration.Type"),
        (_routing("CANARY"), "TrafficRoutingConfiguration.CanarySize"),
        (
            _routing("CANARY", CanarySize={"Type": "CAPACITY_PERCENT", "Value": 100}),
            "TrafficRoutingConfiguration.CanarySize",
        ),
        (
            _routing("LINEAR", LinearStepSize={"Type": "PERCENT", "Value": 10}),
            "TrafficRoutingConfiguration.LinearStepSize",
        ),
        (_routing("ALL_AT_ONCE", wait=-1), "WaitIntervalInSeconds"),
    ],
)
def test_bad_deployment_configs_name_the_field(deployment: Any, field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        rollout(deployment, 1)
    assert field in (caught.value.field or "")


def _config(sm: Any, name: str, variant: str, model: str) -> None:
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": variant,
                "ModelName": model,
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
    )


@pytest.mark.slow
@pytest.mark.s3
def test_a_canary_update_then_one_rolled_back(aws: Live, tmp_path: Path) -> None:
    capturing_endpoint(aws, tmp_path, "bg")
    sm = sagemaker_client(aws)
    _config(sm, "bg-green", "green", "bg")
    canary = _routing("CANARY", 1, CanarySize={"Type": "CAPACITY_PERCENT", "Value": 50})
    sm.update_endpoint(EndpointName="bg", EndpointConfigName="bg-green", DeploymentConfig=canary)
    updating = sm.describe_endpoint(EndpointName="bg")
    assert updating["EndpointStatus"] == "Updating"
    assert updating["EndpointConfigName"] == "bg"
    assert updating["PendingDeploymentSummary"]["EndpointConfigName"] == "bg-green"
    sm.get_waiter("endpoint_in_service").wait(EndpointName="bg", WaiterConfig=FAST)
    done = sm.describe_endpoint(EndpointName="bg")
    assert done["EndpointConfigName"] == "bg-green"
    assert [v["VariantName"] for v in done["ProductionVariants"]] == ["green"]
    assert "PendingDeploymentSummary" not in done

    # With an alarm, a step needs traffic as evidence: an idle canary is rolled back.
    alarmed = {**canary, "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "errors"}]}}
    sm.update_endpoint(EndpointName="bg", EndpointConfigName="bg", DeploymentConfig=alarmed)
    sm.get_waiter("endpoint_in_service").wait(EndpointName="bg", WaiterConfig=FAST)
    back = sm.describe_endpoint(EndpointName="bg")
    assert back["EndpointConfigName"] == "bg-green"
    assert back["FailureReason"].startswith("update rolled back")
    assert [v["VariantName"] for v in back["ProductionVariants"]] == ["green"]

    with pytest.raises(ClientError) as caught:
        sm.update_endpoint(
            EndpointName="bg",
            EndpointConfigName="bg",
            DeploymentConfig={**canary, **_rolling("INSTANCE_COUNT", 1, 1)},
        )
    assert error(caught)[0] == "ValidationException"
    assert "DeploymentConfig.RollingUpdatePolicy" in error(caught)[1]
    sm.delete_endpoint(EndpointName="bg")
