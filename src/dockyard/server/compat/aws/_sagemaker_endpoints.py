"""Endpoint configs and endpoints, over :mod:`dockyard.server.endpoints`.

SageMaker splits an endpoint into a config (variants: model, weight, instance count; data
capture) and the endpoint that runs one. Dockyard's endpoint holds its config, so a SageMaker
endpoint config is kept as a parameter, ``/sagemaker/endpoint-configs/<name>`` (its request as
JSON; permissions and history are the parameter store's), and the config an endpoint was made
from as ``/sagemaker/endpoints/<name>``. CreateEndpoint and UpdateEndpoint turn the named config
into a Dockyard endpoint config: a variant per production variant serving its model
(:func:`~dockyard.server.compat.aws._sagemaker_models.model_uri`) with its weight, as many
workers as the largest ``InitialInstanceCount``, a shadow variant (``ShadowProductionVariants``:
it gets a copy of the sampled share of requests that its weight over the production variants'
gives, and its answers are captured, never returned), and data capture; updates roll out
blue/green as Dockyard's rollout policy says, which a ``DeploymentConfig`` sets
(:mod:`~dockyard.server.compat.aws._sagemaker_deployment`); the last one given is kept in the
endpoint's record and shown as DescribeEndpoint's ``LastDeploymentConfig``. An EndpointName is
the Dockyard endpoint's name, so ``sagemaker-runtime`` InvokeEndpoint reaches it.

Not supported yet (refused naming the field): serverless and asynchronous inference.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import orjson

from dockyard.api.endpoints import Endpoint, EndpointConfig, EndpointStatus
from dockyard.api.params import PutParameter
from dockyard.errors import Conflict, DockyardError, InvalidArgument, NotFound
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.compat.aws._errors import AwsError
from dockyard.server.compat.aws._fields import required, seconds
from dockyard.server.compat.aws._sagemaker_deployment import rollout, shown
from dockyard.server.compat.aws._sagemaker_models import IMAGE_TAG, model_uri, registered
from dockyard.server.compat.aws._sagemaker_shapes import (
    Body,
    aws_fields,
    drop_none,
    exists,
    listed,
    missing,
    one_page,
    resource_name,
    sagemaker_arn,
    tag_list,
)

__all__ = ["ACTIONS"]

CONFIGS = "/sagemaker/endpoint-configs/"
ENDPOINTS = "/sagemaker/endpoints/"  # a name reserved for the server (params.RESERVED_PATHS)
#: Who keeps ``ENDPOINTS`` records: the server, once the caller's change to the endpoint (or
#: their reading of it) was allowed; no account may write there.
_KEEPER = Actor.system("sagemaker")
_UNSUPPORTED = ("AsyncInferenceConfig", "ExplainerConfig")
#: What StatusEquals may be in ListEndpoints (SageMaker's EndpointStatus).
_ENDPOINT_STATUSES = (
    "OutOfService",
    "Creating",
    "Updating",
    "SystemUpdating",
    "RollingBack",
    "InService",
    "Deleting",
    "Failed",
    "UpdateRollbackFailed",
)
_FIELDS = {"variants": "ProductionVariants", "capture": "DataCaptureConfig", "name": "EndpointName"}


# -- endpoint configs ---------------------------------------------------------------------------


def _stored_config(services: Services, actor: Actor, name: str) -> Body:
    try:
        found = services.params.get(actor, CONFIGS + name)
    except (NotFound, InvalidArgument):
        raise missing("endpoint-config", name) from None
    stored: Body = orjson.loads(found.value or "{}")
    stored["CreationTime"] = seconds(found.modified_time)
    return stored


def create_endpoint_config(services: Services, actor: Actor, body: Body) -> Body:
    name = resource_name(body, "EndpointConfigName")
    variants = required(body, "ProductionVariants", list)
    for field in _UNSUPPORTED:
        if body.get(field):
            raise InvalidArgument(f"{field} is not supported by Dockyard yet", field=field)
    if not 1 <= len(variants) <= 10:
        raise InvalidArgument(
            "ProductionVariants must have between 1 and 10 variants", field="ProductionVariants"
        )
    seen: set[str] = set()
    for i, variant in enumerate(variants):
        where = f"ProductionVariants[{i}]"
        if not isinstance(variant, dict):
            raise InvalidArgument(f"{where} must be an object", field=where)
        variant_name = resource_name(variant, "VariantName", where)
        if variant_name in seen:
            raise InvalidArgument(
                f"{where}.VariantName: {variant_name!r} names two variants; each needs its own",
                field=f"{where}.VariantName",
            )
        seen.add(variant_name)
        if variant.get("ServerlessConfig"):
            raise InvalidArgument(
                f"{where}.ServerlessConfig: serverless inference is not supported by Dockyard "
                "yet; give InitialInstanceCount",
                field=f"{where}.ServerlessConfig",
            )
        _check_numbers(variant, where)
        registered(services, actor, required(variant, "ModelName"))
    _check_shadow(services, actor, body)
    _check_capture(body.get("DataCaptureConfig"))
    tag_list(body.get("Tags"))
    kept = ("ProductionVariants", "ShadowProductionVariants", "DataCaptureConfig", "Tags")
    stored = {k: body[k] for k in kept if k in body}
    try:
        services.params.put(
            actor, PutParameter(name=CONFIGS + name, value=orjson.dumps(stored).decode())
        )
    except DockyardError as exc:
        if exc.status_code == 409:
            raise exists("endpoint-config", name) from None
        aws_fields(exc, {"name": "EndpointConfigName", "value": "ProductionVariants"})
    return {"EndpointConfigArn": sagemaker_arn("endpoint-config", name)}


def _check_shadow(services: Services, actor: Actor, body: Body) -> None:
    shadows = body.get("ShadowProductionVariants")
    if shadows is None:
        return
    if not isinstance(shadows, list) or len(shadows) > 1:
        raise InvalidArgument(
            "ShadowProductionVariants takes at most one variant",
            field="ShadowProductionVariants",
        )
    for shadow in shadows:
        where = "ShadowProductionVariants[0]"
        if not isinstance(shadow, dict):
            raise InvalidArgument(f"{where} must be an object", field=where)
        resource_name(shadow, "VariantName", where)
        _check_numbers(shadow, where)
        registered(services, actor, required(shadow, "ModelName"))


def _check_numbers(variant: Body, where: str) -> None:
    """A variant's instance count and weight, as SageMaker bounds them: the endpoint is made
    from them later, when a bad one could no longer be named."""
    count = variant.get("InitialInstanceCount")
    if count is not None and (type(count) is not int or count < 1):
        raise InvalidArgument(
            f"{where}.InitialInstanceCount must be a whole number of at least 1 "
            f"(got {count!r:.40})",
            field=f"{where}.InitialInstanceCount",
        )
    weight = variant.get("InitialVariantWeight")
    if weight is not None and (type(weight) not in (int, float) or not 0 <= weight < math.inf):
        raise InvalidArgument(
            f"{where}.InitialVariantWeight must be a number of at least 0 (got {weight!r:.40})",
            field=f"{where}.InitialVariantWeight",
        )


def _check_capture(capture: Any) -> None:
    """DataCaptureConfig's shape: an object whose CaptureOptions are ``{"CaptureMode":
    "Input"}`` or ``"Output"`` (its values are checked as the endpoint's capture)."""
    if capture is None:
        return
    if not isinstance(capture, dict):
        raise InvalidArgument("DataCaptureConfig must be an object", field="DataCaptureConfig")
    options = capture.get("CaptureOptions")
    if options is None:
        return
    if not isinstance(options, list) or not all(
        isinstance(o, dict) and o.get("CaptureMode") in ("Input", "Output") for o in options
    ):
        raise InvalidArgument(
            'DataCaptureConfig.CaptureOptions must be a list of {"CaptureMode": "Input"} or '
            '{"CaptureMode": "Output"}',
            field="DataCaptureConfig.CaptureOptions",
        )


def _shadow(services: Services, actor: Actor, stored: Body) -> Body | None:
    """The Dockyard shadow of a stored config: SageMaker mirrors to a shadow the share of
    requests its weight is of the production variants' total weight."""
    shadows = stored.get("ShadowProductionVariants") or []
    if not shadows:
        return None
    shadow = shadows[0]
    production = sum(
        float(v.get("InitialVariantWeight", 1.0)) for v in stored["ProductionVariants"]
    )
    weight = float(shadow.get("InitialVariantWeight", 1.0))
    return {
        "name": shadow["VariantName"],
        "model_uri": model_uri(services, actor, shadow["ModelName"]),
        "sampling_pct": min(100.0, 100.0 * weight / production) if production > 0 else 100.0,
    }


def describe_endpoint_config(services: Services, actor: Actor, body: Body) -> Body:
    name = required(body, "EndpointConfigName")
    stored = _stored_config(services, actor, name)
    stored.pop("Tags", None)
    return {
        "EndpointConfigName": name,
        "EndpointConfigArn": sagemaker_arn("endpoint-config", name),
        **stored,
    }


def list_endpoint_configs(services: Services, actor: Actor, body: Body) -> Body:
    configs: list[Any] = []
    token: str | None = None
    while len(configs) < 10_000:
        page = services.params.get_by_path(actor, CONFIGS, max_results=50, page_token=token)
        configs += page.parameters
        token = page.next_page_token
        if token is None:
            break
    chosen = listed(
        configs,
        body,
        name=lambda p: p.name.removeprefix(CONFIGS),
        status=lambda p: "",
        statuses=(),
        created=lambda p: p.modified_time,
        modified=lambda p: p.modified_time,
    )
    return one_page(
        body,
        chosen,
        "EndpointConfigs",
        lambda p: {
            "EndpointConfigName": p.name.removeprefix(CONFIGS),
            "EndpointConfigArn": sagemaker_arn("endpoint-config", p.name.removeprefix(CONFIGS)),
            "CreationTime": seconds(p.modified_time),
        },
    )


def delete_endpoint_config(services: Services, actor: Actor, body: Body) -> Body:
    name = required(body, "EndpointConfigName")
    try:
        services.params.delete(actor, CONFIGS + name)
    except (NotFound, InvalidArgument):
        raise missing("endpoint-config", name) from None
    return {}


# -- endpoints ----------------------------------------------------------------------------------


def _dockyard_config(
    services: Services, actor: Actor, endpoint: str, config: str, deployment: Any = None
) -> Any:
    stored = _stored_config(services, actor, config)
    variants = stored["ProductionVariants"]
    capture = stored.get("DataCaptureConfig") or {}
    modes = {o.get("CaptureMode") for o in capture.get("CaptureOptions") or []}
    workers = max(int(v.get("InitialInstanceCount") or 1) for v in variants)
    spec = {
        "name": endpoint,
        "variants": [
            {
                "name": v["VariantName"],
                "model_uri": model_uri(services, actor, v["ModelName"]),
                "weight": v.get("InitialVariantWeight", 1.0),
            }
            for v in variants
        ],
        "shadow": _shadow(services, actor, stored),
        "scaling": {"min_workers": min(workers, 64), "max_workers": min(workers, 64)},
        "capture": drop_none(
            {
                "enabled": bool(capture.get("EnableCapture", bool(capture))),
                "sampling_pct": capture.get("InitialSamplingPercentage"),
                "destination": capture.get("DestinationS3Uri"),
                "mode": "input"
                if modes == {"Input"}
                else "output"
                if modes == {"Output"}
                else None,
            }
        ),
    }
    if deployment:
        spec["rollout"] = rollout(deployment, workers)
    try:
        return EndpointConfig.model_validate(spec)
    except ValueError as exc:
        return aws_fields(exc, _FIELDS)


def _remember(
    services: Services,
    actor: Actor,
    endpoint: str,
    config: str,
    previous: str | None = None,
    deployment: Any = None,
) -> None:
    """Keep the config an endpoint is made from, the one it served before an update (shown
    while the update rolls out, and again once it is rolled back), and the last
    DeploymentConfig given (an update that gives none keeps the one before, as the rollout
    policy it set stays the endpoint's)."""
    if deployment is None:
        deployment = _record(services, endpoint).get("DeploymentConfig")
    else:
        deployment = shown(deployment)
    value = orjson.dumps(
        {"EndpointConfigName": config, "Previous": previous, "DeploymentConfig": deployment}
    ).decode()
    record = PutParameter(name=ENDPOINTS + endpoint, value=value, overwrite=True)
    services.params.put(_KEEPER, record)


def _record(services: Services, endpoint: str) -> Body:
    """An endpoint's SageMaker record (``{}``: an endpoint made by Dockyard's own API; an
    older record was the config's name alone)."""
    try:
        value = services.params.get(_KEEPER, ENDPOINTS + endpoint).value or ""
    except (NotFound, InvalidArgument):
        return {}
    if not value.startswith("{"):
        return {"EndpointConfigName": value} if value else {}
    stored: Body = orjson.loads(value)
    return stored


def _config_names(services: Services, actor: Actor, endpoint: str) -> tuple[str, str | None]:
    """(the config an endpoint was last given, the one it served before); an endpoint made by
    Dockyard's own API: its name."""
    stored = _record(services, endpoint)
    return str(stored.get("EndpointConfigName") or endpoint), stored.get("Previous")


def _config_name(services: Services, actor: Actor, endpoint: Endpoint) -> str:
    """The config an endpoint serves: the previous one while an update rolls out or after it
    was rolled back."""
    latest, previous = _config_names(services, actor, endpoint.name)
    rolled_back = (endpoint.failure_reason or "").startswith("update rolled back")
    if previous is not None and (endpoint.pending_config is not None or rolled_back):
        return previous
    return latest


def _endpoint(services: Services, actor: Actor, name: str) -> Endpoint:
    try:
        return services.endpoints.get(actor, name)
    except NotFound:
        raise missing("endpoint", name) from None


def create_endpoint(services: Services, actor: Actor, body: Body) -> Body:
    name = required(body, "EndpointName")
    config_name = required(body, "EndpointConfigName")
    tag_list(body.get("Tags"))
    config = _dockyard_config(services, actor, name, config_name, body.get("DeploymentConfig"))
    with contextlib.suppress(NotFound):
        services.endpoints.get(actor, name)
        raise exists("endpoint", name)
    try:
        services.endpoints.create(actor, config)
    except DockyardError as exc:
        aws_fields(exc, _FIELDS)
    _remember(services, actor, name, config_name, deployment=body.get("DeploymentConfig"))
    return {"EndpointArn": sagemaker_arn("endpoint", name)}


def _in_progress(exc: Exception, name: str) -> None:
    """An endpoint still creating, updating or rolling back takes no update: SageMaker's
    ValidationException in its words, where Dockyard's conflict would be ResourceInUse (which
    neither UpdateEndpoint nor UpdateEndpointWeightsAndCapacities answers on SageMaker)."""
    if isinstance(exc, Conflict) and exc.field == "name":
        raise AwsError(
            "ValidationException",
            f'Cannot update in-progress endpoint "{sagemaker_arn("endpoint", name)}". '
            f"({exc.message})",
        ) from None


def update_endpoint(services: Services, actor: Actor, body: Body) -> Body:
    name = required(body, "EndpointName")
    config_name = required(body, "EndpointConfigName")
    serving = _config_name(services, actor, _endpoint(services, actor, name))
    config = _dockyard_config(services, actor, name, config_name, body.get("DeploymentConfig"))
    try:
        services.endpoints.update(actor, name, config)
    except DockyardError as exc:
        _in_progress(exc, name)
        aws_fields(exc, _FIELDS)
    _remember(services, actor, name, config_name, serving, body.get("DeploymentConfig"))
    return {"EndpointArn": sagemaker_arn("endpoint", name)}


def update_weights_and_capacities(services: Services, actor: Actor, body: Body) -> Body:
    name = required(body, "EndpointName")
    wanted = required(body, "DesiredWeightsAndCapacities", list)
    current = _endpoint(services, actor, name).config
    by_name = {v.name: v for v in current.variants}
    weights: dict[str, float] = {}
    workers = current.scaling.min_workers
    for i, item in enumerate(wanted):
        where = f"DesiredWeightsAndCapacities[{i}]"
        if not isinstance(item, dict):
            raise InvalidArgument(f"{where} must be an object", field=where)
        variant = required(item, "VariantName")
        if variant not in by_name:
            raise InvalidArgument(
                f"{where}.VariantName: the endpoint has no variant {variant!r}",
                field=f"{where}.VariantName",
            )
        weight = item.get("DesiredWeight")
        if weight is not None:
            weights[variant] = weight
        count = item.get("DesiredInstanceCount")
        if count is not None:
            if type(count) is not int or count < 1:
                raise InvalidArgument(
                    f"{where}.DesiredInstanceCount: must be 1 or more, got {count!r} (an "
                    "endpoint keeps at least one instance: delete it to stop serving)",
                    field=f"{where}.DesiredInstanceCount",
                )
            workers = count
    variants = [
        v.model_copy(update={"weight": weights.get(v.name, v.weight)}) for v in current.variants
    ]
    spec = current.model_dump(mode="json")
    spec["variants"] = [v.model_dump(mode="json") for v in variants]
    spec["scaling"] = {**spec["scaling"], "min_workers": workers, "max_workers": workers}
    try:
        services.endpoints.update(actor, name, EndpointConfig.model_validate(spec))
    except (DockyardError, ValueError) as exc:
        _in_progress(exc, name)
        aws_fields(exc, {"variants": "DesiredWeightsAndCapacities"})
    return {"EndpointArn": sagemaker_arn("endpoint", name)}


def _variants(services: Services, actor: Actor, endpoint: Endpoint) -> list[Body]:
    shown = []
    total = sum(v.weight for v in endpoint.config.variants) or 1.0
    # While UpdateEndpointWeightsAndCapacities is applied (a pending config of the same
    # variants and models), Desired* is what it asks for (SageMaker's "requested weight" and
    # count); Current* stays what serves until it is done. A new config (UpdateEndpoint) is
    # PendingDeploymentSummary's, not these variants'.
    pending = endpoint.pending_config
    served = [(v.name, v.model_uri) for v in endpoint.config.variants]
    reweighed = pending is not None and [(v.name, v.model_uri) for v in pending.variants] == served
    desired = pending if pending is not None and reweighed else endpoint.config
    desired_weights = {v.name: v.weight for v in desired.variants}
    for variant in endpoint.config.variants:
        image = None
        ref = variant.model_uri.removeprefix("models:/").split("/")[0]
        if variant.model_uri.startswith("models:/"):
            with contextlib.suppress(DockyardError):
                image = services.registry.get_registered_model(actor, ref).tags.get(IMAGE_TAG)
        share = endpoint.traffic.get(variant.name, variant.weight / total)
        # A variant's deployment stage, while there is one: none once the endpoint serves as
        # configured (SageMaker lists it only while creating or updating).
        stage = None
        if endpoint.status is EndpointStatus.CREATING:
            stage = "Creating"
        elif endpoint.status is not EndpointStatus.IN_SERVICE or endpoint.pending_config:
            stage = "ActivatingTraffic" if share else "Baking"
        shown.append(
            drop_none(
                {
                    "VariantName": variant.name,
                    "DeployedImages": [{"SpecifiedImage": image, "ResolvedImage": image}]
                    if image
                    else None,
                    "CurrentWeight": variant.weight,
                    "DesiredWeight": desired_weights.get(variant.name, variant.weight),
                    "CurrentInstanceCount": endpoint.workers,
                    "DesiredInstanceCount": desired.scaling.min_workers,
                    "CurrentServerlessConfig": None,
                    "VariantStatus": [
                        {"Status": stage, "StartTime": seconds(endpoint.updated_time)}
                    ]
                    if stage
                    else None,
                }
            )
        )
    return shown


def describe_endpoint(services: Services, actor: Actor, body: Body) -> Body:
    name = required(body, "EndpointName")
    endpoint = _endpoint(services, actor, name)
    endpoint = endpoint.model_copy(update={"workers": services.endpoints.running_workers(name)})
    status = str(endpoint.status)
    if status == "InService" and endpoint.pending_config is not None:
        status = "Updating"
    capture = endpoint.config.capture
    return drop_none(
        {
            "EndpointName": name,
            "EndpointArn": sagemaker_arn("endpoint", name),
            "EndpointConfigName": _config_name(services, actor, endpoint),
            "PendingDeploymentSummary": {
                "EndpointConfigName": _config_names(services, actor, name)[0],
                "StartTime": seconds(endpoint.updated_time),
            }
            if endpoint.pending_config is not None
            else None,
            "ProductionVariants": _variants(services, actor, endpoint),
            "ShadowProductionVariants": [
                {
                    "VariantName": shadow.name,
                    "CurrentInstanceCount": endpoint.workers,
                    "DesiredInstanceCount": endpoint.config.scaling.min_workers,
                }
            ]
            if (shadow := endpoint.config.shadow) is not None
            else None,
            "DataCaptureConfig": {
                "EnableCapture": capture.enabled,
                "CaptureStatus": "Started" if capture.enabled else "Stopped",
                "CurrentSamplingPercentage": int(capture.sampling_pct),
                "DestinationS3Uri": capture.destination or "",
            }
            if capture.enabled
            else None,
            "EndpointStatus": status,
            "FailureReason": endpoint.failure_reason,
            "CreationTime": seconds(endpoint.created_time),
            "LastModifiedTime": seconds(endpoint.updated_time),
            "LastDeploymentConfig": _record(services, name).get("DeploymentConfig") or None,
        }
    )


def delete_endpoint(services: Services, actor: Actor, body: Body) -> Body:
    name = required(body, "EndpointName")
    try:
        services.endpoints.delete(actor, name)
    except NotFound:
        raise missing("endpoint", name) from None
    with contextlib.suppress(NotFound, InvalidArgument):
        services.params.delete(_KEEPER, ENDPOINTS + name)
    return {}


def list_endpoints(services: Services, actor: Actor, body: Body) -> Body:
    chosen = listed(
        services.endpoints.list(actor),
        body,
        name=lambda e: e.name,
        status=lambda e: str(e.status),
        statuses=_ENDPOINT_STATUSES,
        created=lambda e: e.created_time,
        modified=lambda e: e.updated_time,
    )
    return one_page(
        body,
        chosen,
        "Endpoints",
        lambda e: {
            "EndpointName": e.name,
            "EndpointArn": sagemaker_arn("endpoint", e.name),
            "CreationTime": seconds(e.created_time),
            "LastModifiedTime": seconds(e.updated_time),
            "EndpointStatus": str(e.status),
        },
    )


ACTIONS: dict[str, Any] = {
    "CreateEndpointConfig": create_endpoint_config,
    "DescribeEndpointConfig": describe_endpoint_config,
    "DeleteEndpointConfig": delete_endpoint_config,
    "ListEndpointConfigs": list_endpoint_configs,
    "CreateEndpoint": create_endpoint,
    "DescribeEndpoint": describe_endpoint,
    "UpdateEndpoint": update_endpoint,
    "DeleteEndpoint": delete_endpoint,
    "ListEndpoints": list_endpoints,
    "UpdateEndpointWeightsAndCapacities": update_weights_and_capacities,
}
