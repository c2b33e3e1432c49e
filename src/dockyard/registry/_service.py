"""Registry rules: models, immutable versions, aliases, approval. Routes and adapters call this.

Registering a version copies the source package into the registry's own area of the artifact
store (``registry/<model id>/<version>/``), after verifying the copy, and records its digest: a
version never changes, whatever later happens to the run or folder it came from. The key uses the
model's internal id rather than its name so that a rename, or a new model taking a deleted one's
name, can never point at another model's files.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import quote

from sqlalchemy import Connection

from dockyard.artifacts import ArtifactStore, join_artifact_path, normalize_artifact_path
from dockyard.errors import InvalidArgument, NotFound
from dockyard.registry._entities import (
    Lineage,
    ModelVersion,
    RegisteredModel,
    ResolvedModel,
    VersionFile,
    VersionStatus,
)
from dockyard.registry._lineage import build_lineage
from dockyard.registry._origins import describe_run_package, origin_for
from dockyard.registry._register import REGISTRY_PREFIX, register
from dockyard.registry._repository import RegistryRepository
from dockyard.registry._requests import (
    CreateModelVersion,
    CreateRegisteredModel,
    SetApproval,
    check_alias,
    check_model_name,
    parse_version,
)
from dockyard.registry._uris import RegistryRef, RunRef, parse_model_uri
from dockyard.store import Database
from dockyard.tracking import Page, TrackingService, now_ms
from dockyard.tracking._service import decode_page_token, encode_page_token

__all__ = ["ANONYMOUS", "RegistryService"]

T = TypeVar("T")

#: Who did something when no authenticated user is known (until accounts exist).
ANONYMOUS = "anonymous"
_MAX_PAGE = 1000


def _page(items: list[T], limit: int, offset: int) -> Page[T]:
    more = len(items) > limit
    return Page(items[:limit], encode_page_token(offset + limit) if more else None)


def _offset(max_results: int, page_token: str | None) -> int:
    if not 1 <= max_results <= _MAX_PAGE:
        raise InvalidArgument(f"max_results must be between 1 and {_MAX_PAGE}", field="max_results")
    return decode_page_token(page_token)


class RegistryService:
    """Registered models and their versions over the metadata database and artifact store.

    Args:
        db: The metadata database.
        tracking: The tracking service (runs, for sources and lineage).
        artifacts: The artifact store holding run artifacts and registry copies.
        s3_endpoint_url: Endpoint of an S3-compatible server, for ``s3://`` sources.
    """

    def __init__(
        self,
        db: Database,
        tracking: TrackingService,
        artifacts: ArtifactStore,
        *,
        s3_endpoint_url: str | None = None,
    ) -> None:
        self._db = db
        self._tracking = tracking
        self._artifacts = artifacts
        self._s3_endpoint_url = s3_endpoint_url
        self._repo = RegistryRepository()

    # -- registered models --------------------------------------------------------------------

    def create_registered_model(self, request: CreateRegisteredModel) -> RegisteredModel:
        """Create an empty registered model; its name must be new."""
        model_id = uuid.uuid4().hex
        with self._db.write() as conn:
            self._repo.create_model(
                conn,
                model_id=model_id,
                name=request.name,
                description=request.description,
                now=now_ms(),
            )
            self._repo.set_model_tags(conn, model_id, {t.key: t.value for t in request.tags})
            return self._repo.get_models(conn, [model_id])[0]

    def get_registered_model(self, name: str) -> RegisteredModel:
        """A model with its tags, aliases and latest version number."""
        with self._db.read() as conn:
            return self._repo.get_models(conn, [self._repo.model_id(conn, name)])[0]

    def search_registered_models(
        self,
        *,
        name_like: str | None = None,
        name: str | None = None,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> Page[RegisteredModel]:
        """Models ordered by name; ``name_like`` is a case-insensitive SQL LIKE pattern."""
        offset = _offset(max_results, page_token)
        with self._db.read() as conn:
            ids = self._repo.search_models(
                conn, name_like=name_like, exact=name, limit=max_results + 1, offset=offset
            )
            return _page(self._repo.get_models(conn, ids), max_results, offset)

    def update_registered_model(self, name: str, description: str) -> RegisteredModel:
        """Replace a model's description."""
        with self._db.write() as conn:
            model_id = self._repo.model_id(conn, name)
            self._repo.update_model(
                conn, model_id, description=description, last_updated_time=now_ms()
            )
            return self._repo.get_models(conn, [model_id])[0]

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename a model; its versions, aliases and files stay with it."""
        check_model_name(new_name, "new_name")
        with self._db.write() as conn:
            model_id = self._repo.model_id(conn, name)
            self._repo.update_model(conn, model_id, name=new_name, last_updated_time=now_ms())
            return self._repo.get_models(conn, [model_id])[0]

    def delete_registered_model(self, name: str) -> None:
        """Delete a model, its versions, aliases, tags and registered files."""
        with self._db.write() as conn:
            keys = self._repo.delete_model(conn, self._repo.model_id(conn, name))
        for key in keys:
            self._artifacts.delete(key)

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        """Set one tag on a model (overwriting its value)."""
        with self._db.write() as conn:
            model_id = self._repo.model_id(conn, name)
            self._repo.set_model_tags(conn, model_id, {key: value})

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove one tag from a model; NotFound when it has no such tag."""
        with self._db.write() as conn:
            self._repo.delete_model_tag(conn, self._repo.model_id(conn, name), name, key)

    # -- versions -----------------------------------------------------------------------------

    def create_model_version(
        self, name: str, request: CreateModelVersion, *, user: str = ANONYMOUS
    ) -> ModelVersion:
        """Copy, verify and register the package ``request.source`` names as the next version.

        Raises:
            NotFound: The model, the source's run, version or path does not exist.
            InvalidArgument: The run is deleted; the source is not a package, fails
                verification (the message names the file), has an unknown flavor or library
                version; or ``run_id`` contradicts a ``runs:/`` source.
        """
        with self._db.read() as conn:
            self._repo.model_id(conn, name)  # an unknown model fails before any copying
        origin = origin_for(
            request.source,
            request.run_id,
            tracking=self._tracking,
            store=self._artifacts,
            find_version=lambda ref: self._ready(self._version_for(ref)),
            s3_endpoint_url=self._s3_endpoint_url,
        )
        return register(self._db, self._repo, self._artifacts, name, request, origin, user)

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        """One version; ``version`` may be a number or its decimal string."""
        number = parse_version(version)
        with self._db.read() as conn:
            return self._repo.get_version(conn, self._repo.model_id(conn, name), name, number)

    def latest_version(self, name: str) -> ModelVersion:
        """The newest ready version of a model."""
        with self._db.read() as conn:
            model_id = self._repo.model_id(conn, name)
            number = self._repo.latest_ready(conn, model_id)
            if number is None:
                raise NotFound(f"registered model {name!r} has no versions yet", field="name")
            return self._repo.get_version(conn, model_id, name, number)

    def search_model_versions(
        self,
        *,
        name: str | None = None,
        run_ids: list[str] | None = None,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> Page[ModelVersion]:
        """Versions by model name, newest first; filter by model and by source run."""
        offset = _offset(max_results, page_token)
        with self._db.read() as conn:
            model_ids = None
            if name is not None:
                try:
                    model_ids = [self._repo.model_id(conn, name)]
                except NotFound:
                    return Page([], None)
            rows = self._repo.search_versions(
                conn, model_ids=model_ids, run_ids=run_ids, limit=max_results + 1, offset=offset
            )
            return _page(self._repo.hydrate_versions(conn, rows), max_results, offset)

    def update_model_version(self, name: str, version: int | str, description: str) -> ModelVersion:
        """Replace a version's description (its package never changes)."""
        return self._change_version(
            name, version, lambda c, m, v: self._set(c, m, v, description=description)
        )

    def delete_model_version(self, name: str, version: int | str) -> None:
        """Delete a version, the aliases pointing at it, and its registered files."""
        number = parse_version(version)
        with self._db.write() as conn:
            model_id = self._repo.model_id(conn, name)
            row = self._repo.version_row(conn, model_id, name, number)
            self._repo.delete_version(conn, model_id, number)
        self._artifacts.delete(row.storage_location)

    def set_model_version_tag(self, name: str, version: int | str, key: str, value: str) -> None:
        """Set one tag on a version (tags and descriptions are the mutable part)."""
        self._change_version(
            name, version, lambda c, m, v: self._repo.set_version_tags(c, m, v, {key: value})
        )

    def delete_model_version_tag(self, name: str, version: int | str, key: str) -> None:
        """Remove one tag from a version; NotFound when it has no such tag."""
        self._change_version(
            name, version, lambda c, m, v: self._repo.delete_version_tag(c, m, name, v, key)
        )

    def set_approval(
        self, name: str, version: int | str, request: SetApproval, *, user: str = ANONYMOUS
    ) -> ModelVersion:
        """Record an approval decision: status, who, when and why."""
        values = {
            "approval_status": request.status.value,
            "approval_user": user,
            "approval_time": now_ms(),
            "approval_comment": request.comment,
        }
        return self._change_version(name, version, lambda c, m, v: self._set(c, m, v, **values))

    # -- aliases ------------------------------------------------------------------------------

    def set_alias(self, name: str, alias: str, version: int | str) -> ModelVersion:
        """Point ``alias`` at a version, moving it atomically if it pointed elsewhere."""
        check_alias(alias)
        number = parse_version(version)
        with self._db.write() as conn:
            model_id = self._repo.model_id(conn, name)
            row = self._repo.version_row(conn, model_id, name, number)
            if row.status != VersionStatus.READY.value:
                raise InvalidArgument(
                    f"version {number} of {name!r} is still being registered", field="version"
                )
            self._repo.set_alias(conn, model_id, alias, number)
            self._repo.update_model(conn, model_id, last_updated_time=now_ms())
            return self._repo.get_version(conn, model_id, name, number)

    def delete_alias(self, name: str, alias: str) -> None:
        """Remove an alias (its version stays); NotFound when the model has no such alias."""
        check_alias(alias)
        with self._db.write() as conn:
            self._repo.delete_alias(conn, self._repo.model_id(conn, name), name, alias)

    def get_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias points at now."""
        check_alias(alias)
        with self._db.read() as conn:
            model_id = self._repo.model_id(conn, name)
            number = self._repo.alias_version(conn, model_id, name, alias)
            return self._repo.get_version(conn, model_id, name, number)

    # -- files --------------------------------------------------------------------------------

    def list_version_files(
        self, name: str, version: int | str, path: str = "", *, recursive: bool = True
    ) -> list[VersionFile]:
        """Files (and, unless recursive, folders) of a version, relative to the package root."""
        storage = self._ready(self.get_model_version(name, version)).storage_location
        key = join_artifact_path(storage, path)
        cut = len(storage) + 1
        return [
            VersionFile(path=e.path[cut:], is_dir=e.is_dir, size=e.size)
            for e in self._artifacts.list(key, recursive=recursive)
        ]

    def version_file_key(self, name: str, version: int | str, path: str) -> str:
        """The artifact-store key of one file of a version (for streaming it)."""
        storage = self._ready(self.get_model_version(name, version)).storage_location
        return join_artifact_path(storage, normalize_artifact_path(path))

    def storage_key(self, key: str) -> str:
        """``key`` if it lies inside a ready version's registered files, else NotFound."""
        canonical = normalize_artifact_path(key, allow_root=True)
        parts = canonical.split("/", 3)
        if len(parts) < 3 or parts[0] != REGISTRY_PREFIX or not parts[2].isdigit():
            raise NotFound(f"no registered model files at {key!r}", field="path")
        try:
            with self._db.read() as conn:
                row = self._repo.version_row(conn, parts[1], parts[1], int(parts[2]))
        except NotFound:
            row = None
        if row is None or row.status != VersionStatus.READY.value:
            raise NotFound(f"no registered model files at {key!r}", field="path")
        return canonical

    # -- lineage and URIs ---------------------------------------------------------------------

    def lineage(self, name: str, version: int | str) -> Lineage:
        """Version -> run -> dataset digests -> code version (git commit and dirty flag)."""
        return build_lineage(self.get_model_version(name, version), self._tracking)

    def resolve(self, uri: str) -> ResolvedModel:
        """What a ``models:/`` or ``runs:/`` URI names: its files and the digest to check.

        Raises:
            InvalidArgument: A malformed URI, a scheme the client reads itself (``s3://``, local
                paths), or a run folder that is not a package.
            NotFound: The model, version, alias, run or folder does not exist.
        """
        ref = parse_model_uri(uri)
        if isinstance(ref, RegistryRef):
            found = self._ready(self._version_for(ref))
            return ResolvedModel(
                uri=uri,
                kind="registry",
                digest=found.digest,
                files=self.list_version_files(found.name, found.version),
                files_url=f"/api/v1/registered-models/{quote(found.name)}/versions/"
                f"{found.version}/files",
                name=found.name,
                version=found.version,
                run_id=found.run_id,
            )
        if not isinstance(ref, RunRef):
            raise InvalidArgument(
                f"{uri!r} is read by the client, not resolved by the server: only models:/ and "
                "runs:/ URIs are",
                field="uri",
            )
        prefix = self._tracking.artifact_prefix(ref.run_id)
        return describe_run_package(self._artifacts, prefix, ref, uri)

    # -- internals ----------------------------------------------------------------------------

    @staticmethod
    def _ready(version: ModelVersion) -> ModelVersion:
        if version.status is not VersionStatus.READY:
            raise NotFound(
                f"version {version.version} of {version.name!r} is still being registered",
                field="version",
            )
        return version

    def _set(self, conn: Connection, model_id: str, version: int, **values: object) -> None:
        self._repo.update_version(conn, model_id, version, last_updated_time=now_ms(), **values)

    def _change_version(
        self,
        name: str,
        version: int | str,
        change: Callable[[Connection, str, int], None],
    ) -> ModelVersion:
        number = parse_version(version)
        with self._db.write() as conn:
            model_id = self._repo.model_id(conn, name)
            self._repo.version_row(conn, model_id, name, number)
            change(conn, model_id, number)
            return self._repo.get_version(conn, model_id, name, number)

    def _version_for(self, ref: RegistryRef) -> ModelVersion:
        if ref.alias is not None:
            return self.get_version_by_alias(ref.name, ref.alias)
        if ref.latest:
            return self.latest_version(ref.name)
        assert ref.version is not None
        return self.get_model_version(ref.name, ref.version)
