"""The integrations this server runs, in one table (see :mod:`._tasks`)."""

from __future__ import annotations

from typing import Any

from dockyard.server.pipelines import _task_jobs, _task_messages
from dockyard.server.pipelines._task_functions import INVOKE, PREFIXES, FunctionTask
from dockyard.server.pipelines._tasks import Integrations
from dockyard.settings import Settings

__all__ = ["catalog"]


def catalog(
    settings: Settings,
    *,
    jobs: Any,
    transform_root: str,
    notifications: Any,
    params: Any,
    registry: Any = None,
    endpoints: Any = None,
    tracking: Any = None,
    tuning: Any = None,
    sagemaker: Any = None,
    sagemaker_training: Any = None,
    sagemaker_transform: Any = None,
    sagemaker_tuning: Any = None,
    sagemaker_answers: Any = None,
) -> Integrations:
    """Every resource base this server knows, mapped to what runs it. ``sagemaker`` runs
    SageMaker's own requests as the server's API does (a ``SageMakerRequests``): given,
    createModel and createEndpointConfig run. ``sagemaker_training``, ``sagemaker_transform``
    and ``sagemaker_tuning`` read CreateTrainingJob's and CreateTransformJob's requests and a
    tuning job's SageMaker-shaped training job definition as that API reads them
    (``SageMakerTraining``, ``SageMakerTransform``, ``SageMakerTuning``); with
    ``sagemaker_answers`` (whether that API answers an action), ``aws-sdk:sagemaker:<action>``
    runs any of its actions."""
    table = Integrations()
    table.add(
        _task_jobs.JobTask(jobs, transform_root, tracking, sagemaker_training, sagemaker_transform),
        *_task_jobs.TRAIN,
        *_task_jobs.TRANSFORM,
    )
    table.add(FunctionTask(settings), INVOKE, prefixes=PREFIXES)
    table.add(_task_messages.PublishTask(notifications), *_task_messages.PUBLISH)
    table.add(
        _task_messages.ParameterTask(params),
        _task_messages.GET_PARAMETER,
        _task_messages.PUT_PARAMETER,
    )
    if registry is not None:
        from dockyard.server.pipelines._task_models import ACTIONS, ModelTask

        table.add(ModelTask(registry), *ACTIONS)
    if endpoints is not None:
        from dockyard.server.pipelines._task_endpoints import DEPLOY, EndpointTask

        table.add(EndpointTask(endpoints, sagemaker), *DEPLOY)
    if sagemaker is not None:
        from dockyard.server.pipelines._task_sagemaker import SAGEMAKER, SageMakerTask

        table.add(SageMakerTask(sagemaker), *SAGEMAKER)
        if sagemaker_answers is not None:
            from dockyard.server.pipelines._task_sagemaker import SDK_PREFIX, SageMakerSdkTask

            table.add(SageMakerSdkTask(sagemaker, sagemaker_answers), prefixes=(SDK_PREFIX,))
    if tuning is not None:
        from dockyard.server.pipelines._task_tuning import TUNE, TuningTask

        table.add(TuningTask(tuning, sagemaker_tuning), *TUNE)
    return table
