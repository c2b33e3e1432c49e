"""Lineage: a version, the run that produced it, the data that run read, the code it ran."""

from __future__ import annotations

from dockyard.api.registry import CodeVersion, Lineage, LineageDataset, LineageRun, ModelVersion
from dockyard.errors import NotFound, PermissionDenied
from dockyard.server.actor import Actor
from dockyard.server.tracking import TrackingService

__all__ = ["GIT_COMMIT_TAG", "GIT_DIRTY_TAG", "SOURCE_NAME_TAG", "build_lineage"]

# Set by the SDK when a run starts (MLflow's names, plus Dockyard's dirty flag).
GIT_COMMIT_TAG = "mlflow.source.git.commit"
GIT_DIRTY_TAG = "dockyard.source.git.dirty"
SOURCE_NAME_TAG = "mlflow.source.name"
_CONTEXT_TAG = "mlflow.data.context"


def _flag(value: str | None) -> bool | None:
    if value is None:
        return None
    return value.strip().lower() == "true"


def build_lineage(version: ModelVersion, tracking: TrackingService, actor: Actor) -> Lineage:
    """The lineage of ``version``; without a run (or once it is gone) only the version."""
    if version.run_id is None:
        return Lineage(model_version=version)
    try:
        run = tracking.get_run(actor, version.run_id)
    except (NotFound, PermissionDenied):  # a run the reader may not see is left out
        return Lineage(model_version=version)
    info = run.info
    datasets = [
        LineageDataset(
            name=item.dataset.name,
            digest=item.dataset.digest,
            source_type=item.dataset.source_type,
            source=item.dataset.source,
            context=item.tags.get(_CONTEXT_TAG),
        )
        for item in run.inputs
    ]
    tags = run.tags
    code = None
    if GIT_COMMIT_TAG in tags or SOURCE_NAME_TAG in tags:
        code = CodeVersion(
            git_commit=tags.get(GIT_COMMIT_TAG),
            git_dirty=_flag(tags.get(GIT_DIRTY_TAG)),
            source_name=tags.get(SOURCE_NAME_TAG),
        )
    return Lineage(
        model_version=version,
        run=LineageRun(
            run_id=info.run_id,
            run_name=info.run_name,
            experiment_id=info.experiment_id,
            status=info.status.value,
            lifecycle_stage=info.lifecycle_stage.value,
            user_id=info.user_id,
            start_time=info.start_time,
            end_time=info.end_time,
            params=run.params,
        ),
        datasets=datasets,
        code=code,
    )
