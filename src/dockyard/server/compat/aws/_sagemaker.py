"""``SageMaker.*`` (JSON 1.1): SageMaker's control plane over Dockyard's jobs, registry and
endpoints, so ``boto3.client("sagemaker")`` and the SageMaker Python SDK work against the server.

One module per resource, each with its ``ACTIONS``:

    _sagemaker_training.py   training jobs (the built-in algorithms' images)
    _sagemaker_models.py     models (registered models)
    _sagemaker_endpoints.py  endpoint configs (kept as parameters) and endpoints
    _sagemaker_transform.py  transform jobs
    _sagemaker_processing.py processing jobs (the model monitor's baselining job)
    _sagemaker_job_definitions.py  data-quality job definitions
    _sagemaker_monitoring.py monitoring schedules and their executions
    _sagemaker_deployment.py an endpoint update's DeploymentConfig as a rollout policy
    _sagemaker_tuning.py     hyperparameter tuning jobs and their trials
    _sagemaker_packages.py   model package groups and packages (the registry, approval)
    _sagemaker_tags.py       ListTags
    _sagemaker_shapes.py     ARNs, AWS's "Could not find" errors, images, tags

Every name is the Dockyard resource's name: a TrainingJobName is the job's, an EndpointName the
endpoint's, so the native API, the CLI and the other adapters find them by it.
"""

from __future__ import annotations

from typing import Any

from dockyard.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from dockyard.server.compat.aws import (
    _sagemaker_endpoints,
    _sagemaker_job_definitions,
    _sagemaker_models,
    _sagemaker_monitoring,
    _sagemaker_packages,
    _sagemaker_processing,
    _sagemaker_tags,
    _sagemaker_training,
    _sagemaker_transform,
    _sagemaker_tuning,
)
from dockyard.server.compat.aws._codes import translated

__all__ = ["ACTIONS", "CONTENT_TYPE"]

CONTENT_TYPE = "application/x-amz-json-1.1"

#: SageMaker answers a bad or unknown name alike, with ValidationException; a name in use (a
#: job, or a model an endpoint still serves) is ResourceInUse.
ACTIONS: dict[str, Any] = translated(
    {
        **_sagemaker_training.ACTIONS,
        **_sagemaker_models.ACTIONS,
        **_sagemaker_endpoints.ACTIONS,
        **_sagemaker_transform.ACTIONS,
        **_sagemaker_processing.ACTIONS,
        **_sagemaker_job_definitions.ACTIONS,
        **_sagemaker_monitoring.ACTIONS,
        **_sagemaker_tuning.ACTIONS,
        **_sagemaker_packages.ACTIONS,
        **_sagemaker_tags.ACTIONS,
    },
    {
        InvalidArgument: "ValidationException",
        NotFound: "ValidationException",
        Conflict: "ResourceInUse",
        PermissionDenied: "AccessDeniedException",
    },
)
