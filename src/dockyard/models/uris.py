"""Model URIs, in one place: what each form means, and how a client gets a verified local copy.

Forms::

    models:/<name>/<version>     a registered version (immutable)
    models:/<name>@<alias>       the version an alias points at now
    models:/<name>/latest        the newest ready version
    models:/m-<32 hex>           an MLflow 3 logged model (its files, as they are now)
    runs:/<run_id>/<path>        a package in a run's artifacts
    s3://bucket/prefix           a package in S3 (or an S3-compatible store)
    /abs/path, ./rel, file://    a package folder on this machine

:func:`parse_model_uri` says which form a string is, refusing anything else with an error naming
the problem. A logged model's id is told from a registered model's name by its shape (``m-`` and
32 hex digits, with nothing after it); ``models:/m-<hex>/1`` is still version 1 of a registered
model of that name. The server resolves ``models:/`` and ``runs:/`` URIs to a file list and the
package digest (``RegistryService.resolve``, ``GET /api/v1/model-uris``); :func:`fetch_model` is the
client half that every consumer (SDK, jobs, endpoints, batch) calls to get a local folder.

Downloads are cached under ``<cache_dir>/<digest hex>``, written to a temporary sibling and
renamed into place only after the files were checked against the digest, so a cache entry is
complete or absent, and a package whose run artifacts later change gets a new entry. An entry
is checked again on every hit: one changed or truncated later (a full disk, a stray edit) is
discarded and downloaded afresh, rather than failing every load from then on.
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote, urlsplit

from dockyard.api.registry import ResolvedModel, check_alias, check_model_name, parse_version
from dockyard.client.http import from_answer
from dockyard.errors import InvalidArgument
from dockyard.paths import expand_user

if TYPE_CHECKING:
    from dockyard.artifacts import ArtifactStore
    from dockyard.client.http import Client

__all__ = [
    "LocalModel",
    "LocalRef",
    "LoggedModelRef",
    "ModelRef",
    "RegistryRef",
    "RunRef",
    "S3Ref",
    "fetch_model",
    "fetch_model_from",
    "fetch_model_from_store",
    "parse_model_uri",
]

_FORMS = (
    "models:/<name>/<version>, models:/<name>@<alias>, models:/<name>/latest, "
    "models:/<logged model id>, runs:/<run_id>/<path>, s3://<bucket>/<prefix> or a local folder"
)
MANIFEST = "MLmodel"
_LOGGED_MODEL_ID = re.compile(r"m-[0-9a-f]{32}")
# Dockyard's run ids are 32 hex digits; other MLflow servers' may be any short word, and a
# registry that records MLflow sources by reference keeps them.
_RUN_ID = re.compile(r"[A-Za-z0-9_.\-]{1,32}")


def _canonical(path: str, *, allow_root: bool = False) -> str:
    # Imported on use: the artifacts package loads the S3 client, which an SDK import should
    # not pay for.
    from dockyard.artifacts.paths import normalize_artifact_path

    return normalize_artifact_path(path, allow_root=allow_root)


@dataclass(frozen=True, slots=True)
class RegistryRef:
    """``models:/``: exactly one of ``version``, ``alias`` or ``latest`` is set."""

    name: str
    version: int | None = None
    alias: str | None = None
    latest: bool = False


@dataclass(frozen=True, slots=True)
class LoggedModelRef:
    """``models:/<model_id>``: an MLflow 3 logged model, by its ``m-<32 hex>`` id."""

    model_id: str


@dataclass(frozen=True, slots=True)
class RunRef:
    """``runs:/<run_id>/<path>``; ``path`` is canonical and may be ``""`` (the run's root)."""

    run_id: str
    path: str


@dataclass(frozen=True, slots=True)
class S3Ref:
    """``s3://<bucket>/<key>``."""

    bucket: str
    key: str


@dataclass(frozen=True, slots=True)
class LocalRef:
    """A folder on this machine."""

    path: Path


ModelRef = RegistryRef | LoggedModelRef | RunRef | S3Ref | LocalRef


def _bad(uri: str, why: str, field: str) -> InvalidArgument:
    return InvalidArgument(f"invalid model URI {uri!r}: {why}", field=field)


def _registry_ref(uri: str, rest: str, field: str) -> RegistryRef | LoggedModelRef:
    if _LOGGED_MODEL_ID.fullmatch(rest):
        return LoggedModelRef(model_id=rest)
    if "@" in rest:
        name, _, alias = rest.partition("@")
        check_model_name(name, field)
        return RegistryRef(name=name, alias=check_alias(alias, field))
    name, slash, tail = rest.rpartition("/")
    if not slash or not name:
        raise _bad(uri, "expected models:/<name>/<version>, @<alias> or /latest", field)
    check_model_name(name, field)
    if tail == "latest":
        return RegistryRef(name=name, latest=True)
    if not tail.isdigit():
        raise _bad(
            uri,
            f"{tail!r} is not a version number (stages are not supported: use an alias, "
            f"models:/{name}@<alias>)",
            field,
        )
    return RegistryRef(name=name, version=parse_version(tail, field))


def parse_model_uri(uri: str, field: str = "uri") -> ModelRef:
    """Say which kind of model URI ``uri`` is.

    Args:
        uri: A model URI (see the module docstring for the forms).
        field: The input field named in errors.

    Raises:
        InvalidArgument: An unknown scheme, a malformed name, version or alias, a run id that is
            not a run id, or a path that escapes its root.
    """
    if not isinstance(uri, str) or not uri.strip():
        raise InvalidArgument("a model URI is required", field=field)
    if uri.startswith("models:"):
        return _registry_ref(uri, uri[len("models:") :].lstrip("/"), field)
    if uri.startswith("runs:"):
        run_id, _, path = uri[len("runs:") :].lstrip("/").partition("/")
        if not _RUN_ID.fullmatch(run_id):
            raise _bad(
                uri,
                f"run id {run_id[:40]!r} is not a run id (up to 32 letters, digits, '_', '-' "
                "or '.')",
                field,
            )
        try:
            canonical = _canonical(path, allow_root=True)
        except InvalidArgument as exc:
            raise _bad(uri, exc.message, field) from exc
        return RunRef(run_id=run_id, path=canonical)
    parts = urlsplit(uri)
    if parts.scheme == "s3":
        if not parts.netloc:
            raise _bad(uri, "no bucket", field)
        key = parts.path.strip("/")
        try:
            key = _canonical(key, allow_root=True)
        except InvalidArgument as exc:
            raise _bad(uri, exc.message, field) from exc
        return S3Ref(bucket=parts.netloc, key=key)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise _bad(uri, "file:// URIs must name this machine", field)
        return LocalRef(Path(unquote(parts.path)))
    if "://" in uri or (parts.scheme and len(parts.scheme) > 1):
        raise _bad(uri, f"unsupported scheme {parts.scheme!r}; use {_FORMS}", field)
    return LocalRef(expand_user(uri, field))


# -- the client half ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LocalModel:
    """A package on local disk, ready for ``dockyard.models.load_model``.

    Attributes:
        uri: The URI it was fetched for.
        path: The package folder.
        digest: The digest to pass as ``load_model(path, expected_digest=digest)``; ``None`` for
            a local folder (its own manifest's digests are checked at load).
        name: The registered model, for ``models:/`` URIs.
        version: The resolved version number, for ``models:/`` URIs (an alias or ``latest``
            resolves to a number when fetched).
        run_id: The run it came from, when known.
    """

    uri: str
    path: Path
    digest: str | None = None
    name: str | None = None
    version: int | None = None
    run_id: str | None = None


def _hex(digest: str) -> str:
    value = digest.removeprefix("sha256:")
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise InvalidArgument(f"malformed package digest {digest!r}", field="digest")
    return value


def _publish(partial: Path, target: Path, digest: str) -> None:
    """Check a downloaded package against ``digest`` and move it into the cache."""
    from dockyard.models._integrity import verify

    try:
        verify(partial, expected_digest=digest)
    except InvalidArgument as exc:
        # A package saved by MLflow has no file digests; its manifest still matched the digest
        # (checked first), and loading it needs an explicit allow_unverified.
        if exc.details.get("reason") != "unsealed":
            raise
    try:
        partial.rename(target)
    except OSError:
        if not (target / MANIFEST).is_file():
            raise
        shutil.rmtree(partial, ignore_errors=True)  # another process published it first


def _cache_hit(target: Path, digest: str) -> bool:
    """Whether ``target`` holds a good copy of the package ``digest``; a bad copy is removed.

    Hashing the files on a hit costs one read of the package, small next to a download, and it
    is what lets a damaged entry heal: without it every load would fail on the same bad file.
    """
    from dockyard.errors import NotFound
    from dockyard.models._integrity import verify

    if not target.exists():
        return False
    try:
        verify(target, expected_digest=digest)
        return True
    except InvalidArgument as exc:
        if exc.details.get("reason") == "unsealed":
            return True  # an MLflow package: its manifest matched, it has no file digests
    except NotFound:
        pass  # the manifest itself is gone
    # Renamed aside first so that no reader ever finds a half-deleted entry under the name.
    stale = target.with_name(f".stale-{uuid.uuid4().hex}")
    try:
        target.rename(stale)
    except OSError:
        return (target / MANIFEST).is_file()  # another process replaced it meanwhile
    shutil.rmtree(stale, ignore_errors=True)
    return False


def _download(client: Client, resolved: ResolvedModel, partial: Path) -> None:
    for item in resolved.files:
        if item.is_dir:
            continue
        relative = _canonical(item.path)  # never trust a path to leave the folder
        local = partial / relative
        local.parent.mkdir(parents=True, exist_ok=True)
        url = f"{resolved.files_url}/{quote(relative)}"
        with client.stream("GET", url) as response, local.open("wb") as out:
            for chunk in response.iter_bytes(1 << 20):
                out.write(chunk)


def _fetch_s3(ref: S3Ref, uri: str, root: Path, s3_endpoint_url: str | None) -> LocalModel:
    from dockyard.artifacts import open_artifact_store
    from dockyard.models._integrity import package_digest

    store = open_artifact_store(f"s3://{ref.bucket}", s3_endpoint_url=s3_endpoint_url)
    files = [f for f in store.list(ref.key, recursive=True) if not f.is_dir]
    prefix = f"{ref.key}/" if ref.key else ""
    names = [f.path[len(prefix) :] for f in files]
    if MANIFEST not in names:
        raise InvalidArgument(f"{uri} is not a model package: it has no {MANIFEST}", field="uri")
    with store.open_read(f"{prefix}{MANIFEST}") as handle:
        digest = package_digest(handle.read(1 << 20))
    target = root / _hex(digest)
    if _cache_hit(target, digest):
        return LocalModel(uri=uri, path=target, digest=digest)
    partial = root / f".partial-{uuid.uuid4().hex}"
    try:
        for name in names:
            store.get_file(f"{prefix}{name}", partial / _canonical(name))
        _publish(partial, target, digest)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return LocalModel(uri=uri, path=target, digest=digest)


def fetch_model(
    uri: str,
    *,
    client: Client | None,
    cache_dir: str | Path,
    s3_endpoint_url: str | None = None,
) -> LocalModel:
    """Get a local, checked copy of the package ``uri`` names; the one entry point for clients.

    ``models:/`` and ``runs:/`` URIs are resolved by the server ``client`` talks to and
    downloaded from it; ``s3://`` is read directly; a local folder is returned as it is.
    Downloads land in ``cache_dir`` keyed by package digest, so a version already fetched costs
    one small request and one read of its files; a cached copy that no longer matches its
    digests is replaced by a fresh download. Load the result with
    ``dockyard.models.load_model(m.path, expected_digest=m.digest)``, which checks every file
    again before anything is unpickled.

    Args:
        uri: Any model URI (see the module docstring).
        client: A client of the Dockyard server that resolves registry and run URIs (None
            where only ``s3://`` and local URIs may come).
        cache_dir: The download cache (the SDK uses ``<DOCKYARD_HOME>/cache/models``).
        s3_endpoint_url: Endpoint of an S3-compatible server for ``s3://`` URIs.

    Returns:
        A :class:`LocalModel` with the folder, the digest and, for registry URIs, the version.

    Raises:
        InvalidArgument: A malformed URI, or a download that does not match the digest (the
            error names the file).
        NotFound: The model, version, alias, run or path does not exist.
    """
    ref = parse_model_uri(uri)
    if isinstance(ref, LocalRef):
        return LocalModel(uri=uri, path=ref.path)
    root = Path(cache_dir)
    root.mkdir(parents=True, exist_ok=True)
    if isinstance(ref, S3Ref):
        return _fetch_s3(ref, uri, root, s3_endpoint_url)
    if client is None:
        raise InvalidArgument(f"{uri} is resolved by a Dockyard server; none given", field="uri")
    resolved = from_answer(
        ResolvedModel, client.request("GET", "/api/v1/model-uris", params={"uri": uri})
    )
    found = LocalModel(
        uri=uri,
        path=root / _hex(resolved.digest),
        digest=resolved.digest,
        name=resolved.name,
        version=resolved.version,
        run_id=resolved.run_id,
    )
    return _cached(resolved, found, lambda partial: _download(client, resolved, partial))


def _cached(
    resolved: ResolvedModel, found: LocalModel, download: Callable[[Path], None]
) -> LocalModel:
    if _cache_hit(found.path, resolved.digest):
        return found
    partial = found.path.parent / f".partial-{uuid.uuid4().hex}"
    try:
        download(partial)
        _publish(partial, found.path, resolved.digest)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return found


def fetch_model_from_store(
    resolved: ResolvedModel, store: ArtifactStore, key: str, *, cache_dir: str | Path
) -> LocalModel:
    """A checked local copy of a package the server resolved itself (``key`` is its folder in
    ``store``): how the server's own processes load models, with no HTTP round trip."""
    root = Path(cache_dir)
    root.mkdir(parents=True, exist_ok=True)
    found = LocalModel(
        uri=resolved.uri,
        path=root / _hex(resolved.digest),
        digest=resolved.digest,
        name=resolved.name,
        version=resolved.version,
        run_id=resolved.run_id,
    )

    def download(partial: Path) -> None:
        for item in resolved.files:
            if not item.is_dir:
                relative = _canonical(item.path)
                store.get_file(f"{key}/{relative}", partial / relative)

    return _cached(resolved, found, download)


def fetch_model_from(
    server_url: str,
    uri: str,
    *,
    cache_dir: str | Path,
    s3_endpoint_url: str | None = None,
    token: str | None = None,
) -> LocalModel:
    """:func:`fetch_model` through the server at ``server_url`` (for processes that hold a URL
    and a token, not a client: a transform job's process)."""
    from dockyard.client.http import Client, SocketTransport

    client = Client(server_url, token=token, transport=SocketTransport())
    try:
        return fetch_model(uri, client=client, cache_dir=cache_dir, s3_endpoint_url=s3_endpoint_url)
    finally:
        client.close()
