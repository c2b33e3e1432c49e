"""Dockyard entities as MLflow's protobuf JSON (the shapes ``mlflow/protos/service.proto`` defines).

Plain dicts are built by hand rather than through pydantic: a 25,000-point history page is the hot
path, and these are leaves that orjson serialises directly. Protobuf JSON omits unset fields and
spells non-finite doubles ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final

from dockyard.api.tracking import (
    DatasetInput,
    Experiment,
    LoggedModel,
    LoggedModelStatus,
    Metric,
    Run,
    RunInfo,
)

if TYPE_CHECKING:
    from dockyard.server.tracking import HistoryPoint

__all__ = [
    "ARTIFACT_SCHEME",
    "LOGGED_MODEL_STATUSES",
    "experiment_json",
    "logged_model_json",
    "metrics_json",
    "run_info_json",
    "run_json",
    "to_artifact_uri",
]

#: Runs present their artifact location under this scheme, so the MLflow client sends artifact
#: reads and writes to this server's ``/api/2.0/mlflow-artifacts`` routes.
ARTIFACT_SCHEME: Final = "mlflow-artifacts:/"

#: MLflow's ``LoggedModelStatus`` protobuf names, in number order from 1.
LOGGED_MODEL_STATUSES: Final = {
    LoggedModelStatus.PENDING: "LOGGED_MODEL_PENDING",
    LoggedModelStatus.READY: "LOGGED_MODEL_READY",
    LoggedModelStatus.FAILED: "LOGGED_MODEL_UPLOAD_FAILED",
}


def to_artifact_uri(key: str) -> str:
    """The MLflow artifact URI of a stored artifact-store key (``1/<run>/artifacts``)."""
    return f"{ARTIFACT_SCHEME}{key}"


def _double(value: float) -> float | str:
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def _pairs(items: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in items.items()]


def metrics_json(metrics: Iterable[Metric | HistoryPoint]) -> list[dict[str, Any]]:
    """Metric points; the loop is inlined because 25,000-point history pages pass through here."""
    isfinite = math.isfinite
    return [
        {
            "key": m.key,
            "value": m.value if isfinite(m.value) else _double(m.value),
            "timestamp": m.timestamp,
            "step": m.step,
        }
        for m in metrics
    ]


def experiment_json(experiment: Experiment) -> dict[str, Any]:
    """An experiment, its artifact location under the ``mlflow-artifacts`` scheme."""
    return {
        "experiment_id": experiment.experiment_id,
        "name": experiment.name,
        "artifact_location": to_artifact_uri(experiment.artifact_location),
        "lifecycle_stage": experiment.lifecycle_stage.value,
        "last_update_time": experiment.last_update_time,
        "creation_time": experiment.creation_time,
        "tags": _pairs(experiment.tags),
    }


def run_info_json(info: RunInfo) -> dict[str, Any]:
    """A run's info; ``run_uuid`` repeats ``run_id`` for clients older than MLflow 1.0."""
    body: dict[str, Any] = {
        "run_id": info.run_id,
        "run_uuid": info.run_id,
        "run_name": info.run_name,
        "experiment_id": info.experiment_id,
        "user_id": info.user_id,
        "status": info.status.value,
        "start_time": info.start_time,
        "artifact_uri": to_artifact_uri(info.artifact_uri),
        "lifecycle_stage": info.lifecycle_stage.value,
    }
    if info.end_time is not None:
        body["end_time"] = info.end_time
    return body


def _dataset_input_json(item: DatasetInput) -> dict[str, Any]:
    d = item.dataset
    dataset: dict[str, Any] = {
        "name": d.name,
        "digest": d.digest,
        "source_type": d.source_type,
        "source": d.source,
    }
    if d.schema_ is not None:
        dataset["schema"] = d.schema_
    if d.profile is not None:
        dataset["profile"] = d.profile
    return {"tags": _pairs(item.tags), "dataset": dataset}


def run_json(run: Run) -> dict[str, Any]:
    """A run with its data (latest metric values, params, tags) and dataset inputs."""
    return {
        "info": run_info_json(run.info),
        "data": {
            "metrics": metrics_json(run.metrics.values()),
            "params": _pairs(run.params),
            "tags": _pairs(run.tags),
        },
        "inputs": {
            "dataset_inputs": [_dataset_input_json(i) for i in run.inputs],
            "model_inputs": [{"model_id": m} for m in run.model_inputs],
        },
        "outputs": {
            "model_outputs": [{"model_id": o.model_id, "step": o.step} for o in run.outputs]
        },
    }


def logged_model_json(model: LoggedModel) -> dict[str, Any]:
    """A logged model: its info (with tags) and data (params and linked metrics)."""
    info: dict[str, Any] = {
        "model_id": model.model_id,
        "experiment_id": model.experiment_id,
        "name": model.name,
        "creation_timestamp_ms": model.creation_time,
        "last_updated_timestamp_ms": model.last_updated_time,
        "artifact_uri": to_artifact_uri(model.artifact_location),
        "status": LOGGED_MODEL_STATUSES[model.status],
        "tags": _pairs(model.tags),
    }
    for name in ("model_type", "source_run_id", "status_message"):
        value = getattr(model, name)
        if value is not None:
            info[name] = value
    metrics = []
    for m in model.metrics:
        point: dict[str, Any] = {
            "key": m.key,
            "value": _double(m.value),
            "timestamp": m.timestamp,
            "step": m.step,
            "model_id": model.model_id,
            "run_id": m.run_id,
        }
        if m.dataset_name is not None:
            point["dataset_name"] = m.dataset_name
        if m.dataset_digest is not None:
            point["dataset_digest"] = m.dataset_digest
        metrics.append(point)
    return {"info": info, "data": {"params": _pairs(model.params), "metrics": metrics}}
