"""Saving a model object as a package directory.

A package is written into a hidden sibling directory and renamed into place at the end, so a
crash or an error never leaves a half-written package where a reader could load it.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dockyard.errors import AlreadyExists, DockyardError, InvalidArgument, ModelError
from dockyard.models import flavors
from dockyard.models._env import (
    capture_requirements,
    code_imports,
    dockyard_version,
    python_version,
    write_env_files,
)
from dockyard.models._example import save_example
from dockyard.models._infer import infer_schema
from dockyard.models._integrity import compute_digests, package_digest
from dockyard.models._manifest import FORMAT, Manifest, write_manifest
from dockyard.models._schema import Signature
from dockyard.models._signature import InputEnforcer

__all__ = ["ModelInfo", "save_model", "save_package"]


@dataclass(frozen=True)
class ModelInfo:
    """What :func:`save_model` wrote.

    Attributes:
        path: The package directory.
        model_uuid: A new random id (32 hex digits).
        flavor: The flavor that saved the model.
        digest: The package digest (``sha256:<hex>`` of the manifest) to record and verify.
        signature: The signature stored (given or inferred), if any.
        requirements: The pinned requirement lines.
        utc_time_created: When the package was written (UTC, MLflow's format).
    """

    path: Path
    model_uuid: str
    flavor: str
    digest: str
    signature: Signature | None
    requirements: tuple[str, ...]
    utc_time_created: str


def save_model(
    model: Any,
    path: str | os.PathLike[str],
    *,
    input_example: Any = None,
    signature: Signature | None = None,
    code_paths: Sequence[str | os.PathLike[str]] | None = None,
    artifacts: Mapping[str, str | os.PathLike[str]] | None = None,
    extra_requirements: Sequence[str] | None = None,
    flavor: str | None = None,
) -> ModelInfo:
    """Save a model as a package directory that Dockyard and MLflow both load.

    Args:
        model: A scikit-learn estimator, XGBoost or LightGBM model, ``onnx.ModelProto``,
            ``torch.nn.Module`` or :class:`~dockyard.models.PythonModel`.
        path: Where to write the package; must not exist or be an empty directory.
        input_example: A few rows (DataFrame, dict, list of dicts, ndarray) stored with the
            package; the signature is inferred from it (and from the model's output on it)
            when ``signature`` is not given.
        signature: The signature to store; the example, if any, must satisfy it.
        code_paths: Files or folders copied to ``code/`` and put on ``sys.path`` at load.
        artifacts: ``PythonModel`` only: name -> file or folder, copied into the package and
            handed to ``load_context`` as ``context.artifacts[name]``.
        extra_requirements: Requirement lines added to the captured ones (same name wins).
        flavor: Force a flavor (``sklearn``, ``xgboost``, ``lightgbm``, ``onnx``, ``pytorch``,
            ``python_model``) instead of detecting it from the model's class.

    Returns:
        A :class:`ModelInfo` with the package digest.

    Raises:
        AlreadyExists: ``path`` exists and is not an empty directory.
        InvalidArgument: No flavor for the model, a bad signature or example, a missing code
            path or artifact.
        ModelError: The model failed to predict on the input example.
    """
    return save_package(
        model,
        path,
        input_example=input_example,
        signature=signature,
        code_paths=code_paths,
        artifacts=artifacts,
        extra_requirements=extra_requirements,
        flavor=flavor,
    )


def save_package(
    model: Any,
    path: str | os.PathLike[str],
    *,
    input_example: Any = None,
    signature: Signature | None = None,
    code_paths: Sequence[str | os.PathLike[str]] | None = None,
    artifacts: Mapping[str, str | os.PathLike[str]] | None = None,
    extra_requirements: Sequence[str] | None = None,
    flavor: str | None = None,
    flavor_conf: Mapping[str, Any] | None = None,
    dockyard_extra: Mapping[str, Any] | None = None,
) -> ModelInfo:
    """:func:`save_model` plus flavor options and extra ``dockyard`` manifest entries."""
    target = Path(path)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise AlreadyExists(f"{target} exists and is not an empty directory", field="path")
    chosen = flavors.get(flavor) if flavor is not None else flavors.detect(model)
    if artifacts and chosen.name != "python_model":
        raise InvalidArgument(
            "artifacts are only stored with PythonModel models", field="artifacts"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.partial-{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        sources = [Path(p) for p in code_paths or ()]
        code = _copy_code(sources, staging) if sources else None
        options = flavors.SaveOptions(
            code=code,
            artifacts={k: Path(v) for k, v in (artifacts or {}).items()},
            conf=flavor_conf or {},
        )
        saved = chosen.save(model, staging, options)
        example_info = None
        if input_example is not None:
            signature = _signature_for(input_example, signature, saved.predictor)
            example_info = save_example(staging, input_example)
        requirements = capture_requirements(
            saved.modules | code_imports(sources), extra_requirements or ()
        )
        python = python_version()
        pyfunc = dict(saved.pyfunc)
        pyfunc["env"] = write_env_files(staging, requirements, python)
        pyfunc["python_version"] = python
        if code is not None:
            pyfunc["code"] = code
        digests = compute_digests(staging)
        manifest = Manifest(
            flavors={"python_function": pyfunc}
            | ({chosen.name: saved.conf} if saved.conf is not None else {}),
            model_uuid=uuid.uuid4().hex,
            utc_time_created=str(datetime.now(UTC).replace(tzinfo=None)),
            signature=signature,
            saved_input_example_info=example_info,
            dockyard={
                "format": FORMAT,
                "version": dockyard_version(),
                "flavor": chosen.name,
                "digests": digests,
                **(dockyard_extra or {}),
            },
            extra={"model_size_bytes": sum((staging / n).stat().st_size for n in digests)},
        )
        digest = package_digest(write_manifest(staging, manifest))
        if target.exists():
            target.rmdir()
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ModelInfo(
        path=target,
        model_uuid=str(manifest.model_uuid),
        flavor=chosen.name,
        digest=digest,
        signature=signature,
        requirements=tuple(requirements),
        utc_time_created=str(manifest.utc_time_created),
    )


def _copy_code(sources: list[Path], staging: Path) -> str:
    code_dir = staging / "code"
    code_dir.mkdir()
    for source in sources:
        if not source.exists():
            raise InvalidArgument(f"code path {source} does not exist", field="code_paths")
        target = code_dir / source.name
        if target.exists():
            raise InvalidArgument(f"two code paths are named {source.name}", field="code_paths")
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, target)
    return "code"


def _signature_for(example: Any, signature: Signature | None, predictor: Any) -> Signature:
    if signature is not None:
        InputEnforcer(signature.inputs)(example)  # the example must satisfy the given signature
        return signature
    inputs = infer_schema(example)
    prepared = InputEnforcer(inputs)(example)
    try:
        output = predictor.predict(prepared, None)
    except DockyardError:
        raise
    except Exception as exc:  # the user's model: whatever it raises is a model error
        raise ModelError(f"the model failed to predict on the input example: {exc}") from exc
    try:
        outputs = infer_schema(output)
    except InvalidArgument:
        outputs = None  # outputs are informative only; an odd output type is not an error
    return Signature(inputs=inputs, outputs=outputs)
