"""Where a new version comes from: its run, the run's metrics, and how to copy its files.

Every source form a version can be registered from is decided here, once, with the errors that
name what is wrong with it: an unknown or deleted run, a missing path, an unsupported scheme.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from dockyard.api.registry import ModelVersion, ResolvedModel, VersionFile
from dockyard.api.tracking import LifecycleStage
from dockyard.artifacts import ArtifactStore, open_artifact_store
from dockyard.artifacts.paths import join_artifact_path
from dockyard.errors import DockyardError, InvalidArgument, NotFound
from dockyard.models.uris import (
    MANIFEST,
    LocalRef,
    LoggedModelRef,
    RegistryRef,
    RunRef,
    S3Ref,
    parse_model_uri,
)
from dockyard.server.actor import Actor
from dockyard.server.registry import _package
from dockyard.server.tracking import TrackingService

if TYPE_CHECKING:
    from dockyard.api.tracking import LoggedModel
    from dockyard.server.tracking import LoggedModelService

__all__ = ["Origin", "describe_package", "describe_run_package", "origin_for"]

Metrics = dict[str, float | None]


@dataclass(frozen=True, slots=True)
class Origin:
    """A checked source: the URI recorded, its run and metrics, and a copier into a folder."""

    source: str
    run_id: str | None
    metrics: Metrics
    copy: Callable[[Path], None]
    logged_model_id: str | None = None


def _run(tracking: TrackingService, actor: Actor, run_id: str, source: str) -> tuple[str, Metrics]:
    """The run's artifact prefix and latest metrics; a deleted run is refused."""
    run = tracking.get_run(actor, run_id)
    if run.info.lifecycle_stage is not LifecycleStage.ACTIVE:
        raise InvalidArgument(
            f"run {run_id} is deleted; restore it before registering its model ({source})",
            field="source",
        )
    metrics = {k: None if math.isnan(m.value) else m.value for k, m in run.metrics.items()}
    return run.info.artifact_uri, metrics


def origin_for(
    source: str,
    run_id: str | None,
    *,
    actor: Actor,
    tracking: TrackingService,
    store: ArtifactStore,
    find_version: Callable[[RegistryRef], ModelVersion],
    s3_endpoint_url: str | None,
    logged_models: LoggedModelService | None = None,
    logged_model_id: str | None = None,
) -> Origin:
    """Check ``source`` (and ``run_id``, for sources that are not runs) and say how to copy it.

    Args:
        source: The URI to register from.
        run_id: The producing run, for ``s3://``, local or ``models:/`` sources.
        actor: Who registers: they must be allowed to read the source run.
        tracking: Runs, for their artifact folder, metrics and lifecycle.
        store: The artifact store (run artifacts and registry copies).
        find_version: Resolves a ``models:/`` reference to a ready version.
        s3_endpoint_url: Endpoint of an S3-compatible server for ``s3://`` sources.
        logged_models: Logged models, for ``models:/<model_id>`` sources.
        logged_model_id: The logged model the source is, when the client says so; it must
            match a ``models:/<model_id>`` source.

    Raises:
        NotFound: The run, model, version or alias does not exist.
        InvalidArgument: A malformed URI, a deleted run, a relative local path, or a
            ``run_id`` (``logged_model_id``) that contradicts a ``runs:/`` (``models:/``) source.
    """
    ref = parse_model_uri(source, "source")
    if logged_model_id is not None and (
        not isinstance(ref, LoggedModelRef) or ref.model_id != logged_model_id
    ):
        raise InvalidArgument(
            f"model_id {logged_model_id} contradicts the source {source}", field="model_id"
        )
    if isinstance(ref, RunRef):
        if run_id is not None and run_id != ref.run_id:
            raise InvalidArgument(
                f"run_id {run_id} contradicts the source's run {ref.run_id}", field="run_id"
            )
        prefix, metrics = _run(tracking, actor, ref.run_id, source)
        key = f"{prefix}/{ref.path}" if ref.path else prefix
        logged = _logged_instead(store, key, ref, actor, logged_models)
        if logged is not None:
            # MLflow 3 keeps a run's model as a logged model named like the path: register that.
            model_key = logged.artifact_location
            return Origin(
                f"runs:/{ref.run_id}/{ref.path}",
                ref.run_id,
                metrics,
                lambda dest: _package.download_prefix(store, model_key, dest, source),
                logged.model_id,
            )
        return Origin(
            f"runs:/{ref.run_id}/{ref.path}",
            ref.run_id,
            metrics,
            lambda dest: _package.download_prefix(store, key, dest, source),
        )
    if isinstance(ref, LoggedModelRef):
        if logged_models is None:
            raise NotFound(f"{source}: this server keeps no logged models", field="source")
        model = logged_models.get(actor, ref.model_id)
        producer = run_id or model.source_run_id
        metrics = {}
        if producer is not None:
            try:
                metrics = _run(tracking, actor, producer, source)[1]
            except NotFound:
                if run_id is not None:
                    raise
        files = model.artifact_location
        return Origin(
            source,
            producer,
            metrics,
            lambda dest: _package.download_prefix(store, files, dest, source),
            model.model_id,
        )
    given: Metrics = _run(tracking, actor, run_id, source)[1] if run_id is not None else {}
    if isinstance(ref, RegistryRef):
        found = find_version(ref)
        storage = found.storage_location
        return Origin(
            found.uri,
            run_id or found.run_id,
            given if run_id is not None else found.metrics,
            lambda dest: _package.download_prefix(store, storage, dest, source),
        )
    if isinstance(ref, S3Ref):
        bucket = open_artifact_store(f"s3://{ref.bucket}", s3_endpoint_url=s3_endpoint_url)
        key = ref.key
        return Origin(source, run_id, given, lambda dest: _copy_s3(bucket, key, dest, source))
    assert isinstance(ref, LocalRef)
    if not ref.path.is_absolute():
        raise InvalidArgument(
            f"{source}: a local source must be an absolute path on the server", field="source"
        )
    folder = ref.path
    return Origin(source, run_id, given, lambda dest: _package.copy_local(folder, dest, source))


def _copy_s3(bucket: ArtifactStore, key: str, dest: Path, source: str) -> None:
    """Copy an ``s3://`` source the user named; what stops the server reading it (no
    credentials, access refused, an endpoint it cannot reach) is the source's problem, answered
    4xx: a 5xx would have clients retry for minutes a request that cannot succeed."""
    try:
        _package.download_prefix(bucket, key, dest, source)
    except (InvalidArgument, NotFound):
        raise
    except DockyardError as exc:
        raise InvalidArgument(
            f"cannot read {source}: {exc.message} (register from a location this server can "
            "read, or upload the package to a run first)",
            field="source",
        ) from exc


def _logged_instead(
    store: ArtifactStore,
    key: str,
    ref: RunRef,
    actor: Actor,
    logged_models: LoggedModelService | None,
) -> LoggedModel | None:
    """The logged model ``runs:/<run>/<path>`` means when the run holds no files at ``path``
    (MLflow 3 logs a run's model as a logged model of that name, not into the run's folder)."""
    if logged_models is None or not ref.path or "/" in ref.path:
        return None
    if store.list(key):
        return None
    return logged_models.find_by_run(actor, ref.run_id, ref.path)


def describe_run_package(store: ArtifactStore, prefix: str, ref: RunRef, uri: str) -> ResolvedModel:
    """The files of the package in a run's artifacts and the digest of its manifest as it is now.

    Args:
        store: The artifact store.
        prefix: The run's artifact prefix.
        ref: The parsed ``runs:/`` URI.
        uri: The URI as given (echoed, and named in errors).

    Raises:
        NotFound: The folder holds no ``MLmodel``.
    """
    key = join_artifact_path(prefix, ref.path)
    base = f"/api/v1/runs/{ref.run_id}/artifacts"
    return describe_package(
        store,
        key,
        uri,
        kind="run",
        files_url=f"{base}/{quote(ref.path)}" if ref.path else base,
        run_id=ref.run_id,
    )


def describe_package(
    store: ArtifactStore, key: str, uri: str, *, kind: str, files_url: str, run_id: str | None
) -> ResolvedModel:
    """The files of the package in folder ``key`` and the digest of its manifest as it is now.

    Raises:
        NotFound: The folder holds no ``MLmodel``.
    """
    from dockyard.models import package_digest

    cut = len(key) + 1
    files = [
        VersionFile(path=e.path[cut:], is_dir=False, size=e.size)
        for e in store.list(key, recursive=True)
    ]
    if not any(f.path == MANIFEST for f in files):
        raise NotFound(f"{uri} is not a model package: it has no {MANIFEST}", field="uri")
    with store.open_read(f"{key}/{MANIFEST}") as handle:
        digest = package_digest(handle.read(1 << 20))
    return ResolvedModel(
        uri=uri, kind=kind, digest=digest, files=files, files_url=files_url, run_id=run_id
    )
