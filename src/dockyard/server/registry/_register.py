"""Registering a version: copy, verify, number, upload, then mark it ready.

The copy and the check happen before a number is taken, so a refused package leaves no trace.
The upload happens outside any database transaction (it can take minutes, and SQLite would hold
every other writer meanwhile); until it completes the version is ``PENDING_REGISTRATION``, which
no URI or alias resolves to. A failed upload removes the row and the files; the number is not
reused. A version recorded as a reference (:func:`register_reference`, for MLflow's clients)
copies nothing and has no files.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import orjson
from sqlalchemy import Connection

from dockyard.api.registry import ApprovalStatus, CreateModelVersion, ModelVersion, VersionStatus
from dockyard.artifacts import ArtifactStore
from dockyard.server.actor import Actor
from dockyard.server.events import EventLog
from dockyard.server.registry import _package
from dockyard.server.registry._origins import Origin
from dockyard.server.registry._repository import RegistryRepository
from dockyard.server.store import Database
from dockyard.server.tracking import now_ms

__all__ = ["REGISTRY_PREFIX", "register", "register_reference"]

#: Where registered packages live in the artifact store.
REGISTRY_PREFIX = "registry"


def register(
    db: Database,
    repo: RegistryRepository,
    store: ArtifactStore,
    name: str,
    request: CreateModelVersion,
    origin: Origin,
    actor: Actor,
    events: EventLog,
    *,
    link: Callable[[Connection, str, str, int], None] | None = None,
) -> ModelVersion:
    """Register what ``origin`` copies as the next version of model ``name``; the version and
    its ``model_version.created`` event commit together once its files are in place.

    ``link(conn, logged_model_id, name, version)`` notes the new version on the logged model it
    came from, in that same transaction."""
    with tempfile.TemporaryDirectory(prefix="dockyard-register-") as tmp:
        staging = Path(tmp) / "model"
        staging.mkdir()
        origin.copy(staging)
        facts = _package.inspect(staging, request.source)
        now = now_ms()
        with db.write() as conn:
            model_id = repo.model_id(conn, name)
            version = repo.allocate_version(conn, model_id)
            storage = f"{REGISTRY_PREFIX}/{model_id}/{version}"
            signature = facts.signature
            repo.insert_version(
                conn,
                {
                    "model_id": model_id,
                    "version": version,
                    "source": origin.source,
                    "run_id": origin.run_id,
                    "logged_model_id": origin.logged_model_id,
                    "storage_location": storage,
                    "digest": facts.digest,
                    "flavor": facts.flavor,
                    "library_version": facts.library_version,
                    "signature": None if signature is None else orjson.dumps(signature).decode(),
                    "metrics": orjson.dumps(origin.metrics).decode(),
                    "sealed_by_registry": facts.sealed_by_registry,
                    "description": request.description,
                    "status": VersionStatus.PENDING_REGISTRATION.value,
                    "approval_status": ApprovalStatus.PENDING.value,
                    "created_by": actor.name,
                    "creation_time": now,
                    "last_updated_time": now,
                },
            )
            repo.set_version_tags(conn, model_id, version, {t.key: t.value for t in request.tags})
        try:
            _package.upload(staging, store, storage)
        except BaseException:
            with db.write() as conn:
                repo.delete_version(conn, model_id, version)
            store.delete(storage)
            raise
    with db.write() as conn:
        repo.update_version(conn, model_id, version, status=VersionStatus.READY.value)
        repo.update_model(conn, model_id, last_updated_time=now_ms())
        created = repo.get_version(conn, model_id, name, version)
        if link is not None and origin.logged_model_id is not None:
            link(conn, origin.logged_model_id, name, version)
        events.append(
            conn,
            actor,
            "model_version.created",
            "model_version",
            f"{name}/{version}",
            scope=f"registered_model:{model_id}",
            body={
                "source": created.source,
                "run_id": created.run_id,
                "logged_model_id": created.logged_model_id,
                "digest": created.digest,
            },
        )
        return created


def register_reference(
    db: Database,
    repo: RegistryRepository,
    name: str,
    request: CreateModelVersion,
    refers_to: str,
    actor: Actor,
    events: EventLog,
    *,
    run_id: str | None,
    logged_model_id: str | None,
    link: Callable[[Connection, str, str, int], None] | None = None,
) -> ModelVersion:
    """Record the next version of ``name`` as a reference to ``refers_to``, copying nothing.

    The version is ``READY`` at once, with no digest and no files: its ``storage_location`` is
    the URI it refers to (what MLflow's clients get as its download URI).
    """
    now = now_ms()
    with db.write() as conn:
        model_id = repo.model_id(conn, name)
        version = repo.allocate_version(conn, model_id)
        repo.insert_version(
            conn,
            {
                "model_id": model_id,
                "version": version,
                "source": request.source,
                "run_id": run_id,
                "logged_model_id": logged_model_id,
                "storage_location": refers_to,
                "digest": "",
                "flavor": "",
                "library_version": None,
                "signature": None,
                "metrics": "{}",
                "sealed_by_registry": False,
                "description": request.description,
                "status": VersionStatus.READY.value,
                "approval_status": ApprovalStatus.PENDING.value,
                "created_by": actor.name,
                "creation_time": now,
                "last_updated_time": now,
            },
        )
        repo.set_version_tags(conn, model_id, version, {t.key: t.value for t in request.tags})
        repo.update_model(conn, model_id, last_updated_time=now)
        created = repo.get_version(conn, model_id, name, version)
        if link is not None and logged_model_id is not None:
            link(conn, logged_model_id, name, version)
        events.append(
            conn,
            actor,
            "model_version.created",
            "model_version",
            f"{name}/{version}",
            scope=f"registered_model:{model_id}",
            body={"source": request.source, "run_id": run_id, "reference": refers_to},
        )
        return created
