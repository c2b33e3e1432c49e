"""Models from Python: ``dy.log_model``, ``dy.register_model``, ``dy.load_model``.

Every function here goes through the server's HTTP API and
:func:`dockyard.server.registry.fetch_model`, so a URI loads from a notebook exactly as it does in
a job or an endpoint.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.api.registry import (
    CreateModelVersion,
    CreateRegisteredModel,
    ModelVersion,
    check_model_name,
)
from dockyard.api.tracking import CreateRun, RunStatus, UpdateRun
from dockyard.client.http import Client, from_answer, routes
from dockyard.client.sdk._context import context
from dockyard.client.sdk._fluent import _current_run, active_run
from dockyard.client.sdk._requests import build_request
from dockyard.errors import AlreadyExists, InvalidArgument
from dockyard.limits import LIMITS
from dockyard.models.uris import LocalModel, LocalRef, fetch_model, parse_model_uri

if TYPE_CHECKING:
    from dockyard.client.http import ClientSettings
    from dockyard.models import Signature
    from dockyard.models.pyfunc import PyFuncModel
    from dockyard.settings import Settings

__all__ = ["LoggedModel", "download_model", "load_model", "log_model", "register_model"]


@dataclass(frozen=True)
class LoggedModel:
    """What :func:`log_model` stored (and registered).

    Attributes:
        model_uri: ``runs:/<run_id>/<name>``: loads the package from the run's artifacts.
        run_id: The run it was logged to.
        artifact_path: Where in the run's artifacts (``name``).
        flavor: The flavor that saved it.
        digest: The package digest (``sha256:`` of the manifest).
        signature: The signature stored (given or inferred), if any.
        registered_model_name: The registered model, when registered.
        version: The new version number, when registered.
    """

    model_uri: str
    run_id: str
    artifact_path: str
    flavor: str
    digest: str
    signature: Signature | None
    registered_model_name: str | None = None
    version: int | None = None

    @property
    def registered_model_uri(self) -> str | None:
        """``models:/<name>/<version>`` when registered."""
        if self.version is None:
            return None
        return f"models:/{self.registered_model_name}/{self.version}"


def _upload_folder(client: Client, run_id: str, folder: Path, artifact_path: str) -> None:
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = f"{artifact_path}/{file.relative_to(folder).as_posix()}"
        with file.open("rb") as handle:
            call = routes.PUT_ARTIFACT(run_id=run_id, path=rel)
            client.request(call.method, call.path, content=handle)


def _upload_local(client: Client, folder: Path, name: str, run_id: str | None) -> str:
    """Upload a local package into a run (a new, finished one if none is given); its URI."""
    if not (folder / "MLmodel").is_file():
        raise InvalidArgument(f"{folder} is not a model package (no MLmodel)", field="source")
    check_model_name(name)
    artifact_path = f"registered/{name}/{uuid.uuid4().hex[:8]}"
    if run_id is not None:
        _upload_folder(client, run_id, folder, artifact_path)
        return f"runs:/{run_id}/{artifact_path}"
    body = build_request(
        CreateRun,
        run_name=f"register-{name}"[: LIMITS.run_name_length],
        tags=[{"key": "dockyard.registered_from", "value": str(folder)[: LIMITS.tag_value_length]}],
    )
    new_run = client.call(routes.CREATE_RUN(), body)["info"]["run_id"]
    try:
        _upload_folder(client, new_run, folder, artifact_path)
    finally:
        client.call(routes.UPDATE_RUN(run_id=new_run), UpdateRun(status=RunStatus.FINISHED))
    return f"runs:/{new_run}/{artifact_path}"


def _ensure_registered_model(client: Client, name: str) -> None:
    # Registering a new version of an existing model is the usual case.
    with contextlib.suppress(AlreadyExists):
        client.call(
            routes.CREATE_REGISTERED_MODEL(), build_request(CreateRegisteredModel, name=name)
        )


def register_model(
    source: str,
    name: str,
    *,
    run_id: str | None = None,
    description: str = "",
    tags: Mapping[str, str] | None = None,
    client: Client | None = None,
) -> ModelVersion:
    """Register the package ``source`` names as a new version of ``name`` (created if new).

    Args:
        source: ``runs:/<run>/<path>``, ``models:/...``, ``s3://...`` or a local package folder.
            A local folder is first uploaded into a run's artifacts (``run_id``, else the active
            run, else a new one) under ``registered/<name>/<id>``, so it registers the same way
            against a remote server as against the embedded one.
        name: The registered model.
        run_id: The run that produced the package (lineage), for sources that are not runs.
        description: The version's description.
        tags: The version's tags.
        client: The client to use; default: the SDK's current one.

    Returns:
        The new :class:`~dockyard.server.registry.ModelVersion`.
    """
    ref = parse_model_uri(source, "source")
    if client is None:
        # Metrics go out in the background; the version's snapshot must include those logged.
        context().sender.flush()
    if isinstance(ref, LocalRef):
        if client is None and run_id is None:
            run_id = active_run()
        client = client or context().client
        source = _upload_local(client, ref.path, name, run_id)
        run_id = None
    client = client or context().client
    _ensure_registered_model(client, name)
    body = build_request(
        CreateModelVersion,
        source=source,
        run_id=run_id,
        description=description,
        tags=[{"key": k, "value": str(v)} for k, v in (tags or {}).items()],
    )
    answer = client.call(routes.CREATE_MODEL_VERSION(name=name), body)
    return from_answer(ModelVersion, answer)


def log_model(
    model: Any,
    name: str,
    *,
    input_example: Any = None,
    signature: Signature | None = None,
    registered_model_name: str | None = None,
    code_paths: Sequence[str | os.PathLike[str]] | None = None,
    artifacts: Mapping[str, str | os.PathLike[str]] | None = None,
    extra_requirements: Sequence[str] | None = None,
    flavor: str | None = None,
) -> LoggedModel:
    """Save ``model`` as a package into the active run's artifacts under ``name/``.

    Args:
        model: Anything :func:`dockyard.models.save_model` saves (scikit-learn, XGBoost,
            LightGBM, ONNX, PyTorch, a :class:`~dockyard.models.PythonModel`).
        name: The artifact folder (``model``); the URI is ``runs:/<run>/<name>``.
        input_example: A few input rows, stored with the package; the signature is inferred
            from them unless ``signature`` is given.
        signature: The signature to store.
        registered_model_name: Also register the package as a new version of this model.
        code_paths: Files or folders the model's code needs at load time.
        artifacts: ``PythonModel`` only: files handed to ``load_context``.
        extra_requirements: Requirement lines added to the captured ones.
        flavor: Force a flavor instead of detecting it.

    Returns:
        A :class:`LoggedModel` with the URI, digest, signature and, if registered, the version.
    """
    from dockyard.artifacts.paths import normalize_artifact_path
    from dockyard.models import save_model

    artifact_path = normalize_artifact_path(name)
    run_id = _current_run()
    client = context().client
    with tempfile.TemporaryDirectory(prefix="dockyard-log-model-") as tmp:
        info = save_model(
            model,
            Path(tmp) / "model",
            input_example=input_example,
            signature=signature,
            code_paths=code_paths,
            artifacts=artifacts,
            extra_requirements=extra_requirements,
            flavor=flavor,
        )
        _upload_folder(client, run_id, info.path, artifact_path)
    uri = f"runs:/{run_id}/{artifact_path}"
    version = None
    if registered_model_name is not None:
        version = register_model(uri, registered_model_name).version
    return LoggedModel(
        model_uri=uri,
        run_id=run_id,
        artifact_path=artifact_path,
        flavor=info.flavor,
        digest=info.digest,
        signature=info.signature,
        registered_model_name=registered_model_name,
        version=version,
    )


def download_model(
    uri: str, *, client: Client | None = None, settings: Settings | ClientSettings | None = None
) -> LocalModel:
    """A local copy of the package ``uri`` names, from the cache when it is there already.

    Args:
        uri: ``models:/<name>/<version>``, ``models:/<name>@<alias>``, ``models:/<name>/latest``,
            ``runs:/<run>/<path>``, ``s3://...`` or a local folder.
        client: The client to use; default: the SDK's current one.
        settings: Where the cache lives (``<home>/cache/models``); default: the client's.

    Returns:
        A :class:`~dockyard.server.registry.LocalModel` (folder, digest, resolved version).
    """
    if client is None or settings is None:
        ctx = context()
        client = client or ctx.client
        settings = settings or ctx.settings
    return fetch_model(
        uri,
        client=client,
        cache_dir=settings.home / "cache" / "models",
        s3_endpoint_url=settings.s3_endpoint_url,
    )


def load_model(uri: str, *, allow_unverified: bool = False) -> PyFuncModel:
    """Load the model ``uri`` names, verified against its recorded digest.

    Args:
        uri: Any model URI (see :func:`download_model`).
        allow_unverified: Load a package without file digests (saved by MLflow and never
            registered): its pickles are then unpickled unchecked.

    Returns:
        A :class:`~dockyard.models.PyFuncModel` with ``predict`` and ``metadata``.

    Raises:
        NotFound: The model, version, alias, run or path does not exist.
        InvalidArgument: A malformed URI, or a package whose files fail verification.
    """
    from dockyard.models.pyfunc import load_model as load_package

    local = download_model(uri)
    return load_package(local.path, expected_digest=local.digest, allow_unverified=allow_unverified)
