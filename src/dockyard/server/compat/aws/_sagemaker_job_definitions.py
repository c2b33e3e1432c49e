"""Data-quality job definitions: Create / Describe / Delete / List, kept as parameters
(``/sagemaker/data-quality-job-definitions/<name>``, the request as JSON) like endpoint configs,
and what a monitoring schedule takes from one (named or inline): the endpoint it watches and
the folder of its baseline. The schedules themselves are
:mod:`~dockyard.server.compat.aws._sagemaker_monitoring`'s.
"""

from __future__ import annotations

from typing import Any

import orjson

from dockyard.api.params import PutParameter
from dockyard.errors import DockyardError, InvalidArgument, NotFound
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.compat.aws._errors import AwsError
from dockyard.server.compat.aws._fields import optional, required, seconds
from dockyard.server.compat.aws._sagemaker_shapes import (
    Body,
    aws_fields,
    drop_none,
    sagemaker_arn,
    tag_list,
)

__all__ = ["ACTIONS", "DATA_QUALITY", "definition_of", "missing", "output_of", "stored"]

DEFINITIONS = "/sagemaker/data-quality-job-definitions/"
DATA_QUALITY = "DataQuality"
_CONFIG = "MonitoringScheduleConfig"


def missing(what: str, kind: str, name: str) -> AwsError:
    """SageMaker's answer for an unknown monitoring resource: ResourceNotFound (the SDK's
    ``delete_monitoring_schedule()`` waits for it), not ValidationException."""
    return AwsError("ResourceNotFound", f'Could not find {what} "{sagemaker_arn(kind, name)}".')


def stored(services: Services, actor: Actor, path: str) -> tuple[Body, int] | None:
    try:
        found = services.params.get(actor, path)
    except (NotFound, InvalidArgument):
        return None
    return orjson.loads(found.value or "{}"), found.modified_time


def _endpoint_input(job_input: Any, field: str) -> str:
    if not isinstance(job_input, dict):
        raise InvalidArgument(f"{field} must be an object", field=field)
    if job_input.get("BatchTransformInput"):
        raise InvalidArgument(
            f"{field}.BatchTransformInput is not supported by Dockyard yet: watch an endpoint",
            field=f"{field}.BatchTransformInput",
        )
    endpoint = job_input.get("EndpointInput")
    if not isinstance(endpoint, dict):
        raise InvalidArgument(
            f"{field}.EndpointInput must be given", field=f"{field}.EndpointInput"
        )
    name: str = required(endpoint, "EndpointName")
    return name


def _baseline_uri(baseline: Any, field: str) -> str:
    """The folder holding ``statistics.json`` and ``constraints.json``."""
    if not isinstance(baseline, dict):
        raise InvalidArgument(
            f"{field}: Dockyard checks against a baseline: give StatisticsResource and "
            "ConstraintsResource",
            field=field,
        )
    folders = set()
    for resource, file in (
        ("StatisticsResource", "statistics.json"),
        ("ConstraintsResource", "constraints.json"),
    ):
        where = f"{field}.{resource}"
        given = baseline.get(resource)
        uri = given.get("S3Uri") if isinstance(given, dict) else None
        if not isinstance(uri, str) or not uri:
            raise InvalidArgument(f"{where}.S3Uri must be given", field=where)
        folder, _, name = uri.rstrip("/").rpartition("/")
        if name != file:
            raise InvalidArgument(
                f"{where}.S3Uri: Dockyard reads {file} (as suggest_baseline writes it), "
                f"not {name!r}",
                field=where,
            )
        folders.add(folder)
    if len(folders) != 1:
        raise InvalidArgument(
            f"{field}: statistics.json and constraints.json must be in one folder", field=field
        )
    return folders.pop()


def _check_scripts(app: Any, field: str) -> None:
    if not isinstance(app, dict):
        return
    for script in ("RecordPreprocessorSourceUri", "PostAnalyticsProcessorSourceUri"):
        if app.get(script):
            raise InvalidArgument(
                f"{field}.{script} is not supported by Dockyard yet", field=f"{field}.{script}"
            )


def create_job_definition(services: Services, actor: Actor, body: Body) -> Body:
    name = required(body, "JobDefinitionName")
    _endpoint_input(required(body, "DataQualityJobInput", dict), "DataQualityJobInput")
    required(body, "DataQualityJobOutputConfig", dict)
    _check_scripts(body.get("DataQualityAppSpecification"), "DataQualityAppSpecification")
    if body.get("DataQualityBaselineConfig") is not None:
        _baseline_uri(body["DataQualityBaselineConfig"], "DataQualityBaselineConfig")
    tag_list(body.get("Tags"))
    try:
        services.params.put(
            actor, PutParameter(name=DEFINITIONS + name, value=orjson.dumps(body).decode())
        )
    except DockyardError as exc:
        if exc.status_code == 409:
            raise AwsError("ResourceInUse", f"Job definition {name!r} already exists") from None
        aws_fields(exc, {"name": "JobDefinitionName", "value": "DataQualityJobInput"})
    return {"JobDefinitionArn": sagemaker_arn("data-quality-job-definition", name)}


def _definition(services: Services, actor: Actor, name: str) -> tuple[Body, int]:
    found = stored(services, actor, DEFINITIONS + name)
    if found is None:
        raise missing("job definition", "data-quality-job-definition", name)
    return found


def describe_job_definition(services: Services, actor: Actor, body: Body) -> Body:
    name = required(body, "JobDefinitionName")
    stored, modified = _definition(services, actor, name)
    stored.pop("Tags", None)
    return {
        **stored,
        "JobDefinitionArn": sagemaker_arn("data-quality-job-definition", name),
        "CreationTime": seconds(modified),
    }


def delete_job_definition(services: Services, actor: Actor, body: Body) -> Body:
    name = required(body, "JobDefinitionName")
    try:
        services.params.delete(actor, DEFINITIONS + name)
    except (NotFound, InvalidArgument):
        raise missing("job definition", "data-quality-job-definition", name) from None
    return {}


def list_job_definitions(services: Services, actor: Actor, body: Body) -> Body:
    limit = optional(body, "MaxResults", int, 10)
    if not 1 <= limit <= 50:
        raise InvalidArgument("MaxResults must be between 1 and 50", field="MaxResults")
    contains = (optional(body, "NameContains") or "").lower()
    endpoint = optional(body, "EndpointName")
    found = services.params.get_by_path(
        actor, DEFINITIONS.rstrip("/"), max_results=limit, page_token=optional(body, "NextToken")
    )
    summaries = []
    for parameter in found.parameters:
        name = parameter.name.removeprefix(DEFINITIONS)
        stored = orjson.loads(parameter.value or "{}")
        watched = (stored.get("DataQualityJobInput") or {}).get("EndpointInput") or {}
        if contains not in name.lower():
            continue
        if endpoint is not None and watched.get("EndpointName") != endpoint:
            continue
        summaries.append(
            drop_none(
                {
                    "MonitoringJobDefinitionName": name,
                    "MonitoringJobDefinitionArn": sagemaker_arn(
                        "data-quality-job-definition", name
                    ),
                    "CreationTime": seconds(parameter.modified_time),
                    "EndpointName": watched.get("EndpointName"),
                }
            )
        )
    return drop_none({"JobDefinitionSummaries": summaries, "NextToken": found.next_page_token})


def definition_of(services: Services, actor: Actor, config: Body) -> tuple[str, str]:
    """(endpoint, baseline folder) of a schedule config's definition, named or inline."""
    kind = config.get("MonitoringType") or DATA_QUALITY
    if kind != DATA_QUALITY:
        raise InvalidArgument(
            f"{_CONFIG}.MonitoringType: {kind!r} is not supported by Dockyard yet "
            f"(only {DATA_QUALITY})",
            field=f"{_CONFIG}.MonitoringType",
        )
    named = config.get("MonitoringJobDefinitionName")
    if named is not None:
        stored, _ = _definition(services, actor, str(named))
        return (
            _endpoint_input(stored.get("DataQualityJobInput"), "DataQualityJobInput"),
            _baseline_uri(stored.get("DataQualityBaselineConfig"), "DataQualityBaselineConfig"),
        )
    field = f"{_CONFIG}.MonitoringJobDefinition"
    inline = config.get("MonitoringJobDefinition")
    if not isinstance(inline, dict):
        raise InvalidArgument(
            f"{_CONFIG}: give MonitoringJobDefinitionName or MonitoringJobDefinition",
            field=_CONFIG,
        )
    _check_scripts(inline.get("MonitoringAppSpecification"), f"{field}.MonitoringAppSpecification")
    inputs = inline.get("MonitoringInputs")
    if not isinstance(inputs, list) or len(inputs) != 1:
        raise InvalidArgument(
            f"{field}.MonitoringInputs must hold one input", field=f"{field}.MonitoringInputs"
        )
    return (
        _endpoint_input(inputs[0], f"{field}.MonitoringInputs[0]"),
        _baseline_uri(inline.get("BaselineConfig"), f"{field}.BaselineConfig"),
    )


def output_of(services: Services, actor: Actor, config: Body) -> str | None:
    """The S3 URI a schedule config's definition (named or inline) sends its reports to, if it
    names one (SageMaker's ``MonitoringOutputs[0].S3Output.S3Uri``)."""
    named = config.get("MonitoringJobDefinitionName")
    if named is not None:
        output = _definition(services, actor, str(named))[0].get("DataQualityJobOutputConfig")
    else:
        output = (config.get("MonitoringJobDefinition") or {}).get("MonitoringOutputConfig")
    outputs = output.get("MonitoringOutputs") if isinstance(output, dict) else None
    first = outputs[0] if isinstance(outputs, list) and outputs else None
    target = first.get("S3Output") if isinstance(first, dict) else None
    uri = target.get("S3Uri") if isinstance(target, dict) else None
    return uri if isinstance(uri, str) and uri else None


ACTIONS: dict[str, Any] = {
    "CreateDataQualityJobDefinition": create_job_definition,
    "DescribeDataQualityJobDefinition": describe_job_definition,
    "DeleteDataQualityJobDefinition": delete_job_definition,
    "ListDataQualityJobDefinitions": list_job_definitions,
}
