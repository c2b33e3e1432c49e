"""Models: CreateModel / DescribeModel / DeleteModel / ListModels, over the registry.

A SageMaker model is a registered model of the same name whose version 1 is the package its
``ModelDataUrl`` names (a training job's ``S3ModelArtifacts``, ``runs:/``, ``models:/`` or an
``s3://`` package folder), or the version an approved model package
is (``PrimaryContainer.ModelPackageName``, as ``ModelPackage(...).deploy()`` sends it); its image,
role and environment are the registered model's tags (``sagemaker:image``...). Endpoints and
transform jobs then serve ``models:/<name>/<version>``. Any registered model is a SageMaker
model too: DescribeModel answers for it, and an endpoint config may name it (its latest
version when the config is used).

One container per model (``PrimaryContainer`` or a single ``Containers`` entry): Dockyard serves
packages, so the image says nothing about how the model is loaded. A ``model.tar.gz`` made
elsewhere (a native model file as SageMaker's containers save it: ``xgboost-model``,
``model.joblib``...) is unpacked and packaged by a job of its own (``<model>-unpack-<hex>``,
:mod:`dockyard.runtime.runner.unpack_model`), so the server never loads a model's pickle;
CreateModel answers once that job ended, within :data:`UNPACK_WAIT_S`.
"""

from __future__ import annotations

import contextlib
import secrets
from typing import Any

from dockyard.api.batch import respelled
from dockyard.api.jobs import Channel, JobStatus, TrainingJobSpec
from dockyard.api.registry import (
    ApprovalStatus,
    CreateModelVersion,
    CreateRegisteredModel,
    RegisteredModel,
)
from dockyard.api.tracking import TagIn
from dockyard.errors import AlreadyExists, DockyardError, InUse, InvalidArgument, NotFound
from dockyard.server._route import waits
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.compat.aws._errors import AwsError
from dockyard.server.compat.aws._fields import optional, required, seconds
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

__all__ = ["ACTIONS", "model_uri", "unpacked"]

#: How long CreateModel waits for the job that unpacks a model.tar.gz.
UNPACK_WAIT_S = 300.0
IMAGE_TAG, ROLE_TAG, DATA_TAG = "sagemaker:image", "sagemaker:role", "sagemaker:model-data-url"
ENV_PREFIX = "sagemaker:env:"


def registered(services: Services, actor: Actor, name: str) -> RegisteredModel:
    try:
        return services.registry.get_registered_model(actor, name)
    except NotFound:
        raise missing("model", name) from None


def model_uri(services: Services, actor: Actor, name: str) -> str:
    """What serves SageMaker model ``name``: its version 1 when CreateModel made it, else the
    latest version now."""
    model = registered(services, actor, name)
    if model.latest_version is None:
        raise InvalidArgument(f"model {name} has no version to serve", field="ModelName")
    version = 1 if IMAGE_TAG in model.tags else model.latest_version
    return f"models:/{name}/{version}"


def _container(body: Body) -> Body:
    primary = optional(body, "PrimaryContainer", dict)
    containers = optional(body, "Containers", list)
    if primary is None and containers:
        if len(containers) != 1 or not isinstance(containers[0], dict):
            raise InvalidArgument(
                "Containers: Dockyard serves one container per model (inference pipelines "
                "are not supported)",
                field="Containers",
            )
        primary = containers[0]
    if primary is None:
        raise InvalidArgument(
            "1 validation error detected: PrimaryContainer must not be null",
            field="PrimaryContainer",
        )
    return dict(primary)


def _package_version(package: str, field: str) -> str:
    """The registered version a model package's ARN (or ``<group>/<version>``) names."""
    group, slash, version = (package.partition(":model-package/")[2] or package).rpartition("/")
    if not slash or not group or not version.isdigit():
        raise InvalidArgument(
            f"{field}: {package[:200]!r} names no versioned model package (its ARN, or "
            "<group>/<version>)",
            field=field,
        )
    return f"models:/{group}/{version}"


def _deployable(services: Services, actor: Actor, source: str, package: str, field: str) -> None:
    """Refuse a model package that is not ``Approved``: SageMaker deploys a versioned package
    only once approved (an unknown one is left to the registry's own refusal)."""
    group, _, number = source.removeprefix("models:/").rpartition("/")
    try:
        status = services.registry.get_model_version(actor, group, number).approval.status
    except NotFound:
        return
    if status is not ApprovalStatus.APPROVED:
        raise InvalidArgument(
            f"{field}: model package {package} is {status.value}; only an Approved package "
            "can be deployed (approve it with UpdateModelPackage)",
            field=field,
        )


@waits  # for the job that unpacks a model.tar.gz
def create_model(services: Services, actor: Actor, body: Body) -> Body:
    name = resource_name(body, "ModelName")
    container = _container(body)
    field = "PrimaryContainer.ModelDataUrl"
    source = container.get("ModelDataUrl")
    data_source = container.get("ModelDataSource")
    if source is None and isinstance(data_source, dict):
        source = (data_source.get("S3DataSource") or {}).get("S3Uri")
        field = "PrimaryContainer.ModelDataSource.S3DataSource.S3Uri"
    package = container.get("ModelPackageName")
    if source is None and isinstance(package, str):
        field = "PrimaryContainer.ModelPackageName"
        source = _package_version(package, field)
        _deployable(services, actor, source, package, field)
    if not isinstance(source, str) or not source:
        raise InvalidArgument(
            f"{field} must name the model's package: Dockyard serves packages (a training "
            "job's S3ModelArtifacts, runs:/, models:/ or an s3:// package folder), not images",
            field=field,
        )
    environment = container.get("Environment") or {}
    if not isinstance(environment, dict):
        raise InvalidArgument("PrimaryContainer.Environment must be a map", field=field)
    tags = tag_list(body.get("Tags"))
    for key, value in (
        (IMAGE_TAG, container.get("Image") or ""),
        (ROLE_TAG, optional(body, "ExecutionRoleArn", default="")),
        (DATA_TAG, source),
        *((f"{ENV_PREFIX}{k}", str(v)) for k, v in environment.items()),
    ):
        tags[key] = str(value)
    request = CreateRegisteredModel(
        name=name,
        description="created by SageMaker's CreateModel",
        tags=[TagIn(key=k, value=v) for k, v in tags.items()],
    )
    try:
        services.registry.create_registered_model(actor, request)
    except AlreadyExists:
        if not _interrupted(services, actor, name, tags):
            raise exists("model", name) from None
    except (DockyardError, ValueError) as exc:
        aws_fields(exc, {"name": "ModelName", "tags": "Tags"})
    try:
        if source.rstrip("/").endswith((".tar.gz", ".tgz")):
            source = unpacked(services, actor, name, source, field)
        services.registry.create_model_version(actor, name, CreateModelVersion(source=source))
    except (DockyardError, ValueError) as exc:
        with contextlib.suppress(DockyardError):
            services.registry.delete_registered_model(actor, name)
        aws_fields(exc, {"source": field})
    return {"ModelArn": sagemaker_arn("model", name)}


def _interrupted(services: Services, actor: Actor, name: str, tags: dict[str, str]) -> bool:
    """Whether model ``name`` is what an identical CreateModel left when the server stopped
    under it (a restart while its ``model.tar.gz`` was unpacked): the same definition, no
    version, and no unpack job still running for it. Asked again, it is finished rather than
    refused, as a pipeline's createModel task is asked again when the engine resumes."""
    try:
        model = services.registry.get_registered_model(actor, name)
    except NotFound:
        return False
    if model.latest_version is not None:
        return False
    ours = (IMAGE_TAG, ROLE_TAG, DATA_TAG)

    def definition(found: dict[str, str]) -> dict[str, str]:
        return {k: v for k, v in found.items() if k in ours or k.startswith(ENV_PREFIX)}

    if definition(dict(model.tags)) != definition(tags):
        return False
    active = [str(s) for s in JobStatus if not s.is_terminal]
    running = services.jobs.list(actor, status=active, limit=1000)
    return not any(job.spec.get("tags", {}).get("sagemaker:model") == name for job in running)


def unpacked(services: Services, actor: Actor, model: str, archive: str, field: str) -> str:
    """The package a job made of ``archive`` (its ``runs:/`` URI)."""
    spec = TrainingJobSpec(
        name=f"{model[:44].rstrip('-')}-unpack-{secrets.token_hex(4)}",
        module="dockyard.runtime.runner.unpack_model",
        inputs={"model": Channel(uri=archive)},
        tags={"sagemaker:model": model},
    )
    try:
        job = services.jobs.submit(actor, spec)
    except DockyardError as exc:  # the archive refused (missing, outside the roots...)
        raise respelled(exc, {"inputs.model.uri": field, "inputs.model": field}) from None
    ended = services.jobs.wait_for_job(actor, job.name, UNPACK_WAIT_S)
    if not ended.status.is_terminal:
        services.jobs.stop(actor, job.name)
    if str(ended.status) != "Completed" or not (ended.model_uri or "").startswith("runs:/"):
        reason = ended.failure_reason or f"job {job.name} ended {ended.status}"
        raise InvalidArgument(
            f"{field}: {archive} did not become a model package: {reason}", field=field
        )
    return str(ended.model_uri)


def describe_model(services: Services, actor: Actor, body: Body) -> Body:
    name = required(body, "ModelName")
    model = registered(services, actor, name)
    source = model.tags.get(DATA_TAG)
    if source is None and model.latest_version is not None:
        source = f"models:/{name}/{model.latest_version}"
    container = drop_none(
        {
            "Image": model.tags.get(IMAGE_TAG) or None,
            "ModelDataUrl": source,
            "Environment": {
                k.removeprefix(ENV_PREFIX): v
                for k, v in model.tags.items()
                if k.startswith(ENV_PREFIX)
            },
            "Mode": "SingleModel",
        }
    )
    return drop_none(
        {
            "ModelName": name,
            "ModelArn": sagemaker_arn("model", name),
            "PrimaryContainer": container,
            "ExecutionRoleArn": model.tags.get(ROLE_TAG) or None,
            "CreationTime": seconds(model.creation_time),
            "EnableNetworkIsolation": False,
        }
    )


def delete_model(services: Services, actor: Actor, body: Body) -> Body:
    name = required(body, "ModelName")
    try:
        services.registry.delete_registered_model(actor, name)
    except NotFound:
        raise missing("model", name) from None
    except InUse as exc:  # the registry's own field ("name") means nothing to this caller
        raise AwsError("ResourceInUse", f"Cannot delete model {name}: {exc.message}") from None
    return {}


#: The most models ListModels looks through (a page of the registry at a time).
_MOST_LISTED = 10_000


def list_models(services: Services, actor: Actor, body: Body) -> Body:
    """Every registered model the caller may read is a SageMaker model (see the module)."""
    models: list[RegisteredModel] = []
    token: str | None = None
    while len(models) < _MOST_LISTED:
        page = services.registry.search_registered_models(actor, max_results=1000, page_token=token)
        models += page.items
        token = page.next_page_token
        if token is None:
            break
    chosen = listed(
        models,
        body,
        name=lambda m: m.name,
        status=lambda m: "",
        statuses=(),
        created=lambda m: m.creation_time,
        modified=lambda m: m.last_updated_time,
    )
    return one_page(
        body,
        chosen,
        "Models",
        lambda m: {
            "ModelName": m.name,
            "ModelArn": sagemaker_arn("model", m.name),
            "CreationTime": seconds(m.creation_time),
        },
    )


ACTIONS: dict[str, Any] = {
    "CreateModel": create_model,
    "DescribeModel": describe_model,
    "DeleteModel": delete_model,
    "ListModels": list_models,
}
