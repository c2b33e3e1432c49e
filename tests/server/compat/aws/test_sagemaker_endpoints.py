"""Endpoint configs and endpoints as SageMaker names, describes and lists them: new names
follow SageMaker's rule; DescribeEndpoint and ListEndpoints through boto3's ``sagemaker``
client against a live server with the endpoint supervisor (fixtures of
:mod:`tests.server.endpoints.conftest`) count the workers serving and filter as SageMaker's
listing does."""

from __future__ import annotations

import datetime
import json
import time
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from tests.server.endpoints.conftest import (  # noqa: F401 (fixtures)
    client,
    models,
    server,
    wait_status,
)
from tests.services.server_process import ServerProcess

from dockyard.api.registry import CreateRegisteredModel
from dockyard.client.http import Client
from dockyard.errors import InvalidArgument
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.compat.aws._sagemaker_endpoints import create_endpoint_config


def _sagemaker(server: ServerProcess) -> Any:  # noqa: F811
    return boto3.client(
        "sagemaker",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


@pytest.mark.slow
def test_an_endpoint_in_service_shows_its_workers_and_no_deployment_stage(
    server: ServerProcess,  # noqa: F811
    client: Client,  # noqa: F811
    models: dict[str, str],  # noqa: F811
) -> None:
    client.request(
        "POST",
        "/api/v1/endpoints",
        json={
            "name": "counted",
            "variants": [{"name": "AllTraffic", "model_uri": models["one"]}],
            "scaling": {"min_workers": 2, "max_workers": 2},
        },
    )
    serving = wait_status(client, "counted", "InService")
    assert serving["workers"] == 2
    described = _sagemaker(server).describe_endpoint(EndpointName="counted")
    (variant,) = described["ProductionVariants"]
    assert (variant["CurrentInstanceCount"], variant["DesiredInstanceCount"]) == (2, 2)
    assert "VariantStatus" not in variant


@pytest.mark.slow
def test_list_endpoints_filters_on_times_and_sorts(
    server: ServerProcess,  # noqa: F811
    client: Client,  # noqa: F811
    models: dict[str, str],  # noqa: F811
) -> None:
    sm = _sagemaker(server)
    for name in ("listed-b", "listed-a"):
        client.request(
            "POST",
            "/api/v1/endpoints",
            json={"name": name, "variants": [{"name": "v", "model_uri": models["one"]}]},
        )
    made = {e["EndpointName"]: e["CreationTime"] for e in sm.list_endpoints()["Endpoints"]}
    second = made["listed-a"]

    def names(**body: Any) -> list[str]:
        found = sm.list_endpoints(NameContains="listed-", **body)["Endpoints"]
        return [e["EndpointName"] for e in found]

    assert names() == ["listed-a", "listed-b"]  # newest first
    assert names(SortBy="Name", SortOrder="Ascending") == ["listed-a", "listed-b"]
    assert names(SortBy="CreationTime", SortOrder="Ascending") == ["listed-b", "listed-a"]
    assert names(CreationTimeBefore=second) == ["listed-b"]
    assert names(CreationTimeAfter=second - datetime.timedelta(milliseconds=1)) == ["listed-a"]
    assert names(CreationTimeAfter=datetime.datetime.now(datetime.UTC)) == []
    with pytest.raises(ClientError) as refused:
        sm.list_endpoints(StatusEquals="Running")
    found = refused.value.response["Error"]
    assert found["Code"] == "ValidationException"
    assert found["Message"].startswith("StatusEquals"), found


@pytest.mark.slow
def test_boto3_lists_models_and_endpoint_configs(
    server: ServerProcess,  # noqa: F811
    client: Client,  # noqa: F811
) -> None:
    sm = _sagemaker(server)
    for name in ("listed-model-b", "listed-model-a"):
        client.request("POST", "/api/v1/registered-models", json={"name": name})
    for name in ("listed-config-b", "listed-config-a"):
        variant = {**_variant("v"), "ModelName": "listed-model-a"}
        sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[variant])
    listed = sm.list_models(NameContains="listed-model", SortBy="Name", SortOrder="Ascending")
    assert [m["ModelName"] for m in listed["Models"]] == ["listed-model-a", "listed-model-b"]
    assert listed["Models"][0]["ModelArn"].endswith(":model/listed-model-a")
    pages = sm.get_paginator("list_endpoint_configs").paginate(
        NameContains="listed-config", SortBy="Name", PaginationConfig={"PageSize": 1}
    )
    names = [c["EndpointConfigName"] for page in pages for c in page["EndpointConfigs"]]
    assert names == ["listed-config-b", "listed-config-a"]  # SortOrder: Descending


def _variant(name: str) -> dict[str, Any]:
    return {
        "VariantName": name,
        "ModelName": "served",
        "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large",
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"EndpointConfigName": "bad_name", "ProductionVariants": [_variant("a")]},
            "EndpointConfigName",
        ),
        (
            {"EndpointConfigName": "c" * 64, "ProductionVariants": [_variant("a")]},
            "EndpointConfigName",
        ),
        (
            {"EndpointConfigName": "c", "ProductionVariants": [_variant("all_traffic")]},
            "ProductionVariants[0].VariantName",
        ),
        (
            {"EndpointConfigName": "c", "ProductionVariants": [_variant("a"), _variant("a")]},
            "ProductionVariants[1].VariantName",
        ),
        (
            {
                "EndpointConfigName": "c",
                "ProductionVariants": [_variant("a")],
                "ShadowProductionVariants": [_variant("-shadow")],
            },
            "ShadowProductionVariants[0].VariantName",
        ),
    ],
    ids=["underscore", "too-long", "variant", "twice", "shadow"],
)
def test_names_breaking_sagemakers_rule_are_refused(
    services: Services, body: dict[str, Any], field: str
) -> None:
    services.registry.create_registered_model(Actor.system(), CreateRegisteredModel(name="served"))
    with pytest.raises(InvalidArgument) as refused:
        create_endpoint_config(services, Actor.system(), body)
    assert refused.value.field == field
    assert refused.value.message.startswith(field)


def test_models_and_endpoint_configs_list_as_sagemaker_lists_them(services: Services) -> None:
    from dockyard.server.compat.aws._errors import AwsError
    from dockyard.server.compat.aws._sagemaker import ACTIONS

    system = Actor.system()
    for name in ("served", "other-b", "other-a"):
        services.registry.create_registered_model(system, CreateRegisteredModel(name=name))
    for name in ("cfg-b", "cfg-a", "cfg-c"):
        body = {"EndpointConfigName": name, "ProductionVariants": [_variant("a")]}
        create_endpoint_config(services, system, body)

    def names(action: str, key: str, field: str, **body: Any) -> list[str]:
        return [item[field] for item in ACTIONS[action](services, system, body)[key]]

    def model_names(**body: Any) -> list[str]:
        return names("ListModels", "Models", "ModelName", **body)

    def configs(**body: Any) -> list[str]:
        return names("ListEndpointConfigs", "EndpointConfigs", "EndpointConfigName", **body)

    assert model_names(SortBy="Name", SortOrder="Ascending") == ["other-a", "other-b", "served"]
    assert model_names(NameContains="OTHER", SortBy="Name") == ["other-b", "other-a"]
    assert configs(SortBy="Name", SortOrder="Ascending") == ["cfg-a", "cfg-b", "cfg-c"]
    first = ACTIONS["ListEndpointConfigs"](
        services, system, {"SortBy": "Name", "SortOrder": "Ascending", "MaxResults": 2}
    )
    assert [c["EndpointConfigName"] for c in first["EndpointConfigs"]] == ["cfg-a", "cfg-b"]
    assert first["EndpointConfigs"][0]["EndpointConfigArn"].endswith(":endpoint-config/cfg-a")
    rest = configs(SortBy="Name", SortOrder="Ascending", NextToken=first["NextToken"])
    assert rest == ["cfg-c"]
    assert configs(CreationTimeAfter=4_102_444_800) == []  # after 2100
    for action in ("ListModels", "ListEndpointConfigs"):
        for body, field in (({"SortBy": "Status"}, "SortBy"), ({"MaxResults": 0}, "MaxResults")):
            with pytest.raises(AwsError) as refused:
                ACTIONS[action](services, system, body)
            assert refused.value.kind == "ValidationException"
            assert refused.value.message.startswith(field), refused.value.message


@pytest.mark.slow
def test_update_weights_and_capacities_refusals_read_plainly(
    server: ServerProcess,  # noqa: F811
    client: Client,  # noqa: F811
    models: dict[str, str],  # noqa: F811
) -> None:
    client.request(
        "POST",
        "/api/v1/endpoints",
        json={
            "name": "weighed",
            "variants": [
                {"name": "A", "model_uri": models["one"]},
                {"name": "B", "model_uri": models["ten"]},
            ],
        },
    )
    wait_status(client, "weighed", "InService")
    sm = _sagemaker(server)
    zero = [{"VariantName": "A", "DesiredWeight": 0.0}, {"VariantName": "B", "DesiredWeight": 0.0}]
    with pytest.raises(ClientError) as refused:
        sm.update_endpoint_weights_and_capacities(
            EndpointName="weighed", DesiredWeightsAndCapacities=zero
        )
    # A rule of the whole request once read ": at least one ...", naming an empty field.
    error = refused.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"] == "at least one production variant needs a weight above 0"
    # No instances is not a Dockyard endpoint: refused, where it once became one silently.
    with pytest.raises(ClientError) as refused:
        sm.update_endpoint_weights_and_capacities(
            EndpointName="weighed",
            DesiredWeightsAndCapacities=[{"VariantName": "B", "DesiredInstanceCount": 0}],
        )
    error = refused.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"].startswith("DesiredWeightsAndCapacities[0].DesiredInstanceCount:")
    described = sm.describe_endpoint(EndpointName="weighed")
    assert described["EndpointStatus"] == "InService"
    assert [v["CurrentWeight"] for v in described["ProductionVariants"]] == [1.0, 1.0]


@pytest.mark.parametrize(
    ("operation", "named"),
    [
        ("invoke_endpoint_async", "InvokeEndpointAsync"),
        ("invoke_endpoint_with_response_stream", "InvokeEndpointWithResponseStream"),
    ],
)
def test_runtime_operations_dockyard_lacks_are_named_through_the_server(
    server: ServerProcess,  # noqa: F811
    operation: str,
    named: str,
) -> None:
    # botocore showed the server's bare 404 as "An error occurred (404) ...: " and no message.
    runtime = boto3.client(
        "sagemaker-runtime",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )
    arguments: dict[str, Any] = (
        {"InputLocation": "s3://bucket/in.csv"}
        if operation == "invoke_endpoint_async"
        else {"Body": b"1,2,3", "ContentType": "text/csv"}
    )
    with pytest.raises(ClientError) as refused:
        getattr(runtime, operation)(EndpointName="anything", **arguments)
    error = refused.value.response["Error"]
    assert error["Code"] == "ValidationError"
    assert error["Message"].startswith(f"{named} (")
    assert "is not supported by Dockyard endpoints: use InvokeEndpoint" in error["Message"]


def test_an_update_in_progress_shows_the_requested_weights_and_counts(services: Services) -> None:
    from dockyard.api.endpoints import Endpoint, EndpointConfig, EndpointStatus
    from dockyard.server.compat.aws._sagemaker_endpoints import _variants

    def config(a: float, b: float, workers: int) -> EndpointConfig:
        return EndpointConfig.model_validate(
            {
                "name": "weighed",
                "variants": [
                    {"name": "A", "model_uri": "models:/m/1", "weight": a},
                    {"name": "B", "model_uri": "models:/m/2", "weight": b},
                ],
                "scaling": {"min_workers": workers, "max_workers": workers},
            }
        )

    # UpdateEndpointWeightsAndCapacities asked for 50/50 on two instances; 80/20 on one serves.
    updating = Endpoint(
        name="weighed",
        status=EndpointStatus.IN_SERVICE,
        url="http://127.0.0.1:1",
        config=config(0.8, 0.2, 1),
        pending_config=config(0.5, 0.5, 2),
        workers=1,
        created_time=1,
        updated_time=2,
    )
    shown = _variants(services, Actor.system(), updating)
    assert [
        (
            v["CurrentWeight"],
            v["DesiredWeight"],
            v["CurrentInstanceCount"],
            v["DesiredInstanceCount"],
        )
        for v in shown
    ] == [(0.8, 0.5, 1, 2), (0.2, 0.5, 1, 2)]
    # A new configuration (UpdateEndpoint) serving other models is not these variants' wish.
    other = config(0.5, 0.5, 2).model_copy(
        update={
            "variants": [
                v.model_copy(update={"model_uri": "models:/n/1"})
                for v in config(0.5, 0.5, 2).variants
            ]
        }
    )
    replaced = updating.model_copy(update={"pending_config": other})
    assert [
        (v["DesiredWeight"], v["DesiredInstanceCount"])
        for v in _variants(services, Actor.system(), replaced)
    ] == [(0.8, 1), (0.2, 1)]
    done = updating.model_copy(update={"config": config(0.5, 0.5, 2), "pending_config": None})
    assert [
        (v["CurrentWeight"], v["DesiredWeight"]) for v in _variants(services, Actor.system(), done)
    ] == [
        (0.5, 0.5),
        (0.5, 0.5),
    ]


def test_updating_an_endpoint_in_progress_is_sagemakers_validation_error(
    services: Services, tmp_path: Any
) -> None:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    from dockyard.api.registry import CreateModelVersion
    from dockyard.models import save_model
    from dockyard.server.compat.aws._errors import AwsError
    from dockyard.server.compat.aws._sagemaker import ACTIONS

    system = Actor.system()
    root = services.settings.home / "artifacts"
    frame = pd.DataFrame(np.random.default_rng(0).normal(size=(20, 2)), columns=["a", "b"])
    save_model(LinearRegression().fit(frame, frame["a"]), root / "m", input_example=frame)
    services.registry.create_registered_model(system, CreateRegisteredModel(name="served"))
    services.registry.create_model_version(
        system, "served", CreateModelVersion(source=str(root / "m"))
    )
    create_endpoint_config(
        services,
        system,
        {"EndpointConfigName": "busy-1", "ProductionVariants": [_variant("a")]},
    )
    ACTIONS["CreateEndpoint"](
        services, system, {"EndpointName": "busy", "EndpointConfigName": "busy-1"}
    )
    # No supervisor runs here: the endpoint stays Creating, as one does for its first seconds.
    for action, body in (
        ("UpdateEndpoint", {"EndpointConfigName": "busy-1"}),
        (
            "UpdateEndpointWeightsAndCapacities",
            {"DesiredWeightsAndCapacities": [{"VariantName": "a", "DesiredWeight": 2.0}]},
        ),
    ):
        with pytest.raises(AwsError) as refused:
            ACTIONS[action](services, system, {"EndpointName": "busy", **body})
        assert refused.value.kind == "ValidationException", action
        assert refused.value.message.startswith(
            'Cannot update in-progress endpoint "arn:aws:sagemaker:us-east-1:000000000000:'
            "endpoint/busy\". (endpoint 'busy' is Creating"
        ), refused.value.message


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"InitialInstanceCount": "2"}, "ProductionVariants[0].InitialInstanceCount"),
        ({"InitialInstanceCount": 0}, "ProductionVariants[0].InitialInstanceCount"),
        ({"InitialVariantWeight": "x"}, "ProductionVariants[0].InitialVariantWeight"),
        ({"InitialVariantWeight": -1}, "ProductionVariants[0].InitialVariantWeight"),
        ({"DataCaptureConfig": [1]}, "DataCaptureConfig"),
        (
            {"DataCaptureConfig": {"CaptureOptions": [["Input"]]}},
            "DataCaptureConfig.CaptureOptions",
        ),
        ({"DataCaptureConfig": {"CaptureOptions": "Input"}}, "DataCaptureConfig.CaptureOptions"),
        (
            {"ShadowProductionVariants": [{**_variant("s"), "InitialVariantWeight": "x"}]},
            "ShadowProductionVariants[0].InitialVariantWeight",
        ),
    ],
    ids=[
        "count-text",
        "count-zero",
        "weight-text",
        "weight-negative",
        "capture-list",
        "capture-option",
        "capture-options",
        "shadow-weight",
    ],
)
def test_an_endpoint_config_the_endpoint_could_not_be_made_from_is_refused(
    services: Services, change: dict[str, Any], field: str
) -> None:
    # Each of these was kept, and CreateEndpoint from the config then failed with a 500.
    services.registry.create_registered_model(Actor.system(), CreateRegisteredModel(name="served"))
    variant = {**_variant("a"), **{k: v for k, v in change.items() if k.startswith("Initial")}}
    body = {
        "EndpointConfigName": "c",
        "ProductionVariants": [variant],
        **{k: v for k, v in change.items() if not k.startswith("Initial")},
    }
    with pytest.raises(InvalidArgument) as refused:
        create_endpoint_config(services, Actor.system(), body)
    assert refused.value.field == field
    assert refused.value.message.startswith(field)


def test_a_job_definitions_page_token_of_another_type_is_refused(services: Services) -> None:
    from dockyard.server.compat.aws._errors import AwsError
    from dockyard.server.compat.aws._sagemaker import ACTIONS

    with pytest.raises(AwsError) as refused:
        ACTIONS["ListDataQualityJobDefinitions"](services, Actor.system(), {"NextToken": 1})
    assert refused.value.kind == "ValidationException"
    assert "NextToken" in refused.value.message


def test_an_endpoints_sagemaker_record_is_kept_by_the_server(
    services: Services, tmp_path: Any
) -> None:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LinearRegression
    from sqlalchemy import select

    from dockyard.api.params import LabelParameter, PutParameter
    from dockyard.api.registry import CreateModelVersion
    from dockyard.errors import PermissionDenied
    from dockyard.models import save_model
    from dockyard.server.actor import ActorKind, Role
    from dockyard.server.auth import CreateUser
    from dockyard.server.compat.aws._sagemaker import ACTIONS
    from dockyard.server.store import schema

    system = Actor.system()
    people = {}
    for name, role in (("root", Role.ADMIN), ("alice", Role.MEMBER), ("mallory", Role.MEMBER)):
        services.auth.create_user(system, CreateUser(name=name, role=role))
        with services.db.read() as conn:
            user = conn.execute(select(schema.users).where(schema.users.c.name == name)).one()
        people[name] = Actor(ActorKind.USER, name, role, user_id=int(user.user_id))
    alice, mallory = people["alice"], people["mallory"]
    root = services.settings.home / "artifacts"
    frame = pd.DataFrame(np.random.default_rng(0).normal(size=(20, 2)), columns=["a", "b"])
    save_model(LinearRegression().fit(frame, frame["a"]), root / "m", input_example=frame)
    services.registry.create_registered_model(alice, CreateRegisteredModel(name="served"))
    services.registry.create_model_version(
        system, "served", CreateModelVersion(source=str(root / "m"))
    )
    # The record of the config an endpoint was made from answers DescribeEndpoint: a member who
    # could put it first named another's endpoint's config, and refused its owner's changes.
    planted = '{"EndpointConfigName": "mallorys"}'
    for name in ("/sagemaker/endpoints/alices", "/sagemaker/monitoring-schedules/alices"):
        with pytest.raises(PermissionDenied) as refused:
            services.params.put(mallory, PutParameter(name=name, value=planted))
        assert refused.value.field == "name"
        assert "kept by the server" in refused.value.message
    body = {"EndpointConfigName": "alices-1", "ProductionVariants": [_variant("a")]}
    create_endpoint_config(services, alice, body)
    ACTIONS["CreateEndpoint"](
        services, alice, {"EndpointName": "alices", "EndpointConfigName": "alices-1"}
    )
    shown = ACTIONS["DescribeEndpoint"](services, alice, {"EndpointName": "alices"})
    assert shown["EndpointConfigName"] == "alices-1"
    record = "/sagemaker/endpoints/alices"
    for who in (mallory, alice, people["root"]):  # kept by the server alone
        with pytest.raises(PermissionDenied):
            services.params.put(who, PutParameter(name=record, value=planted, overwrite=True))
        with pytest.raises(PermissionDenied):
            services.params.label(who, LabelParameter(name=record, labels=["x"]))
        with pytest.raises(PermissionDenied):
            services.params.delete(who, record)
    ACTIONS["DeleteEndpoint"](services, alice, {"EndpointName": "alices"})


@pytest.mark.slow
def test_describe_endpoint_shows_the_last_deployment_config_given(
    server: ServerProcess,  # noqa: F811
    client: Client,  # noqa: F811
    models: dict[str, str],  # noqa: F811
) -> None:
    """DescribeEndpoint had no ``LastDeploymentConfig``: after an update with a blue/green or a
    rolling DeploymentConfig it is that config, in SageMaker's shape; an update that gives none
    keeps it, as the rollout policy it set stays the endpoint's."""
    client.request("POST", "/api/v1/registered-models", json={"name": "deployed"})
    client.request(
        "POST", "/api/v1/registered-models/deployed/versions", json={"source": models["one"]}
    )
    sm = _sagemaker(server)
    for config in ("deployed-1", "deployed-2"):
        variant = {**_variant("AllTraffic"), "ModelName": "deployed"}
        sm.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[variant])
    sm.create_endpoint(EndpointName="deployed", EndpointConfigName="deployed-1")
    waiter = sm.get_waiter("endpoint_in_service")
    fast = {"Delay": 1, "MaxAttempts": 120}
    waiter.wait(EndpointName="deployed", WaiterConfig=fast)
    assert "LastDeploymentConfig" not in sm.describe_endpoint(EndpointName="deployed")

    blue_green = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY",
                "WaitIntervalInSeconds": 0,
                "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 50},
            },
            "TerminationWaitInSeconds": 0,
        },
        "AutoRollbackConfiguration": {},
    }
    rolling = {
        "RollingUpdatePolicy": {
            "MaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 50},
            "WaitIntervalInSeconds": 0,
            "RollbackMaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 1},
        }
    }
    for config, deployment in (("deployed-2", blue_green), ("deployed-1", rolling)):
        sm.update_endpoint(
            EndpointName="deployed", EndpointConfigName=config, DeploymentConfig=deployment
        )
        waiter.wait(EndpointName="deployed", WaiterConfig=fast)
        described = sm.describe_endpoint(EndpointName="deployed")
        assert described["EndpointConfigName"] == config
        assert "FailureReason" not in described
        assert described["LastDeploymentConfig"] == deployment
    sm.update_endpoint(EndpointName="deployed", EndpointConfigName="deployed-2")
    waiter.wait(EndpointName="deployed", WaiterConfig=fast)
    assert sm.describe_endpoint(EndpointName="deployed")["LastDeploymentConfig"] == rolling
    sm.delete_endpoint(EndpointName="deployed")
    # Gone before the module's teardown lists what is left to delete.
    sm.get_waiter("endpoint_deleted").wait(
        EndpointName="deployed", WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )


@pytest.mark.slow
def test_new_weights_leave_no_stale_variant_behind(
    server: ServerProcess,  # noqa: F811
    client: Client,  # noqa: F811
    models: dict[str, str],  # noqa: F811
) -> None:
    """UpdateEndpointWeightsAndCapacities serves the new weights as ``AllTraffic.next`` beside
    ``AllTraffic`` while it rolls out; once done, ``AllTraffic.next`` stayed in every worker's
    statistics (the endpoint page's series, ``describe --stats``) for good."""
    client.request(
        "POST",
        "/api/v1/endpoints",
        json={
            "name": "reweighed",
            "variants": [{"name": "AllTraffic", "model_uri": models["one"]}],
        },
    )
    wait_status(client, "reweighed", "InService")
    row = {"dataframe_split": {"columns": ["a", "b", "c"], "data": [[1.0, 2.0, 3.0]]}}
    runtime = boto3.client(
        "sagemaker-runtime",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    sm = _sagemaker(server)
    sm.update_endpoint_weights_and_capacities(
        EndpointName="reweighed",
        DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredWeight": 2.0}],
    )
    sm.get_waiter("endpoint_in_service").wait(
        EndpointName="reweighed", WaiterConfig={"Delay": 1, "MaxAttempts": 120}
    )
    answer = runtime.invoke_endpoint(
        EndpointName="reweighed", Body=json.dumps(row), ContentType="application/json"
    )
    assert answer["InvokedProductionVariant"] == "AllTraffic"
    answer["Body"].read()  # to its end, so the connection goes back to the client's pool
    described = sm.describe_endpoint(EndpointName="reweighed")
    assert [v["CurrentWeight"] for v in described["ProductionVariants"]] == [2.0]
    deadline = time.monotonic() + 15  # the old variant retires once its requests are answered
    while True:
        stats = client.request("GET", "/api/v1/endpoints/reweighed", params={"stats": "true"})
        names = {name for w in stats["stats"]["workers"] for name in w["variants"]}
        if names == {"AllTraffic"}:
            break
        assert time.monotonic() < deadline, f"the workers still report {sorted(names)}"
        time.sleep(0.1)
    sm.delete_endpoint(EndpointName="reweighed")
    # Gone before the module's teardown lists what is left to delete.
    sm.get_waiter("endpoint_deleted").wait(
        EndpointName="reweighed", WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
