"""The parameter store's rules: put (versions), get (by selector), list by path, history,
labels, delete; and resolving the references job, transform and endpoint specs make.

Permissions are :class:`dockyard.server.auth.PathAccess`'s (grants on names and on paths above them,
ownership by the creator); every change appends an event in its own transaction, and so does
every read of a SecureString's clear value. No clear SecureString value is ever in an event,
an error message, a listing or a history.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from dockyard.api.params import (
    MAX_VALUE,
    VERSION,
    LabelParameter,
    LabelResult,
    Parameter,
    ParameterList,
    ParameterType,
    ParameterUse,
    PutParameter,
    PutResult,
    check_label,
    check_name,
    check_path,
    parse_selector,
)
from dockyard.errors import (
    AlreadyExists,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Undecryptable,
)
from dockyard.limits import LIMITS
from dockyard.server.actor import Actor, ActorKind, Level, Role
from dockyard.server.auth import Access
from dockyard.server.events import EventLog
from dockyard.server.params._repository import ParamRepository
from dockyard.server.params._secrets import Cipher
from dockyard.server.store import Database
from dockyard.server.tracking import now_ms
from dockyard.settings import Settings

__all__ = ["REFERENCE", "RESERVED_PATHS", "ParamService"]

KIND = "parameter"
MAX_PAGE = LIMITS.params_page_max_results
MAX_LABELS = 10  # per version, as SSM
_SECURE = ParameterType.SECURE_STRING
#: Paths the server keeps for itself, where no account creates, changes or deletes a name: the
#: SageMaker API's record of the config each endpoint and monitoring schedule was made from,
#: written for whoever may change that endpoint or schedule. A name another account put there
#: first would answer for that endpoint (DescribeEndpoint) or refuse its owner's changes.
RESERVED_PATHS = ("/sagemaker/endpoints/", "/sagemaker/monitoring-schedules/")

#: ``{{param:/name}}``, ``{{param:/name:3}}``, ``{{param:/name:label}}`` inside a spec string.
REFERENCE = re.compile(r"\{\{\s*param:([^{}\s]*)\s*\}\}")
_OPENING = re.compile(r"\{\{\s*param:")


def _token(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def _untoken(token: str | None) -> str | None:
    if not token:
        return None
    try:
        text = base64.b64decode(token.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        text = ""
    if not text:
        raise InvalidArgument("page_token is not one this server gave", field="page_token")
    return text


def _page_size(value: int) -> int:
    if not 1 <= value <= MAX_PAGE:
        raise InvalidArgument(f"max_results is 1 to {MAX_PAGE} (got {value})", field="max_results")
    return value


class ParamService:
    """Versioned, hierarchical, optionally encrypted configuration values."""

    def __init__(self, db: Database, settings: Settings, events: EventLog, access: Access) -> None:
        self._db = db
        self._events = events
        self._access = access
        self._repo = ParamRepository()
        key = settings.params_key
        self._cipher = Cipher(key.get_secret_value() if key is not None else None)

    def _event(
        self, conn: Connection, actor: Actor, type: str, name: str, body: dict[str, Any]
    ) -> None:
        self._events.append(conn, actor, type, KIND, name, scope=f"{KIND}:{name}", body=body)

    # -- writes -------------------------------------------------------------------------------

    @staticmethod
    def _refuse_reserved(actor: Actor, name: str, what: str) -> None:
        reserved = next((p for p in RESERVED_PATHS if name.startswith(p)), None)
        if reserved is not None and actor.kind is not ActorKind.SYSTEM:
            raise PermissionDenied(
                f"{actor.label} may not {what}: names under {reserved} are kept by the server "
                "(the SageMaker API's records of endpoints and monitoring schedules)",
                field="name",
            )

    def put(self, actor: Actor, request: PutParameter) -> PutResult:
        """Create a parameter (member role; the creator owns it) or, with ``overwrite``, put a
        new version of one (``edit``).

        Raises:
            AlreadyExists: The name exists and ``overwrite`` is not set (SSM's
                ParameterAlreadyExists).
        """
        name = check_name(request.name)
        self._refuse_reserved(actor, name, f"put parameter {name}")
        if len(request.value) > MAX_VALUE:
            raise InvalidArgument(
                f"a parameter value has at most {MAX_VALUE} characters (got {len(request.value)})",
                field="value",
            )
        if not request.value:
            raise InvalidArgument("a parameter value may not be empty", field="value")
        if request.type is _SECURE and not self._cipher.enabled:
            self._cipher.encrypt(name, 1, "")  # raises the explanation
        now = now_ms()
        with self._db.write() as conn:
            head = self._repo.head(conn, name, lock=True)
            created = False
            if head is None:
                self._access.require_role(actor, Role.MEMBER, "create parameters")
                version = 1
                owner = actor.user_id if actor.job is None else None
                created = self._repo.insert_head(
                    conn,
                    name=name,
                    type=request.type.value,
                    version=version,
                    owner_id=owner,
                    created_by=actor.name,
                    created_time=now,
                    updated_by=actor.name,
                    updated_time=now,
                )
                if not created:  # another put made it meanwhile: this one follows it
                    head = self._repo.require_head(conn, name, lock=True)
            if head is not None and not created:
                paths = self._access.paths(conn, actor, KIND)
                paths.require(Level.EDIT, name, head.owner_id, "put a new version of it")
                if not request.overwrite:
                    raise AlreadyExists(
                        f"parameter {name} exists (version {head.version}): put with overwrite "
                        "to make a new version",
                        field="name",
                    )
                version = int(head.version) + 1
                self._repo.update_head(
                    conn,
                    name,
                    type=request.type.value,
                    version=version,
                    updated_by=actor.name,
                    updated_time=now,
                )
            stored = (
                self._cipher.encrypt(name, version, request.value)
                if request.type is _SECURE
                else request.value
            )
            self._repo.insert_version(
                conn,
                name=name,
                version=version,
                type=request.type.value,
                value=stored,
                description=request.description,
                created_by=actor.name,
                created_time=now,
            )
            self._event(
                conn, actor, "parameter.put", name, {"type": request.type.value, "version": version}
            )
        return PutResult(name=name, version=version, type=request.type)

    def label(self, actor: Actor, request: LabelParameter) -> LabelResult:
        """Put labels on a version (``edit``); a label on another version moves here."""
        name = check_name(request.name)
        labels = sorted(
            {check_label(label, f"labels.{i}") for i, label in enumerate(request.labels)}
        )
        self._refuse_reserved(actor, name, f"label parameter {name}")
        with self._db.write() as conn:
            head = self._repo.require_head(conn, name)
            self._access.paths(conn, actor, KIND).require(
                Level.EDIT, name, head.owner_id, "label its versions"
            )
            version = request.version or int(head.version)
            if self._repo.version(conn, name, version) is None:
                raise NotFound(f"parameter {name} has no version {version}", field="version")
            held = set(self._repo.labels(conn, name).get(version, [])) | set(labels)
            if len(held) > MAX_LABELS:
                raise InvalidArgument(
                    f"a version has at most {MAX_LABELS} labels (version {version} would "
                    f"have {len(held)})",
                    field="labels",
                )
            for label in labels:
                self._repo.set_label(conn, name, label, version)
            self._event(
                conn, actor, "parameter.labeled", name, {"version": version, "labels": labels}
            )
        return LabelResult(name=name, version=version, labels=sorted(held))

    def delete(self, actor: Actor, name: str) -> None:
        """Delete a parameter with every version and label (``manage``)."""
        check_name(name)
        self._refuse_reserved(actor, name, f"delete parameter {name}")
        with self._db.write() as conn:
            head = self._repo.require_head(conn, name)
            self._access.paths(conn, actor, KIND).require(
                Level.MANAGE, name, head.owner_id, "delete it"
            )
            versions = self._repo.remove(conn, name)
            self._access.forget(conn, KIND, name)
            self._event(conn, actor, "parameter.deleted", name, {"versions": versions})

    # -- reads --------------------------------------------------------------------------------

    def _pick(
        self, conn: Connection, name: str, pick: int | str | None, head: Any, field: str
    ) -> Any:
        if pick is None:
            version = int(head.version)
        elif isinstance(pick, int):
            version = pick
        else:
            found = self._repo.label_version(conn, name, pick)
            if found is None:
                raise NotFound(f"parameter {name} has no version labelled {pick!r}", field=field)
            version = int(found)
        row = self._repo.version(conn, name, version)
        if row is None:
            raise NotFound(f"parameter {name} has no version {version}", field=field)
        return row

    def get(self, actor: Actor, selector: str, with_decryption: bool = False) -> Parameter:
        """One version (``name``, ``name:3``, ``name:label``), with ``read``.

        A SecureString's clear value comes only ``with_decryption``, to an actor that may
        decrypt it (:meth:`PathAccess.may_decrypt`); that read is recorded in the event log.
        """
        name, pick = parse_selector(selector)
        with self._db.read() as conn:
            head = self._repo.require_head(conn, name)
            paths = self._access.paths(conn, actor, KIND)
            paths.require(Level.READ, name, head.owner_id, "read it")
            row = self._pick(conn, name, pick, head, "name")
            labels = self._repo.labels(conn, name).get(int(row.version), [])
            decrypt = with_decryption and row.type == _SECURE.value
            if decrypt and not paths.may_decrypt(name, head.owner_id):
                raise PermissionDenied(
                    f"{actor.label} may not decrypt {name}: a SecureString's value needs an "
                    "explicit grant (read or more) on it or a path above it, owning it, or the "
                    "admin role"
                )
        clear = self._cipher.decrypt(name, int(row.version), row.value) if decrypt else None
        if decrypt:
            with self._db.write() as conn:
                self._event(conn, actor, "parameter.decrypted", name, {"version": row.version})
        return _entity(row, labels, clear)

    def get_by_path(
        self,
        actor: Actor,
        path: str,
        *,
        recursive: bool = False,
        max_results: int = 10,
        page_token: str | None = None,
    ) -> ParameterList:
        """The latest version of every readable parameter under ``path`` (its direct children,
        or ``recursive``ly all), by name, a page at a time. SecureStrings are never decrypted
        here."""
        path = check_path(path)
        limit = _page_size(max_results)
        after = _untoken(page_token)
        found: list[Any] = []
        more = False
        with self._db.read() as conn:
            paths = self._access.paths(conn, actor, KIND)
            for _ in range(20):  # bounded: a reader who may see little does not scan all
                rows = self._repo.heads_under(conn, path, after, max(limit * 4, 100))
                for row in rows:
                    if len(found) == limit:
                        more = True
                        break
                    after = row.name
                    if not recursive and "/" in row.name[len(path) :]:
                        continue
                    if paths.level(row.name, row.owner_id) >= Level.READ:
                        found.append(row)
                if more or len(rows) < max(limit * 4, 100):
                    break
            else:
                more = True
            names = [row.name for row in found]
            latest = self._repo.latest(conn, names)
            labels = self._repo.labels_of(conn, names)
        parameters = [
            _entity(latest[n], labels.get((n, int(latest[n].version)), []), None)
            for n in names
            if n in latest
        ]
        token = _token(after) if more and after is not None else None
        return ParameterList(parameters=parameters, next_page_token=token)

    def history(
        self, actor: Actor, name: str, *, max_results: int = 50, page_token: str | None = None
    ) -> ParameterList:
        """Every version, oldest first, with its labels; SecureStrings are never decrypted."""
        check_name(name)
        limit = _page_size(max_results)
        raw = _untoken(page_token)
        if raw is not None and not VERSION.fullmatch(raw):
            raise InvalidArgument("page_token is not one this server gave", field="page_token")
        after = int(raw) if raw else 0
        with self._db.read() as conn:
            head = self._repo.require_head(conn, name)
            self._access.paths(conn, actor, KIND).require(
                Level.READ, name, head.owner_id, "read its history"
            )
            rows = self._repo.versions(conn, name, after, limit + 1)
            labels = self._repo.labels(conn, name)
        more = len(rows) > limit
        rows = rows[:limit]
        token = _token(str(rows[-1].version)) if more else None
        return ParameterList(
            parameters=[_entity(r, labels.get(int(r.version), []), None) for r in rows],
            next_page_token=token,
        )

    # -- references in specs ------------------------------------------------------------------

    def resolve(
        self, actor: Actor, spec: dict[str, Any], *, secure_in: Callable[[str], bool]
    ) -> tuple[dict[str, Any], builtins.list[ParameterUse]]:
        """``spec`` with its parameter references resolved with ``actor``'s permissions.

        A String or StringList reference becomes the value (a StringList's comma-separated
        text). A SecureString may be referenced only where ``secure_in(field)`` says (a job's
        ``environment``), by someone who may decrypt it; its reference stays, pinned to the
        version resolved (``{{param:/db/password:4}}``), and :meth:`reveal` fills it in for
        the job's runner alone. Every reference resolved is returned, with its version.
        """
        uses: list[ParameterUse] = []
        with self._db.read() as conn:
            paths = self._access.paths(conn, actor, KIND)

            def one(match: re.Match[str], field: str) -> str:
                name, pick = parse_selector(match.group(1), field=field)
                head = self._repo.head(conn, name)
                if head is None:
                    raise NotFound(f"parameter {name} does not exist", field=field)
                if paths.level(name, head.owner_id) < Level.READ:
                    raise PermissionDenied(
                        f"{actor.label} may not read parameter {name} (referenced by {field})",
                        field=field,
                    )
                row = self._pick(conn, name, pick, head, field)
                kind = ParameterType(row.type)
                uses.append(ParameterUse(name=name, version=row.version, type=kind, field=field))
                if kind is _SECURE:
                    if not secure_in(field):
                        raise InvalidArgument(
                            f"parameter {name} is a SecureString: it may be used only in "
                            "environment values, which reach the job's process and nothing else",
                            field=field,
                        )
                    if not paths.may_decrypt(name, head.owner_id):
                        raise PermissionDenied(
                            f"{actor.label} may not decrypt SecureString {name} (referenced by "
                            f"{field}): that needs an explicit grant on it or a path above it",
                            field=field,
                        )
                    try:  # refused now, not when the job's runner asks for it
                        self._cipher.check(name, row.version, row.value)
                    except Undecryptable as exc:
                        raise Undecryptable(exc.message, field=field) from None
                    return f"{{{{param:{name}:{row.version}}}}}"
                if _OPENING.search(row.value):
                    raise InvalidArgument(
                        f"the value of parameter {name} holds a parameter reference; references "
                        "are not resolved twice",
                        field=field,
                    )
                return str(row.value)

            def walk(value: Any, field: str) -> Any:
                if isinstance(value, dict):
                    return {
                        k: walk(v, f"{field}.{k}" if field else str(k)) for k, v in value.items()
                    }
                if isinstance(value, list):
                    return [walk(v, f"{field}.{i}") for i, v in enumerate(value)]
                if not isinstance(value, str) or not _OPENING.search(value):
                    return value
                if _OPENING.search(REFERENCE.sub("", value)):
                    raise InvalidArgument(
                        "malformed parameter reference: write {{param:/name}}, "
                        "{{param:/name:3}} or {{param:/name:label}}",
                        field=field,
                    )
                return REFERENCE.sub(lambda m: one(m, field), value)

            resolved = walk(spec, "")
        unique = {(u.name, u.version, u.field): u for u in uses}
        return resolved, list(unique.values())

    def reveal(
        self,
        actor: Actor,
        values: dict[str, str],
        uses: builtins.list[ParameterUse],
        prefix: str,
    ) -> tuple[dict[str, str], builtins.list[str]]:
        """``values`` (a job's environment, its fields named ``<prefix>.<key>``) with the
        SecureString references :meth:`resolve` pinned filled in with their clear values, and
        those clear values (for the job's log to mask). Only references recorded in ``uses``
        are filled: anything else is left as written. Each value revealed is a
        ``parameter.decrypted`` event of ``actor`` (a job's runner), as a decrypted read
        through the API is.

        Raises:
            NotFound: A version used was deleted since.
        """
        secure = {(u.field, u.name, u.version) for u in uses if u.type is _SECURE}
        if not secure:
            return dict(values), []
        out: dict[str, str] = {}
        revealed: set[tuple[str, int]] = set()
        clear: builtins.list[str] = []
        with self._db.read() as conn:

            def fill(match: re.Match[str], field: str) -> str:
                name, _, version = match.group(1).partition(":")
                if not VERSION.fullmatch(version) or (field, name, int(version)) not in secure:
                    return match.group(0)
                row = self._repo.version(conn, name, int(version))
                if row is None:
                    raise NotFound(
                        f"version {version} of parameter {name}, which {field} uses, was deleted",
                        field=field,
                    )
                revealed.add((name, int(version)))
                clear.append(self._cipher.decrypt(name, int(version), row.value))
                return clear[-1]

            for key, value in values.items():
                field = f"{prefix}.{key}"
                out[key] = REFERENCE.sub(lambda m, f=field: fill(m, f), value)  # type: ignore[misc]
        if revealed:
            with self._db.write() as conn:
                for name, version in sorted(revealed):
                    body = {"version": version, "for": prefix}
                    self._event(conn, actor, "parameter.decrypted", name, body)
        return out, clear


def _entity(row: Any, labels: builtins.list[str], clear: str | None) -> Parameter:
    kind = ParameterType(row.type)
    value = clear if kind is _SECURE else str(row.value)
    return Parameter(
        name=row.name,
        type=kind,
        version=row.version,
        value=value,
        values=value.split(",")
        if kind is ParameterType.STRING_LIST and value is not None
        else None,
        decrypted=kind is _SECURE and clear is not None,
        labels=labels,
        description=row.description,
        modified_by=row.created_by,
        modified_time=row.created_time,
    )
