"""SQL for registered models, versions, tags and aliases; callers own the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, Row, and_, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from dockyard.api.registry import (
    Approval,
    ApprovalStatus,
    ModelVersion,
    RegisteredModel,
    VersionStatus,
)
from dockyard.errors import AlreadyExists, NotFound
from dockyard.server.registry._search import model_query, version_query
from dockyard.server.store import schema, upsert

__all__ = ["RegistryRepository"]

_M = schema.registered_models
_MT = schema.registered_model_tags
_V = schema.model_versions
_VT = schema.model_version_tags
_A = schema.model_aliases
_AP = schema.model_version_approvals

_READY = VersionStatus.READY.value


class RegistryRepository:
    """Reads and writes the registry tables."""

    # -- registered models --------------------------------------------------------------------

    def create_model(
        self, conn: Connection, *, model_id: str, name: str, description: str, now: int
    ) -> None:
        try:
            conn.execute(
                _M.insert().values(
                    model_id=model_id,
                    name=name,
                    description=description,
                    creation_time=now,
                    last_updated_time=now,
                    next_version=1,
                )
            )
        except IntegrityError as exc:
            raise AlreadyExists(
                f"registered model {name!r} already exists",
                field="name",
                details={"resource": "registered_model", "name": name},
            ) from exc

    def model_id(self, conn: Connection, name: str) -> str:
        """The internal id of the model called ``name``; NotFound names it."""
        found = conn.execute(select(_M.c.model_id).where(_M.c.name == name)).scalar()
        if found is None:
            raise NotFound(
                f"registered model {name!r} does not exist",
                field="name",
                details={"resource": "registered_model", "name": name},
            )
        return str(found)

    def get_models(self, conn: Connection, model_ids: Sequence[str]) -> list[RegisteredModel]:
        """Models with their tags, aliases and latest ready version, in ``model_ids`` order."""
        if not model_ids:
            return []
        ids = list(model_ids)
        rows = {r.model_id: r for r in conn.execute(select(_M).where(_M.c.model_id.in_(ids)))}
        tags: dict[str, dict[str, str]] = {i: {} for i in ids}
        for row in conn.execute(select(_MT).where(_MT.c.model_id.in_(ids))):
            tags[row.model_id][row.key] = row.value
        aliases: dict[str, dict[str, int]] = {i: {} for i in ids}
        for row in conn.execute(select(_A).where(_A.c.model_id.in_(ids)).order_by(_A.c.alias)):
            aliases[row.model_id][row.alias] = row.version
        latest_q = (
            select(_V.c.model_id, func.max(_V.c.version))
            .where(_V.c.model_id.in_(ids), _V.c.status == _READY)
            .group_by(_V.c.model_id)
        )
        latest = {model_id: int(v) for model_id, v in conn.execute(latest_q)}
        return [
            RegisteredModel(
                name=rows[i].name,
                description=rows[i].description,
                tags=tags[i],
                aliases=aliases[i],
                latest_version=latest.get(i),
                creation_time=rows[i].creation_time,
                last_updated_time=rows[i].last_updated_time,
            )
            for i in ids
            if i in rows
        ]

    def search_models(
        self,
        conn: Connection,
        *,
        name_like: str | None,
        exact: str | None,
        limit: int,
        offset: int,
        only: set[str] | None = None,
        filter: str = "",
        order_by: Sequence[str] = (),
    ) -> list[str]:
        """Model ids ordered by name (or ``order_by``); ``name_like`` is a case-insensitive SQL
        LIKE pattern, ``filter`` MLflow's registered-model filter."""
        if filter or order_by:
            query = model_query(filter, order_by)
        else:
            query = select(_M.c.model_id).order_by(_M.c.name)
        if name_like is not None:
            query = query.where(func.lower(_M.c.name).like(name_like.lower()))
        if only is not None:  # the models a reader may see
            query = query.where(_M.c.model_id.in_(sorted(only)))
        if exact is not None:
            query = query.where(_M.c.name == exact)
        query = query.limit(limit).offset(offset)
        return [row[0] for row in conn.execute(query)]

    def update_model(self, conn: Connection, model_id: str, **values: Any) -> None:
        try:
            conn.execute(update(_M).where(_M.c.model_id == model_id).values(**values))
        except IntegrityError as exc:
            name = values.get("name")
            raise AlreadyExists(
                f"registered model {name!r} already exists",
                field="name",
                details={"resource": "registered_model", "name": name},
            ) from exc

    def delete_model(self, conn: Connection, model_id: str) -> list[str]:
        """Delete a model with everything in it; returns its versions' storage keys."""
        keys = [
            row[0]
            for row in conn.execute(
                # A reference's storage_location is a URI it refers to, not files of its own.
                select(_V.c.storage_location).where(_V.c.model_id == model_id, _V.c.digest != "")
            )
        ]
        # Children first: SQLite enforces the cascades too, but only with foreign keys on.
        conn.execute(delete(_A).where(_A.c.model_id == model_id))
        conn.execute(delete(_AP).where(_AP.c.model_id == model_id))
        conn.execute(delete(_VT).where(_VT.c.model_id == model_id))
        conn.execute(delete(_V).where(_V.c.model_id == model_id))
        conn.execute(delete(_MT).where(_MT.c.model_id == model_id))
        conn.execute(delete(_M).where(_M.c.model_id == model_id))
        return keys

    def set_model_tags(self, conn: Connection, model_id: str, tags: dict[str, str]) -> None:
        rows = [{"model_id": model_id, "key": k, "value": v} for k, v in tags.items()]
        upsert(conn, _MT, rows, keys=("model_id", "key"))

    def delete_model_tag(self, conn: Connection, model_id: str, name: str, key: str) -> None:
        result = conn.execute(delete(_MT).where(_MT.c.model_id == model_id, _MT.c.key == key))
        if result.rowcount == 0:
            raise NotFound(f"registered model {name!r} has no tag {key!r}", field="key")

    # -- versions -----------------------------------------------------------------------------

    def allocate_version(self, conn: Connection, model_id: str) -> int:
        """The model's next version number, taken atomically (the row lock orders writers)."""
        taken = conn.execute(
            update(_M)
            .where(_M.c.model_id == model_id)
            .values(next_version=_M.c.next_version + 1)
            .returning(_M.c.next_version)
        ).scalar_one()
        return int(taken) - 1

    def insert_version(self, conn: Connection, values: dict[str, Any]) -> None:
        conn.execute(_V.insert().values(**values))

    def version_row(self, conn: Connection, model_id: str, name: str, version: int) -> Any:
        row = conn.execute(
            select(_V).where(_V.c.model_id == model_id, _V.c.version == version)
        ).first()
        if row is None:
            raise NotFound(
                f"registered model {name!r} has no version {version}",
                field="version",
                details={"resource": "model_version", "name": name, "version": version},
            )
        return row

    def latest_by_stage(self, conn: Connection, model_id: str) -> dict[str, int]:
        """The newest ready version in each stage that has one."""
        query = (
            select(_V.c.stage, func.max(_V.c.version))
            .where(_V.c.model_id == model_id, _V.c.status == _READY)
            .group_by(_V.c.stage)
        )
        return {stage: int(version) for stage, version in conn.execute(query)}

    def archive_stage(
        self, conn: Connection, model_id: str, stage: str, keep: int, now: int
    ) -> list[int]:
        """Move every version in ``stage`` but ``keep`` to ``Archived``; returns their numbers."""
        moved = [
            int(v)
            for v in conn.execute(
                select(_V.c.version).where(
                    _V.c.model_id == model_id, _V.c.stage == stage, _V.c.version != keep
                )
            ).scalars()
        ]
        if moved:
            conn.execute(
                update(_V)
                .where(_V.c.model_id == model_id, _V.c.version.in_(moved))
                .values(stage="Archived", last_updated_time=now)
            )
        return moved

    def latest_ready(self, conn: Connection, model_id: str) -> int | None:
        found = conn.execute(
            select(func.max(_V.c.version)).where(_V.c.model_id == model_id, _V.c.status == _READY)
        ).scalar()
        return None if found is None else int(found)

    def search_versions(
        self,
        conn: Connection,
        *,
        model_ids: Sequence[str] | None,
        run_ids: Sequence[str] | None,
        limit: int,
        offset: int,
        filter: str = "",
        order_by: Sequence[str] | None = None,
    ) -> list[Row[Any]]:
        """Version rows joined with their model's name: by name, newest version first; with
        ``order_by`` (MLflow's clauses, possibly none) in MLflow's order instead."""
        if filter or order_by is not None:
            query = version_query(filter, order_by or ())
        else:
            query = (
                select(_V, _M.c.name)
                .join(_M, _M.c.model_id == _V.c.model_id)
                .order_by(_M.c.name, _V.c.version.desc())
            )
        if model_ids is not None:
            query = query.where(_V.c.model_id.in_(list(model_ids)))
        if run_ids is not None:
            query = query.where(_V.c.run_id.in_(list(run_ids)))
        query = query.limit(limit).offset(offset)
        return list(conn.execute(query).all())

    def hydrate_versions(self, conn: Connection, rows: Sequence[Any]) -> list[ModelVersion]:
        """Entities for version rows that carry their model's ``name``."""
        if not rows:
            return []
        pairs = [(row.model_id, row.version) for row in rows]
        model_ids = sorted({m for m, _ in pairs})
        tags: dict[tuple[str, int], dict[str, str]] = {p: {} for p in pairs}
        for t in conn.execute(select(_VT).where(_VT.c.model_id.in_(model_ids))):
            if (t.model_id, t.version) in tags:
                tags[(t.model_id, t.version)][t.key] = t.value
        aliases: dict[tuple[str, int], list[str]] = {p: [] for p in pairs}
        for a in conn.execute(select(_A).where(_A.c.model_id.in_(model_ids)).order_by(_A.c.alias)):
            if (a.model_id, a.version) in aliases:
                aliases[(a.model_id, a.version)].append(a.alias)
        return [
            _version(row, tags[(row.model_id, row.version)], aliases[(row.model_id, row.version)])
            for row in rows
        ]

    def get_version(self, conn: Connection, model_id: str, name: str, version: int) -> ModelVersion:
        row = self.version_row(conn, model_id, name, version)
        return self.hydrate_versions(conn, [_Named(row, name)])[0]

    def update_version(self, conn: Connection, model_id: str, version: int, **values: Any) -> None:
        conn.execute(
            update(_V).where(_V.c.model_id == model_id, _V.c.version == version).values(**values)
        )

    def delete_version(self, conn: Connection, model_id: str, version: int) -> None:
        where_alias = and_(_A.c.model_id == model_id, _A.c.version == version)
        conn.execute(delete(_A).where(where_alias))
        conn.execute(delete(_VT).where(_VT.c.model_id == model_id, _VT.c.version == version))
        conn.execute(delete(_AP).where(_AP.c.model_id == model_id, _AP.c.version == version))
        conn.execute(delete(_V).where(_V.c.model_id == model_id, _V.c.version == version))

    def set_version_tags(
        self, conn: Connection, model_id: str, version: int, tags: dict[str, str]
    ) -> None:
        rows = [
            {"model_id": model_id, "version": version, "key": k, "value": v}
            for k, v in tags.items()
        ]
        upsert(conn, _VT, rows, keys=("model_id", "version", "key"))

    def delete_version_tag(
        self, conn: Connection, model_id: str, name: str, version: int, key: str
    ) -> None:
        result = conn.execute(
            delete(_VT).where(
                _VT.c.model_id == model_id, _VT.c.version == version, _VT.c.key == key
            )
        )
        if result.rowcount == 0:
            raise NotFound(f"version {version} of {name!r} has no tag {key!r}", field="key")

    # -- aliases ------------------------------------------------------------------------------

    def set_alias(self, conn: Connection, model_id: str, alias: str, version: int) -> None:
        row = {"model_id": model_id, "alias": alias, "version": version}
        upsert(conn, _A, [row], keys=("model_id", "alias"))

    def delete_alias(self, conn: Connection, model_id: str, name: str, alias: str) -> None:
        result = conn.execute(delete(_A).where(_A.c.model_id == model_id, _A.c.alias == alias))
        if result.rowcount == 0:
            raise NotFound(f"registered model {name!r} has no alias {alias!r}", field="alias")

    def alias_version(self, conn: Connection, model_id: str, name: str, alias: str) -> int:
        found = conn.execute(
            select(_A.c.version).where(_A.c.model_id == model_id, _A.c.alias == alias)
        ).scalar()
        if found is None:
            raise NotFound(f"registered model {name!r} has no alias {alias!r}", field="alias")
        return int(found)

    def alias_version_or_none(self, conn: Connection, model_id: str, alias: str) -> int | None:
        found = conn.execute(
            select(_A.c.version).where(_A.c.model_id == model_id, _A.c.alias == alias)
        ).scalar()
        return None if found is None else int(found)

    # -- approval history -----------------------------------------------------------------------

    def append_approval(
        self,
        conn: Connection,
        model_id: str,
        version: int,
        status: str,
        user: str,
        time: int,
        comment: str | None,
    ) -> None:
        seq = conn.execute(
            select(func.coalesce(func.max(_AP.c.seq), 0)).where(
                _AP.c.model_id == model_id, _AP.c.version == version
            )
        ).scalar_one()
        conn.execute(
            _AP.insert().values(
                model_id=model_id,
                version=version,
                seq=int(seq) + 1,
                status=status,
                user=user,
                time=time,
                comment=comment,
            )
        )

    def approvals(self, conn: Connection, model_id: str, version: int) -> list[Approval]:
        rows = conn.execute(
            select(_AP)
            .where(_AP.c.model_id == model_id, _AP.c.version == version)
            .order_by(_AP.c.seq)
        )
        return [
            Approval(status=ApprovalStatus(r.status), user=r.user, time=r.time, comment=r.comment)
            for r in rows
        ]


class _Named:
    """A version row plus its model's name, shaped like a joined search row."""

    def __init__(self, row: Any, name: str) -> None:
        self._row = row
        self.name = name

    def __getattr__(self, key: str) -> Any:
        return getattr(self._row, key)


def _version(row: Any, tags: dict[str, str], aliases: list[str]) -> ModelVersion:
    return ModelVersion(
        name=row.name,
        version=row.version,
        source=row.source,
        run_id=row.run_id,
        logged_model_id=row.logged_model_id,
        storage_location=row.storage_location,
        digest=row.digest,
        flavor=row.flavor,
        library_version=row.library_version,
        signature=orjson.loads(row.signature) if row.signature else None,
        metrics=orjson.loads(row.metrics),
        sealed_by_registry=bool(row.sealed_by_registry),
        description=row.description,
        tags=tags,
        aliases=aliases,
        status=VersionStatus(row.status),
        approval=Approval(
            status=ApprovalStatus(row.approval_status),
            user=row.approval_user,
            time=row.approval_time,
            comment=row.approval_comment,
        ),
        stage=row.stage,
        created_by=row.created_by,
        creation_time=row.creation_time,
        last_updated_time=row.last_updated_time,
    )
