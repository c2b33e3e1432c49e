"""Loading a package as a :class:`PyFuncModel`: one ``predict`` for every flavor.

Loading order is the security boundary: read the manifest, check every file's digest, check the
library versions the package needs, and only then let the flavor read (and unpickle) its files.

``predict`` is on the serving hot path, so everything that depends only on the package (column
order, expected dtypes, parameter defaults, the native predict method) is prepared at load, and
a DataFrame that already matches the signature reaches the model without a copy.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.errors import DockyardError, InputRejected, InvalidArgument
from dockyard.models import flavors
from dockyard.models._env import read_requirements
from dockyard.models._example import load_example
from dockyard.models._inference_toolkit import Invoked, RawRequest
from dockyard.models._integrity import Opened, open_package
from dockyard.models._manifest import Manifest, inside, parse_manifest, read_manifest_bytes
from dockyard.models._schema import Signature
from dockyard.models._signature import InputEnforcer, enforce_params

__all__ = ["ModelMetadata", "PyFuncModel", "load_model"]


@dataclass(frozen=True)
class ModelMetadata:
    """What a loaded package is.

    Attributes:
        path: The package directory.
        flavor: The flavor that loaded it (``sklearn``, ``xgboost``, ``python_model``...).
        model_uuid: The package's id, if its manifest has one.
        signature: The stored signature, if any.
        requirements: The pinned requirement lines of ``requirements.txt``.
        python_version: The Python version the package was saved with.
        library_version: The flavor library's version at save time (``sklearn_version``...).
        digest: The package digest (``sha256:<hex>`` of the manifest).
        verified: Whether every file was checked against a digest (False for an MLflow
            package loaded with ``allow_unverified=True``).
        utc_time_created: When the package was saved.
        manifest: The whole parsed manifest.
    """

    path: Path
    flavor: str
    model_uuid: str | None
    signature: Signature | None
    requirements: tuple[str, ...]
    python_version: str | None
    library_version: str | None
    digest: str
    verified: bool
    utc_time_created: str | None
    manifest: Manifest


class PyFuncModel:
    """A loaded model with a signature-enforcing ``predict``."""

    def __init__(self, predictor: flavors.Predictor, metadata: ModelMetadata) -> None:
        self.metadata = metadata
        self._predictor = predictor
        self._predict = predictor.predict
        signature = metadata.signature
        self._enforce: Callable[[Any], Any] = (
            _as_given
            if getattr(predictor, "takes_raw_input", False)
            else InputEnforcer(
                signature.inputs if signature is not None else None,
                arrays=getattr(predictor, "takes_arrays", False),
            )
        )
        #: Answers a whole request (body, content type, accept) for packages that read request
        #: bodies themselves (SageMaker inference handlers); None for every other package.
        self.invoke: Callable[[RawRequest], Invoked] | None = getattr(predictor, "invoke", None)
        self._param_specs = signature.params if signature is not None else None
        defaults = enforce_params(None, self._param_specs)
        self._defaults = defaults

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """Predict on a batch (or one row) after enforcing the signature.

        Args:
            data: A DataFrame, ndarray, list of dicts (records), list of rows, or dict (one row
                of scalars, or columns of lists).
            params: Inference params; checked against the signature, defaults filled in.

        Returns:
            The native model's output (usually an ndarray), unchanged.

        Raises:
            InvalidArgument: The input or params break the signature (the error names the
                column and the expected and received types).
            InputRejected: The model itself raised on ``data`` (a :class:`ModelError`).
        """
        prepared = self._enforce(data)
        if params is None:
            merged = dict(self._defaults) if self._defaults is not None else None
        else:
            merged = enforce_params(params, self._param_specs)
        try:
            return self._predict(prepared, merged)
        except DockyardError:
            raise
        except Exception as exc:  # the native model's own errors: reported as the model's
            raise InputRejected(f"the {self.metadata.flavor} model failed: {exc}") from exc

    def array_predict(self) -> Callable[[Any], Any] | None:
        """The predictor's own call on a 2-D array in signature order, without the signature
        check or params; ``None`` when the predictor does not take arrays.

        For callers that have already shaped and typed their rows (the serving fast path): it
        skips building the native library's wrapper objects that :meth:`unwrap` may need.
        """
        if not getattr(self._predictor, "takes_arrays", False):
            return None
        predict = self._predict
        return lambda rows: predict(rows, None)

    def unwrap(self) -> Any:
        """The native model object (estimator, Booster, InferenceSession, PythonModel...)."""
        return self._predictor.raw

    def input_example(self) -> Any:
        """The input example stored with the package, or ``None``."""
        manifest = self.metadata.manifest
        signature = self.metadata.signature
        schema = signature.inputs if signature is not None else None
        return load_example(self.metadata.path, manifest.saved_input_example_info, schema)

    def __repr__(self) -> str:
        return f"PyFuncModel(flavor={self.metadata.flavor!r}, path={str(self.metadata.path)!r})"


def _as_given(data: Any) -> Any:
    return data


def load_model(
    path: str | os.PathLike[str],
    *,
    expected_digest: str | None = None,
    allow_unverified: bool = False,
) -> PyFuncModel:
    """Load a package (saved by Dockyard or by MLflow) after verifying it.

    Args:
        path: The package directory.
        expected_digest: The package digest recorded when the model was registered; a package
            whose manifest differs is refused.
        allow_unverified: Load a package that has no digests (one saved by MLflow). Its pickles
            are then unpickled unchecked: use only for packages from a trusted source.

    Returns:
        A :class:`PyFuncModel`.

    Raises:
        NotFound: No package at ``path``.
        InvalidArgument: Tampered, missing or extra files; a malformed manifest; an unknown
            flavor; or library versions this environment lacks (the message says how to build
            the package's own environment).
        ModelError: The model's own loading code (``load_context``) raised.
    """
    opened = open_package(path, expected_digest=expected_digest, allow_unverified=allow_unverified)
    flavor = flavors.for_manifest(opened.manifest)
    flavor.check_versions(opened)
    _add_code_path(opened, flavor.name)
    try:
        predictor = flavor.load(opened)
    except DockyardError:
        raise
    except Exception as exc:  # a library's own error on a file it cannot read
        raise InvalidArgument(
            f"the {flavor.name} model in {opened.path} cannot be loaded: {exc}",
            details={"flavor": flavor.name},
        ) from exc
    return PyFuncModel(predictor, _metadata(opened, flavor))


def preload_libraries(path: str | os.PathLike[str], *, dedicated: bool = False) -> None:
    """Import the library that loads the package at ``path``, without loading its model.

    A process that forks workers calls this first: the workers then share the imported modules'
    memory and skip importing them, and each loads the model itself (thread pools that loading
    or predicting starts, such as OpenMP's, do not survive a fork). Nothing is verified here;
    :func:`load_model` does that in every worker.

    Args:
        path: The package directory.
        dedicated: The process will run only this package, so the library's optional
            integrations the package does not use may be left out (a native XGBoost Booster,
            and an ``XGBRegressor``, ``XGBClassifier`` or ``LGBMRegressor`` that predicts
            through its booster, load without scikit-learn, which imports SciPy and pandas:
            1.2 s and 135 MB). Never set it in a process that may load other
            models: XGBoost decides once per process whether scikit-learn is there.

    Raises:
        DockyardError: No readable manifest, or a flavor Dockyard does not know.
        ImportError: The library is not installed.
    """
    manifest = parse_manifest(read_manifest_bytes(Path(path)))
    flavors.for_manifest(manifest).preload(manifest, dedicated=dedicated)


def _add_code_path(opened: Opened, flavor: str) -> None:
    conf = opened.manifest.python_function
    code = conf.get("code") or opened.manifest.flavors.get(flavor, {}).get("code")
    if not code:
        return
    # Like MLflow, code paths go on sys.path for the life of the process: pickles refer to the
    # user's modules by name, and those names must resolve whenever the model runs.
    code_dir = str(inside(opened.path, code, "flavors.python_function.code").resolve())
    if code_dir not in sys.path:
        sys.path.insert(0, code_dir)


def _metadata(opened: Opened, flavor: flavors.Flavor) -> ModelMetadata:
    manifest = opened.manifest
    version = manifest.flavors.get(flavor.name, {}).get(flavor.version_key)
    if version is None:
        version = manifest.python_function.get(flavor.version_key)
    python = manifest.python_function.get("python_version")
    return ModelMetadata(
        path=opened.path,
        flavor=flavor.name,
        model_uuid=manifest.model_uuid,
        signature=manifest.signature,
        requirements=tuple(read_requirements(opened.path)),
        python_version=str(python) if python is not None else None,
        library_version=str(version) if version is not None else None,
        digest=opened.digest,
        verified=opened.verified,
        utc_time_created=manifest.utc_time_created,
        manifest=manifest,
    )
