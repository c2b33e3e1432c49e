"""Model package groups and model packages, over the registry.

The mapping:

    model package group   a registered model of the same name (its description and tags)
    model package         a version of it: ``model-package/<group>/<version>``, the version's
                          number as ModelPackageVersion
    ModelApprovalStatus   the version's approval status, whose values are SageMaker's
                          (PendingManualApproval, Approved, Rejected); each change, with its
                          ApprovalDescription as the comment, is kept in the version's
                          approval history. Aliases and MLflow's stages are left alone.

With accounts, who registered a version may not decide on its approval (the registry's
``approval_separation``, on by default): CreateModelPackage by that account with
``ModelApprovalStatus: Approved`` is refused (AccessDeniedException) and registers nothing, and
another account approves with UpdateModelPackage.

CreateModelPackage registers what ``InferenceSpecification.Containers[0].ModelDataUrl`` (or
``SourceUri``) names, as CreateModel does: a training job's ``S3ModelArtifacts``, ``runs:/``,
``models:/``, an ``s3://`` package folder, or a ``model.tar.gz`` made elsewhere, unpacked by a
job. The image, content types and CustomerMetadataProperties are the version's tags
(``sagemaker:image``, ``sagemaker:meta:<key>``...). Only versioned packages exist here: a
package outside a group is refused. Any registered model answers as a group, except the ones
CreateModel made (a SageMaker model), which ListModelPackageGroups leaves out.

ARNs keep the group's name as it is spelled, so an ARN this adapter gave names its group.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dockyard.api.registry import (
    ApprovalStatus,
    CreateModelVersion,
    CreateRegisteredModel,
    ModelVersion,
    RegisteredModel,
    SetApproval,
    VersionStatus,
)
from dockyard.api.tracking import TagIn
from dockyard.errors import AlreadyExists, DockyardError, InvalidArgument, NotFound
from dockyard.server._route import waits
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.compat.aws._arn import arn
from dockyard.server.compat.aws._errors import AwsError
from dockyard.server.compat.aws._fields import optional, required, seconds
from dockyard.server.compat.aws._sagemaker_models import IMAGE_TAG as MODEL_IMAGE_TAG
from dockyard.server.compat.aws._sagemaker_models import unpacked
from dockyard.server.compat.aws._sagemaker_shapes import (
    Body,
    aws_fields,
    drop_none,
    one_page,
    tag_list,
)

__all__ = ["ACTIONS"]

IMAGE_TAG, DATA_TAG = "sagemaker:image", "sagemaker:model-data-url"
CONTENT_TAG, RESPONSE_TAG = "sagemaker:content-types", "sagemaker:response-types"
META_PREFIX = "sagemaker:meta:"
_SORTS = ("Name", "CreationTime")
_ORDERS = ("Ascending", "Descending")
_PAGE = 1000


def group_arn(name: str) -> str:
    return arn("sagemaker", f"model-package-group/{name}")


def package_arn(name: str, version: int) -> str:
    return arn("sagemaker", f"model-package/{name}/{version}")


def _group_missing(name: str) -> AwsError:
    return AwsError("ValidationException", f"ModelPackageGroup {name} does not exist.")


def _group_name(value: str) -> str:
    """A group's name, from its name or its ARN."""
    _, found, rest = value.partition(":model-package-group/")
    return rest if found else value


def _package_name(value: str, field: str) -> tuple[str, int]:
    """``(group, version)`` from a package's ARN or ``<group>/<version>``."""
    _, found, rest = value.partition(":model-package/")
    group, slash, version = (rest if found else value).rpartition("/")
    if not slash or not group or not (version.isascii() and version.isdigit()):
        raise InvalidArgument(
            f"{field}: {value[:200]!r} names no versioned model package (its ARN, or "
            "<group>/<version>); Dockyard keeps every package in a group",
            field=field,
        )
    return group, int(version)


def _group(services: Services, actor: Actor, name: str) -> RegisteredModel:
    try:
        return services.registry.get_registered_model(actor, name)
    except NotFound:
        raise _group_missing(name) from None


def _version(services: Services, actor: Actor, group: str, number: int) -> ModelVersion:
    try:
        return services.registry.get_model_version(actor, group, number)
    except NotFound:
        raise AwsError(
            "ValidationException",
            f"ModelPackage {package_arn(group, number)} does not exist.",
        ) from None


def _sorted(items: list[Any], body: Body, keys: dict[str, Callable[[Any], Any]]) -> list[Any]:
    sort = optional(body, "SortBy", str, "CreationTime")
    if sort not in _SORTS:
        raise InvalidArgument(f"SortBy must be one of {', '.join(_SORTS)}", field="SortBy")
    order = optional(body, "SortOrder", str, "Ascending")
    if order not in _ORDERS:
        raise InvalidArgument(f"SortOrder must be one of {', '.join(_ORDERS)}", field="SortOrder")
    return sorted(items, key=keys[sort], reverse=order == "Descending")


def _window(items: list[Any], body: Body, created: Callable[[Any], int]) -> list[Any]:
    """The items created within CreationTimeAfter / CreationTimeBefore."""
    chosen = items
    for field, after in (("CreationTimeAfter", True), ("CreationTimeBefore", False)):
        bound = body.get(field)
        if bound is None:
            continue
        if not isinstance(bound, (int, float)):
            raise InvalidArgument(f"{field} must be a time", field=field)
        chosen = [i for i in chosen if (created(i) / 1000 > bound) is after]
    return chosen


# -- groups -----------------------------------------------------------------------------------


def create_group(services: Services, actor: Actor, body: Body) -> Body:
    name = required(body, "ModelPackageGroupName")
    request = {
        "name": name,
        "description": optional(body, "ModelPackageGroupDescription", default=""),
        "tags": [TagIn(key=k, value=v) for k, v in tag_list(body.get("Tags")).items()],
    }
    try:
        services.registry.create_registered_model(
            actor, CreateRegisteredModel.model_validate(request)
        )
    except AlreadyExists:
        raise AwsError(
            "ValidationException", f"Model Package Group already exists: {group_arn(name)}"
        ) from None
    except (DockyardError, ValueError) as exc:
        aws_fields(
            exc,
            {
                "name": "ModelPackageGroupName",
                "description": "ModelPackageGroupDescription",
                "tags": "Tags",
            },
        )
    return {"ModelPackageGroupArn": group_arn(name)}


def _group_shape(model: RegisteredModel) -> Body:
    return {
        "ModelPackageGroupName": model.name,
        "ModelPackageGroupArn": group_arn(model.name),
        "ModelPackageGroupDescription": model.description,
        "CreationTime": seconds(model.creation_time),
        "ModelPackageGroupStatus": "Completed",
    }


def describe_group(services: Services, actor: Actor, body: Body) -> Body:
    name = _group_name(required(body, "ModelPackageGroupName"))
    return {**_group_shape(_group(services, actor, name)), "CreatedBy": {}}


def _all_groups(services: Services, actor: Actor) -> list[RegisteredModel]:
    found: list[RegisteredModel] = []
    token: str | None = None
    while True:
        page = services.registry.search_registered_models(
            actor, max_results=_PAGE, page_token=token
        )
        found.extend(page.items)
        token = page.next_page_token
        if token is None:
            return found


def list_groups(services: Services, actor: Actor, body: Body) -> Body:
    """Registered models (but SageMaker models), oldest first unless SortBy / SortOrder say."""
    contains = (optional(body, "NameContains") or "").lower()
    groups = [
        g
        for g in _all_groups(services, actor)
        if contains in g.name.lower() and MODEL_IMAGE_TAG not in g.tags
    ]
    groups = _window(groups, body, lambda g: g.creation_time)
    groups = _sorted(
        groups,
        body,
        {"Name": lambda g: g.name, "CreationTime": lambda g: (g.creation_time, g.name)},
    )
    return one_page(body, groups, "ModelPackageGroupSummaryList", _group_shape)


def delete_group(services: Services, actor: Actor, body: Body) -> Body:
    """Delete an empty group: its packages are deleted first (DeleteModelPackage), as on
    SageMaker."""
    name = _group_name(required(body, "ModelPackageGroupName"))
    group = _group(services, actor, name)
    if group.latest_version is not None:
        raise AwsError(
            "ConflictException",
            f"Model Package Group {name} has model packages: delete them first",
        )
    services.registry.delete_registered_model(actor, name)
    return {}


# -- packages ---------------------------------------------------------------------------------


def _inference(body: Body) -> tuple[str, Body]:
    """What the package is registered from, and the version tags its spec becomes."""
    spec = optional(body, "InferenceSpecification", dict, {})
    containers = spec.get("Containers") or []
    if not isinstance(containers, list) or len(containers) > 1:
        raise InvalidArgument(
            "InferenceSpecification.Containers: Dockyard serves one container per package",
            field="InferenceSpecification.Containers",
        )
    container = containers[0] if containers else {}
    if not isinstance(container, dict):
        raise InvalidArgument(
            "InferenceSpecification.Containers[0] must be a container",
            field="InferenceSpecification.Containers[0]",
        )
    field = "InferenceSpecification.Containers[0].ModelDataUrl"
    source = container.get("ModelDataUrl")
    if source is None and body.get("SourceUri") is not None:
        source, field = body["SourceUri"], "SourceUri"
    if not isinstance(source, str) or not source:
        raise InvalidArgument(
            "InferenceSpecification.Containers[0].ModelDataUrl (or SourceUri) must name the "
            "model's package: Dockyard registers packages (a training job's S3ModelArtifacts, "
            "runs:/, models:/, an s3:// package folder or a model.tar.gz), not images",
            field="InferenceSpecification.Containers[0].ModelDataUrl",
        )
    tags = {
        IMAGE_TAG: str(container.get("Image") or ""),
        DATA_TAG: source,
        CONTENT_TAG: ",".join(spec.get("SupportedContentTypes") or []),
        RESPONSE_TAG: ",".join(spec.get("SupportedResponseMIMETypes") or []),
    }
    return field, tags


def _status(body: Body, field: str = "ModelApprovalStatus") -> ApprovalStatus | None:
    value = optional(body, field)
    if value is None:
        return None
    try:
        return ApprovalStatus(value)
    except ValueError:
        known = ", ".join(s.value for s in ApprovalStatus)
        raise InvalidArgument(f"{field} must be one of {known}", field=field) from None


def _decide(
    services: Services, actor: Actor, group: str, number: int, decision: SetApproval
) -> None:
    """Set a version's approval; a refusal names ModelApprovalStatus. With accounts and
    ``approval_separation`` (the default), who registered a version may not decide on it."""
    try:
        services.registry.set_approval(actor, group, number, decision)
    except DockyardError as exc:
        if exc.field != "status":
            raise
        raise type(exc)(exc.message, field="ModelApprovalStatus") from None


def _metadata(body: Body) -> dict[str, str]:
    found = optional(body, "CustomerMetadataProperties", dict, {})
    return {f"{META_PREFIX}{k}": str(v) for k, v in found.items()}


@waits  # for the job that unpacks a model.tar.gz
def create_package(services: Services, actor: Actor, body: Body) -> Body:
    group = optional(body, "ModelPackageGroupName")
    if group is None:
        raise InvalidArgument(
            "ModelPackageGroupName: Dockyard keeps model packages in groups (unversioned "
            "packages are not supported)",
            field="ModelPackageGroupName",
        )
    group = _group_name(group)
    _group(services, actor, group)
    status = _status(body)
    field, tags = _inference(body)
    source = tags[DATA_TAG]
    tags.update(_metadata(body))
    tags.update(tag_list(body.get("Tags")))
    try:
        if source.rstrip("/").endswith((".tar.gz", ".tgz")):
            source = unpacked(services, actor, group, source, field)
        request = CreateModelVersion(
            source=source,
            description=optional(body, "ModelPackageDescription", default=""),
            tags=[TagIn(key=k, value=v) for k, v in tags.items() if v],
        )
        version = services.registry.create_model_version(actor, group, request)
    except (DockyardError, ValueError) as exc:
        aws_fields(exc, {"source": field, "description": "ModelPackageDescription"})
    if status is not None and status is not version.approval.status:
        try:
            _decide(services, actor, group, version.version, SetApproval(status=status))
        except DockyardError:  # refused (the author may not approve): no package either
            services.registry.delete_model_version(actor, group, version.version)
            raise
    return {"ModelPackageArn": package_arn(group, version.version)}


def _summary(version: ModelVersion) -> Body:
    return drop_none(
        {
            "ModelPackageName": version.name,
            "ModelPackageGroupName": version.name,
            "ModelPackageVersion": version.version,
            "ModelPackageArn": package_arn(version.name, version.version),
            "ModelPackageDescription": version.description or None,
            "CreationTime": seconds(version.creation_time),
            "ModelPackageStatus": (
                "Completed" if version.status is VersionStatus.READY else "InProgress"
            ),
            "ModelApprovalStatus": str(version.approval.status.value),
        }
    )


def describe_package(services: Services, actor: Actor, body: Body) -> Body:
    group, number = _package_name(required(body, "ModelPackageName"), "ModelPackageName")
    version = _version(services, actor, group, number)
    tags = version.tags
    container = drop_none(
        {
            "Image": tags.get(IMAGE_TAG) or None,
            "ModelDataUrl": tags.get(DATA_TAG) or version.source,
        }
    )
    inference = {
        "Containers": [container],
        "SupportedContentTypes": [t for t in tags.get(CONTENT_TAG, "").split(",") if t],
        "SupportedResponseMIMETypes": [t for t in tags.get(RESPONSE_TAG, "").split(",") if t],
    }
    approval = version.approval
    return drop_none(
        {
            **_summary(version),
            "InferenceSpecification": inference,
            "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
            "CertifyForMarketplace": False,
            "ApprovalDescription": approval.comment,
            "LastModifiedTime": seconds(approval.time or version.last_updated_time),
            "CustomerMetadataProperties": {
                k.removeprefix(META_PREFIX): v for k, v in tags.items() if k.startswith(META_PREFIX)
            },
        }
    )


def _all_versions(services: Services, actor: Actor, group: str | None) -> list[ModelVersion]:
    found: list[ModelVersion] = []
    token: str | None = None
    while True:
        page = services.registry.search_model_versions(
            actor, name=group, max_results=_PAGE, page_token=token
        )
        found.extend(page.items)
        token = page.next_page_token
        if token is None:
            return found


def list_packages(services: Services, actor: Actor, body: Body) -> Body:
    group = optional(body, "ModelPackageGroupName")
    if group is not None:
        group = _group_name(group)
        _group(services, actor, group)
    kind = optional(body, "ModelPackageType", str, "Both")
    if kind not in ("Versioned", "Unversioned", "Both"):
        raise InvalidArgument(
            "ModelPackageType must be one of Versioned, Unversioned, Both",
            field="ModelPackageType",
        )
    versions = [] if kind == "Unversioned" else _all_versions(services, actor, group)
    status = _status(body)
    contains = (optional(body, "NameContains") or "").lower()
    versions = [
        v
        for v in versions
        if (status is None or v.approval.status is status) and contains in v.name.lower()
    ]
    versions = _window(versions, body, lambda v: v.creation_time)
    versions = _sorted(
        versions,
        body,
        {
            "Name": lambda v: (v.name, v.version),
            "CreationTime": lambda v: (v.creation_time, v.version),
        },
    )
    return one_page(body, versions, "ModelPackageSummaryList", _summary)


def update_package(services: Services, actor: Actor, body: Body) -> Body:
    """Approval status (with ApprovalDescription) and CustomerMetadataProperties; what a
    package holds never changes."""
    group, number = _package_name(required(body, "ModelPackageArn"), "ModelPackageArn")
    for fixed in ("InferenceSpecification", "SourceUri", "AdditionalInferenceSpecificationsToAdd"):
        if body.get(fixed) is not None:
            raise InvalidArgument(
                f"{fixed}: a registered version's package never changes; create a new "
                "model package instead",
                field=fixed,
            )
    status = _status(body)
    version = _version(services, actor, group, number)
    comment = optional(body, "ApprovalDescription")
    if status is not None or comment is not None:
        decided = SetApproval(status=status or version.approval.status, comment=comment)
        _decide(services, actor, group, number, decided)
    for key, value in _metadata(body).items():
        services.registry.set_model_version_tag(actor, group, number, key, value)
    removed = optional(body, "CustomerMetadataPropertiesToRemove", list, [])
    for key in removed:
        if f"{META_PREFIX}{key}" in version.tags:
            services.registry.delete_model_version_tag(actor, group, number, f"{META_PREFIX}{key}")
    return {"ModelPackageArn": package_arn(group, number)}


def delete_package(services: Services, actor: Actor, body: Body) -> Body:
    group, number = _package_name(required(body, "ModelPackageName"), "ModelPackageName")
    _version(services, actor, group, number)
    services.registry.delete_model_version(actor, group, number)
    return {}


ACTIONS: dict[str, Any] = {
    "CreateModelPackageGroup": create_group,
    "DescribeModelPackageGroup": describe_group,
    "ListModelPackageGroups": list_groups,
    "DeleteModelPackageGroup": delete_group,
    "CreateModelPackage": create_package,
    "DescribeModelPackage": describe_package,
    "ListModelPackages": list_packages,
    "UpdateModelPackage": update_package,
    "DeleteModelPackage": delete_package,
}
