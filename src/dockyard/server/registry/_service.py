"""Registry rules: models, immutable versions, aliases, approval. Routes and adapters call this.

Registering a version copies the source package into the registry's own area of the artifact
store (``registry/<model id>/<version>/``), after verifying the copy, and records its digest: a
version never changes, whatever later happens to the run or folder it came from. The key uses the
model's internal id rather than its name so that a rename, or a new model taking a deleted one's
name, can never point at another model's files.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from urllib.parse import quote

from sqlalchemy import Connection

from dockyard.api.registry import (
    Approval,
    CreateModelVersion,
    CreateRegisteredModel,
    Lineage,
    ModelVersion,
    RegisteredModel,
    ResolvedModel,
    SetApproval,
    VersionFile,
    VersionStatus,
    check_alias,
    check_model_name,
    parse_version,
)
from dockyard.artifacts import ArtifactStore
from dockyard.artifacts.paths import join_artifact_path, normalize_artifact_path
from dockyard.artifacts.roots import AllowedRoots
from dockyard.errors import InvalidArgument, NotFound, PermissionDenied
from dockyard.models.uris import LoggedModelRef, RegistryRef, RunRef, parse_model_uri
from dockyard.server.actor import Actor, Level, Role
from dockyard.server.auth import Access, StoreAreas
from dockyard.server.events import EventLog
from dockyard.server.registry._in_use import ModelUsers, pinned_version, refuse_if_served
from dockyard.server.registry._lineage import build_lineage
from dockyard.server.registry._origins import describe_package, describe_run_package, origin_for
from dockyard.server.registry._register import REGISTRY_PREFIX, register, register_reference
from dockyard.server.registry._repository import RegistryRepository
from dockyard.server.registry._search import search_offset, search_page
from dockyard.server.store import Database
from dockyard.server.tracking import (
    LoggedModelService,
    Page,
    TrackingService,
    now_ms,
)

__all__ = ["RegistryService"]

_KIND = "registered_model"
#: A version's folder in the registry's keys: a number the database holds (``str.isdigit``
#: also takes "²" and digits no integer column stores, and the lookup failed as a 500).
_VERSION_DIGITS = re.compile(r"[1-9][0-9]{0,8}")
#: MLflow's (deprecated) model-version stages.
STAGES = ("None", "Staging", "Production", "Archived")


class RegistryService:
    """Registered models and their versions over the metadata database and artifact store.

    Every method takes the acting :class:`~dockyard.server.auth.Actor` first; permissions are
    checked on the registered model (``read`` to see it, ``edit`` to register versions, tag, move
    aliases and approve, ``manage`` to delete or rename) and each change is appended to the
    event log in its transaction.

    Args:
        db: The metadata database.
        tracking: The tracking service (runs, for sources and lineage).
        artifacts: The artifact store holding run artifacts and registry copies.
        events: The event log.
        access: The permission rules.
        roots: Where ``s3://`` and folder sources may lie (None: anywhere, for tests).
        s3_endpoint_url: Endpoint of an S3-compatible server, for ``s3://`` sources.
        logged_models: MLflow 3 logged models, for ``models:/<model_id>`` URIs and sources.
        model_users: The models endpoints serve: a version one serves cannot be deleted
            (see :mod:`dockyard.server.registry._in_use`).
    """

    def __init__(
        self,
        db: Database,
        tracking: TrackingService,
        artifacts: ArtifactStore,
        events: EventLog,
        access: Access,
        *,
        roots: AllowedRoots | None = None,
        s3_endpoint_url: str | None = None,
        logged_models: LoggedModelService | None = None,
        model_users: ModelUsers | None = None,
    ) -> None:
        self._db = db
        self._logged_models = logged_models
        self._model_users = model_users
        self._tracking = tracking
        self._artifacts = artifacts
        self._events = events
        self._access = access
        self._roots = roots
        self._areas = StoreAreas(access)
        self._s3_endpoint_url = s3_endpoint_url
        self._repo = RegistryRepository()

    # -- permissions and events -----------------------------------------------------------------

    def _model(self, conn: Connection, actor: Actor, name: str, level: Level, what: str) -> str:
        """The model's id, once ``actor`` is known to hold ``level`` on it."""
        model_id = self._repo.model_id(conn, name)
        self._access.require(conn, actor, level, _KIND, model_id, what)
        return model_id

    def _event(
        self,
        conn: Connection,
        actor: Actor,
        type: str,
        model_id: str,
        resource: str,
        body: dict[str, object] | None = None,
    ) -> None:
        kind = type.split(".", 1)[0]
        self._events.append(
            conn, actor, type, kind, resource, scope=f"{_KIND}:{model_id}", body=body
        )

    # -- registered models --------------------------------------------------------------------

    def create_registered_model(
        self, actor: Actor, request: CreateRegisteredModel
    ) -> RegisteredModel:
        """Create an empty registered model; its name must be new. Its creator owns it."""
        model_id = uuid.uuid4().hex
        with self._db.write() as conn:
            if actor.job is not None and actor.job.register_as == request.name:
                self._access.require_registration(conn, actor, None, "create registered models")
            else:
                self._access.require_role(actor, Role.MEMBER, "create registered models")
            self._repo.create_model(
                conn,
                model_id=model_id,
                name=request.name,
                description=request.description,
                now=now_ms(),
            )
            self._repo.set_model_tags(conn, model_id, {t.key: t.value for t in request.tags})
            if actor.job is not None and actor.user_id is not None:
                # A job registering into a new model: its submitter owns it.
                self._access.grant(conn, _KIND, model_id, str(actor.user_id), Level.MANAGE)
            else:
                self._access.own(conn, actor, _KIND, model_id)
            self._event(conn, actor, "registered_model.created", model_id, request.name)
            return self._repo.get_models(conn, [model_id])[0]

    def get_registered_model(self, actor: Actor, name: str) -> RegisteredModel:
        """A model with its tags, aliases and latest version number."""
        with self._db.read() as conn:
            model_id = self._model(conn, actor, name, Level.READ, "read it")
            return self._repo.get_models(conn, [model_id])[0]

    def search_registered_models(
        self,
        actor: Actor,
        *,
        name_like: str | None = None,
        name: str | None = None,
        filter: str = "",
        order_by: Sequence[str] = (),
        max_results: int = 100,
        page_token: str | None = None,
    ) -> Page[RegisteredModel]:
        """Models ordered by name; ``name_like`` is a case-insensitive SQL LIKE pattern.

        ``filter`` and ``order_by`` take MLflow's syntax (``name``, ``tags.<key>``; ordering by
        ``name``, ``creation_timestamp``, ``last_updated_timestamp``): see
        :mod:`dockyard.server.registry._search`.
        """
        offset = search_offset(max_results, page_token)
        with self._db.read() as conn:
            ids = self._repo.search_models(
                conn,
                name_like=name_like,
                exact=name,
                limit=max_results + 1,
                offset=offset,
                only=self._access.readable(conn, actor, _KIND),
                filter=filter,
                order_by=order_by,
            )
            return search_page(self._repo.get_models(conn, ids), max_results, offset)

    def update_registered_model(self, actor: Actor, name: str, description: str) -> RegisteredModel:
        """Replace a model's description."""
        with self._db.write() as conn:
            model_id = self._model(conn, actor, name, Level.EDIT, "describe it")
            self._repo.update_model(
                conn, model_id, description=description, last_updated_time=now_ms()
            )
            self._event(conn, actor, "registered_model.updated", model_id, name)
            return self._repo.get_models(conn, [model_id])[0]

    def rename_registered_model(self, actor: Actor, name: str, new_name: str) -> RegisteredModel:
        """Rename a model; its versions, aliases, files and grants stay with it.

        Raises:
            InUse: An endpoint serves one of its versions: endpoints name their models by
                name, so theirs would stop resolving (the message names them).
        """
        check_model_name(new_name, "new_name")
        with self._db.write() as conn:
            model_id = self._model(conn, actor, name, Level.MANAGE, "rename it")
            refuse_if_served(conn, self._repo, self._model_users, model_id, name, action="rename")
            self._repo.update_model(conn, model_id, name=new_name, last_updated_time=now_ms())
            self._event(
                conn, actor, "registered_model.renamed", model_id, new_name, {"old_name": name}
            )
            return self._repo.get_models(conn, [model_id])[0]

    def delete_registered_model(self, actor: Actor, name: str) -> None:
        """Delete a model, its versions, aliases, tags and registered files.

        Raises:
            InUse: An endpoint serves one of its versions (the message names it).
        """
        with self._db.write() as conn:
            model_id = self._model(conn, actor, name, Level.MANAGE, "delete it")
            refuse_if_served(conn, self._repo, self._model_users, model_id, name)
            keys = self._repo.delete_model(conn, model_id)
            self._access.forget(conn, _KIND, model_id)
            self._event(
                conn, actor, "registered_model.deleted", model_id, name, {"versions": len(keys)}
            )
        for key in keys:
            self._artifacts.delete(key)

    def set_registered_model_tag(self, actor: Actor, name: str, key: str, value: str) -> None:
        """Set one tag on a model (overwriting its value)."""
        with self._db.write() as conn:
            model_id = self._model(conn, actor, name, Level.EDIT, "tag it")
            self._repo.set_model_tags(conn, model_id, {key: value})
            self._event(conn, actor, "registered_model.tag_set", model_id, name, {"key": key})

    def delete_registered_model_tag(self, actor: Actor, name: str, key: str) -> None:
        """Remove one tag from a model; NotFound when it has no such tag."""
        with self._db.write() as conn:
            model_id = self._model(conn, actor, name, Level.EDIT, "untag it")
            self._repo.delete_model_tag(conn, model_id, name, key)
            self._event(conn, actor, "registered_model.tag_deleted", model_id, name, {"key": key})

    # -- versions -----------------------------------------------------------------------------

    def create_model_version(
        self, actor: Actor, name: str, request: CreateModelVersion
    ) -> ModelVersion:
        """Copy, verify and register the package ``request.source`` names as the next version.

        Raises:
            NotFound: The model, the source's run, version or path does not exist.
            InvalidArgument: The run is deleted; the source is not a package, fails
                verification (the message names the file), has an unknown flavor or library
                version; or ``run_id`` contradicts a ``runs:/`` source.
            PermissionDenied: The actor may not register into the model or read the source.
        """
        with self._db.read() as conn:
            model_id = self._repo.model_id(conn, name)  # an unknown model fails before copying
            if actor.job is not None and actor.job.register_as == name:
                self._access.require_registration(conn, actor, model_id, "register versions")
            else:
                self._access.require(conn, actor, Level.EDIT, _KIND, model_id, "register versions")
            # A folder or S3 prefix lies in an allowed root, and in the store, in an area the
            # actor may read; checked before anything looks at it.
            parse_model_uri(request.source, "source")  # the scheme's own errors first
            key = self._roots.check(request.source, "source") if self._roots else None
            if key is not None:
                self._areas.check(conn, actor, key, "source")
        logged_models = self._logged_models
        link = None if logged_models is None else logged_models.record_registration
        try:
            origin = origin_for(
                request.source,
                request.run_id,
                actor=actor,
                tracking=self._tracking,
                store=self._artifacts,
                find_version=lambda ref: self._ready(self._version_for(actor, ref)),
                s3_endpoint_url=self._s3_endpoint_url,
                logged_models=logged_models,
                logged_model_id=request.logged_model_id,
            )
            return register(
                self._db,
                self._repo,
                self._artifacts,
                name,
                request,
                origin,
                actor,
                self._events,
                link=link,
            )
        except NotFound:
            if not request.reference_missing_source:
                raise
        return self._register_reference(actor, name, request, link)

    def _register_reference(
        self,
        actor: Actor,
        name: str,
        request: CreateModelVersion,
        link: Callable[[Connection, str, str, int], None] | None,
    ) -> ModelVersion:
        """Record a version referring to a source this server does not hold (see
        ``CreateModelVersion.reference_missing_source``)."""
        ref = parse_model_uri(request.source, "source")
        refers_to, run_id, logged = request.source, request.run_id, request.logged_model_id
        if isinstance(ref, RegistryRef):
            try:
                found = self._version_for(actor, ref)
            except NotFound:
                found = None
            if found is not None:
                # A copy of a reference refers to what the original refers to.
                refers_to = found.storage_location if found.is_reference else found.uri
                run_id = run_id or found.run_id
                logged = logged or found.logged_model_id
        elif isinstance(ref, LoggedModelRef) and self._logged_models is not None:
            try:
                model = self._logged_models.get(actor, ref.model_id)
                run_id, logged = run_id or model.source_run_id, model.model_id
            except NotFound:
                logged = None  # nothing to note the version on
        elif isinstance(ref, RunRef):
            run_id = run_id or ref.run_id
        return register_reference(
            self._db,
            self._repo,
            name,
            request,
            refers_to,
            actor,
            self._events,
            run_id=run_id,
            logged_model_id=logged,
            link=link,
        )

    def get_model_version(self, actor: Actor, name: str, version: int | str) -> ModelVersion:
        """One version; ``version`` may be a number or its decimal string."""
        number = parse_version(version)
        with self._db.read() as conn:
            model_id = self._model(conn, actor, name, Level.READ, "read its versions")
            return self._repo.get_version(conn, model_id, name, number)

    def latest_version(self, actor: Actor, name: str) -> ModelVersion:
        """The newest ready version of a model."""
        with self._db.read() as conn:
            model_id = self._model(conn, actor, name, Level.READ, "read its versions")
            number = self._repo.latest_ready(conn, model_id)
            if number is None:
                raise NotFound(f"registered model {name!r} has no versions yet", field="name")
            return self._repo.get_version(conn, model_id, name, number)

    def search_model_versions(
        self,
        actor: Actor,
        *,
        name: str | None = None,
        run_ids: list[str] | None = None,
        filter: str = "",
        order_by: Sequence[str] | None = None,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> Page[ModelVersion]:
        """Versions by model name, newest first; filter by model and by source run.

        ``filter`` and ``order_by`` take MLflow's syntax (``name``, ``run_id``, ``source_path``,
        ``version_number``, ``tags.<key>``); with ``order_by`` given (even empty), versions come
        in MLflow's order: see :mod:`dockyard.server.registry._search`.
        """
        offset = search_offset(max_results, page_token)
        with self._db.read() as conn:
            model_ids = None
            if name is not None:
                try:
                    model_ids = [self._model(conn, actor, name, Level.READ, "read its versions")]
                except NotFound:
                    return Page([], None)
            else:
                readable = self._access.readable(conn, actor, _KIND)
                model_ids = None if readable is None else sorted(readable)
            rows = self._repo.search_versions(
                conn,
                model_ids=model_ids,
                run_ids=run_ids,
                limit=max_results + 1,
                offset=offset,
                filter=filter,
                order_by=order_by,
            )
            return search_page(self._repo.hydrate_versions(conn, rows), max_results, offset)

    def update_model_version(
        self, actor: Actor, name: str, version: int | str, description: str
    ) -> ModelVersion:
        """Replace a version's description (its package never changes)."""
        return self._change_version(
            actor,
            name,
            version,
            "describe it",
            "model_version.updated",
            lambda c, m, v: self._set(c, m, v, description=description),
        )

    def delete_model_version(self, actor: Actor, name: str, version: int | str) -> None:
        """Delete a version, the aliases pointing at it, and its registered files.

        Raises:
            InUse: An endpoint serves it: by number, by an alias pointing at it, or as the
                latest version (the message names the endpoints).
        """
        number = parse_version(version)
        with self._db.write() as conn:
            model_id = self._model(conn, actor, name, Level.MANAGE, "delete its versions")
            row = self._repo.version_row(conn, model_id, name, number)
            refuse_if_served(conn, self._repo, self._model_users, model_id, name, number)
            self._repo.delete_version(conn, model_id, number)
            self._repo.update_model(conn, model_id, last_updated_time=now_ms())
            self._event(conn, actor, "model_version.deleted", model_id, f"{name}/{number}")
        if row.digest:  # a reference has no files of its own
            self._artifacts.delete(row.storage_location)

    def set_model_version_tag(
        self, actor: Actor, name: str, version: int | str, key: str, value: str
    ) -> None:
        """Set one tag on a version (tags and descriptions are the mutable part)."""
        self._change_version(
            actor,
            name,
            version,
            "tag its versions",
            "model_version.tag_set",
            lambda c, m, v: self._repo.set_version_tags(c, m, v, {key: value}),
            {"key": key},
        )

    def delete_model_version_tag(
        self, actor: Actor, name: str, version: int | str, key: str
    ) -> None:
        """Remove one tag from a version; NotFound when it has no such tag."""
        self._change_version(
            actor,
            name,
            version,
            "untag its versions",
            "model_version.tag_deleted",
            lambda c, m, v: self._repo.delete_version_tag(c, m, name, v, key),
            {"key": key},
        )

    def set_approval(
        self, actor: Actor, name: str, version: int | str, request: SetApproval
    ) -> ModelVersion:
        """Record an approval decision (status, who, when and why), appended to the version's
        approval history. With accounts and ``approval_separation``, the version's author
        cannot decide on it."""
        number = parse_version(version)
        now = now_ms()
        with self._db.write() as conn:
            model_id = self._model(conn, actor, name, Level.EDIT, "approve its versions")
            row = self._repo.version_row(conn, model_id, name, number)
            if (
                self._access.approval_separation
                and actor.is_person
                and row.created_by == actor.name
                and request.status.value != row.approval_status
            ):
                raise PermissionDenied(
                    f"{actor.name} registered version {number} of {name!r} and may not decide on "
                    "its approval: someone else with edit permission on the model must",
                    field="status",
                )
            self._set(
                conn,
                model_id,
                number,
                approval_status=request.status.value,
                approval_user=actor.name,
                approval_time=now,
                approval_comment=request.comment,
            )
            self._repo.append_approval(
                conn, model_id, number, request.status.value, actor.name, now, request.comment
            )
            self._event(
                conn,
                actor,
                "model_version.approval_set",
                model_id,
                f"{name}/{number}",
                {"status": request.status.value, "comment": request.comment},
            )
            return self._repo.get_version(conn, model_id, name, number)

    def approval_history(self, actor: Actor, name: str, version: int | str) -> list[Approval]:
        """Every approval decision on a version, oldest first."""
        number = parse_version(version)
        with self._db.read() as conn:
            model_id = self._model(conn, actor, name, Level.READ, "read its versions")
            self._repo.version_row(conn, model_id, name, number)
            return self._repo.approvals(conn, model_id, number)

    # -- MLflow's stages (deprecated) ---------------------------------------------------------

    def transition_stage(
        self,
        actor: Actor,
        name: str,
        version: int | str,
        stage: str,
        *,
        archive_existing: bool = False,
    ) -> ModelVersion:
        """Move a version to one of MLflow's stages (``None``, ``Staging``, ``Production``,
        ``Archived``; any case). With ``archive_existing``, the model's other versions in the
        stage moved to (``Staging`` or ``Production`` only) move to ``Archived``. MLflow
        deprecated stages for aliases; they are kept for the clients that still call them, and
        mean nothing else here (approval and aliases are what endpoints and jobs follow)."""
        canonical = next((s for s in STAGES if s.lower() == stage.strip().lower()), None)
        if canonical is None:
            raise InvalidArgument(
                f"stage {stage[:40]!r} is not one of {', '.join(STAGES)}", field="stage"
            )
        if archive_existing and canonical not in ("Staging", "Production"):
            # MLflow's words: archiving "the others" of None or Archived means nothing.
            raise InvalidArgument(
                "Model version transition cannot archive existing model versions because "
                f"'{canonical}' is not an Active stage. Valid stages are ['Staging', 'Production']",
                field="archive_existing_versions",
            )
        number = parse_version(version)
        now = now_ms()
        with self._db.write() as conn:
            model_id = self._model(conn, actor, name, Level.EDIT, "move its versions' stages")
            self._repo.version_row(conn, model_id, name, number)
            archived = []
            if archive_existing:
                archived = self._repo.archive_stage(conn, model_id, canonical, number, now)
            self._set(conn, model_id, number, stage=canonical)
            self._repo.update_model(conn, model_id, last_updated_time=now)
            self._event(
                conn,
                actor,
                "model_version.stage_set",
                model_id,
                f"{name}/{number}",
                {"stage": canonical, "archived": archived},
            )
            return self._repo.get_version(conn, model_id, name, number)

    def latest_versions(
        self, actor: Actor, name: str, stages: Sequence[str] = ()
    ) -> list[ModelVersion]:
        """Per stage, the model's newest ready version in it; every stage when none is named
        (MLflow's ``latest_versions``)."""
        wanted = {s.strip().lower() for s in stages}
        with self._db.read() as conn:
            model_id = self._model(conn, actor, name, Level.READ, "read its versions")
            latest = self._repo.latest_by_stage(conn, model_id)
            numbers = sorted(v for s, v in latest.items() if not wanted or s.lower() in wanted)
            return [self._repo.get_version(conn, model_id, name, n) for n in numbers]

    # -- aliases ------------------------------------------------------------------------------

    def set_alias(self, actor: Actor, name: str, alias: str, version: int | str) -> ModelVersion:
        """Point ``alias`` at a version, moving it atomically if it pointed elsewhere."""
        check_alias(alias)
        number = parse_version(version)
        with self._db.write() as conn:
            model_id = self._model(conn, actor, name, Level.EDIT, "move its aliases")
            row = self._repo.version_row(conn, model_id, name, number)
            if row.status != VersionStatus.READY.value:
                raise InvalidArgument(
                    f"version {number} of {name!r} is still being registered", field="version"
                )
            previous = self._repo.alias_version_or_none(conn, model_id, alias)
            self._repo.set_alias(conn, model_id, alias, number)
            self._repo.update_model(conn, model_id, last_updated_time=now_ms())
            self._event(
                conn,
                actor,
                "model_alias.set",
                model_id,
                f"{name}@{alias}",
                {"version": number, "previous": previous},
            )
            return self._repo.get_version(conn, model_id, name, number)

    def delete_alias(self, actor: Actor, name: str, alias: str) -> None:
        """Remove an alias (its version stays); NotFound when the model has no such alias."""
        check_alias(alias)
        with self._db.write() as conn:
            model_id = self._model(conn, actor, name, Level.EDIT, "remove its aliases")
            self._repo.delete_alias(conn, model_id, name, alias)
            self._event(conn, actor, "model_alias.deleted", model_id, f"{name}@{alias}")

    def get_version_by_alias(self, actor: Actor, name: str, alias: str) -> ModelVersion:
        """The version an alias points at now."""
        check_alias(alias)
        with self._db.read() as conn:
            model_id = self._model(conn, actor, name, Level.READ, "read its aliases")
            number = self._repo.alias_version(conn, model_id, name, alias)
            return self._repo.get_version(conn, model_id, name, number)

    # -- files --------------------------------------------------------------------------------

    def list_version_files(
        self, actor: Actor, name: str, version: int | str, path: str = "", *, recursive: bool = True
    ) -> list[VersionFile]:
        """Files (and, unless recursive, folders) of a version, relative to the package root."""
        storage = self._ready(self.get_model_version(actor, name, version)).storage_location
        key = join_artifact_path(storage, path)
        cut = len(storage) + 1
        return [
            VersionFile(path=e.path[cut:], is_dir=e.is_dir, size=e.size)
            for e in self._artifacts.list(key, recursive=recursive)
        ]

    def version_file_key(self, actor: Actor, name: str, version: int | str, path: str) -> str:
        """The artifact-store key of one file of a version (for streaming it)."""
        storage = self._ready(self.get_model_version(actor, name, version)).storage_location
        return join_artifact_path(storage, normalize_artifact_path(path))

    def storage_key(self, actor: Actor, key: str) -> str:
        """``key`` if it lies inside a ready version's registered files the actor may read,
        else NotFound."""
        canonical = normalize_artifact_path(key, allow_root=True)
        parts = canonical.split("/", 3)
        if len(parts) < 3 or parts[0] != REGISTRY_PREFIX or not _VERSION_DIGITS.fullmatch(parts[2]):
            raise NotFound(f"no registered model files at {key!r}", field="path")
        try:
            with self._db.read() as conn:
                row = self._repo.version_row(conn, parts[1], parts[1], int(parts[2]))
                self._access.require(conn, actor, Level.READ, _KIND, parts[1], "read its files")
        except NotFound:
            row = None
        if row is None or row.status != VersionStatus.READY.value or not row.digest:
            raise NotFound(f"no registered model files at {key!r}", field="path")
        return canonical

    # -- lineage and URIs ---------------------------------------------------------------------

    def lineage(self, actor: Actor, name: str, version: int | str) -> Lineage:
        """Version -> run -> dataset digests -> code version (git commit and dirty flag)."""
        return build_lineage(self.get_model_version(actor, name, version), self._tracking, actor)

    def resolve(self, actor: Actor, uri: str) -> ResolvedModel:
        """What a ``models:/`` or ``runs:/`` URI names: its files and the digest to check.

        Raises:
            InvalidArgument: A malformed URI, a scheme the client reads itself (``s3://``, local
                paths), or a run folder that is not a package.
            NotFound: The model, version, alias, run or folder does not exist.
            PermissionDenied: The actor may not read it.
        """
        ref = parse_model_uri(uri)
        if isinstance(ref, RegistryRef):
            found = self._ready(self._version_for(actor, ref))
            return ResolvedModel(
                uri=uri,
                kind="registry",
                digest=found.digest,
                files=self.list_version_files(actor, found.name, found.version),
                files_url=f"/api/v1/registered-models/{quote(found.name)}/versions/"
                f"{found.version}/files",
                name=found.name,
                version=found.version,
                run_id=found.run_id,
            )
        if isinstance(ref, LoggedModelRef):
            return self._describe_logged(actor, ref.model_id, uri)
        if not isinstance(ref, RunRef):
            raise InvalidArgument(
                f"{uri!r} is read by the client, not resolved by the server: only models:/ and "
                "runs:/ URIs are",
                field="uri",
            )
        logged = self._logged_for_run(actor, ref)
        if logged is not None:
            return self._describe_logged(actor, logged, uri)
        prefix = self._tracking.artifact_prefix(actor, ref.run_id)
        return describe_run_package(self._artifacts, prefix, ref, uri)

    def pinned_version(self, conn: Connection, uri: str, field: str) -> int | None:
        """The registered version ``uri`` names now, in the caller's transaction (None for a URI
        outside the registry): what an endpoint serves until it is updated (see
        :mod:`dockyard.server.registry._in_use`)."""
        return pinned_version(conn, self._repo, uri, field)

    def package_key(self, actor: Actor, uri: str) -> tuple[ResolvedModel, str]:
        """What ``uri`` names and the artifact-store folder holding its files."""
        resolved = self.resolve(actor, uri)
        if resolved.kind == "registry":
            assert resolved.name is not None and resolved.version is not None
            version = self.get_model_version(actor, resolved.name, resolved.version)
            return resolved, version.storage_location
        if resolved.kind == "logged_model":
            assert resolved.logged_model_id is not None and self._logged_models is not None
            return resolved, self._logged_models.artifact_prefix(actor, resolved.logged_model_id)
        ref = parse_model_uri(uri)
        assert isinstance(ref, RunRef)
        return resolved, join_artifact_path(
            self._tracking.artifact_prefix(actor, ref.run_id), ref.path
        )

    def _logged_for_run(self, actor: Actor, ref: RunRef) -> str | None:
        """The logged model ``runs:/<run>/<name>`` means when the run has no files there."""
        if self._logged_models is None or not ref.path or "/" in ref.path:
            return None
        prefix = self._tracking.artifact_prefix(actor, ref.run_id)
        if self._artifacts.list(join_artifact_path(prefix, ref.path)):
            return None
        found = self._logged_models.find_by_run(actor, ref.run_id, ref.path)
        return None if found is None else found.model_id

    def _describe_logged(self, actor: Actor, model_id: str, uri: str) -> ResolvedModel:
        if self._logged_models is None:
            raise NotFound(f"{uri}: this server keeps no logged models", field="uri")
        model = self._logged_models.get(actor, model_id)
        resolved = describe_package(
            self._artifacts,
            model.artifact_location,
            uri,
            kind="logged_model",
            # The files are served by the MLflow artifact door, which checks the same rights.
            files_url=f"/api/2.0/mlflow-artifacts/artifacts/{quote(model.artifact_location)}",
            run_id=model.source_run_id,
        )
        return resolved.model_copy(update={"logged_model_id": model.model_id})

    # -- internals ----------------------------------------------------------------------------

    @staticmethod
    def _ready(version: ModelVersion) -> ModelVersion:
        if version.status is not VersionStatus.READY:
            raise NotFound(
                f"version {version.version} of {version.name!r} is still being registered",
                field="version",
            )
        if version.is_reference:
            raise NotFound(
                f"version {version.version} of {version.name!r} has no files on this server: "
                f"it was recorded as a reference to {version.storage_location}",
                field="version",
            )
        return version

    def _set(self, conn: Connection, model_id: str, version: int, **values: object) -> None:
        self._repo.update_version(conn, model_id, version, last_updated_time=now_ms(), **values)

    def _change_version(
        self,
        actor: Actor,
        name: str,
        version: int | str,
        what: str,
        event: str,
        change: Callable[[Connection, str, int], None],
        body: dict[str, object] | None = None,
    ) -> ModelVersion:
        number = parse_version(version)
        with self._db.write() as conn:
            model_id = self._model(conn, actor, name, Level.EDIT, what)
            self._repo.version_row(conn, model_id, name, number)
            change(conn, model_id, number)
            self._event(conn, actor, event, model_id, f"{name}/{number}", body)
            return self._repo.get_version(conn, model_id, name, number)

    def _version_for(self, actor: Actor, ref: RegistryRef) -> ModelVersion:
        if ref.alias is not None:
            return self.get_version_by_alias(actor, ref.name, ref.alias)
        if ref.latest:
            return self.latest_version(actor, ref.name)
        assert ref.version is not None
        return self.get_model_version(actor, ref.name, ref.version)
