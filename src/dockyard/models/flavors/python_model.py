"""Custom Python models: a class with ``load_context`` and ``predict``, with its code and artifacts.

Layout (MLflow's ``python_function`` layout, with this module as the loader)::

    python_model.pkl        the PythonModel instance, cloudpickled
    code/...                files and packages from ``code_paths`` (put on ``sys.path`` at load)
    artifacts/<name>/...    files and folders from ``artifacts`` (``context.artifacts[name]``)

MLflow loads such a package by importing ``loader_module`` (this module, so Dockyard must be
installed there) and calling :func:`_load_pyfunc`. Dockyard also loads MLflow's own custom
models (``loader_module: mlflow.pyfunc.model``): same files, and ``predict`` is called with the
context first when the class's ``predict`` takes one, as MLflow's ``PythonModel`` does.
"""

from __future__ import annotations

import inspect
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockyard.errors import InvalidArgument, ModelError
from dockyard.models._integrity import Opened, open_package
from dockyard.models._manifest import inside
from dockyard.models.flavors import _pickle
from dockyard.models.flavors._base import Flavor, MlflowAdapter, Predictor, Saved, SaveOptions

__all__ = ["PythonModel", "PythonModelContext", "PythonModelFlavor"]

LOADER = "dockyard.models.flavors.python_model"
MLFLOW_LOADER = "mlflow.pyfunc.model"
_FILE = "python_model.pkl"
_ARTIFACT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class PythonModelContext:
    """What :meth:`PythonModel.load_context` receives.

    Attributes:
        artifacts: Artifact name -> absolute local path of the file or folder.
        model_config: Free-form configuration stored with the package.
    """

    artifacts: dict[str, str] = field(default_factory=dict)
    model_config: dict[str, Any] = field(default_factory=dict)


class PythonModel:
    """Base class of custom models.

    Override :meth:`predict`; override :meth:`load_context` to open artifacts once at load.
    Instances are cloudpickled when saved, so keep heavy state out of ``__init__`` and load it
    in ``load_context`` instead.
    """

    def load_context(self, context: PythonModelContext) -> None:
        """Called once after loading, with the package's artifacts."""

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        """Predict on a batch that already passed the signature.

        Args:
            model_input: A DataFrame (column signature) or array (tensor signature).
            params: Inference params after the signature's defaults were applied.
        """
        raise NotImplementedError


class PythonModelPredictor:
    """Calls the user's ``predict``, passing the context first for MLflow-style classes."""

    def __init__(self, model: Any, context: PythonModelContext) -> None:
        self.raw = model
        self._context = context
        parameters = inspect.signature(model.predict).parameters
        self._with_context = "context" in parameters
        self._with_params = "params" in parameters or any(
            p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
        )

    def predict(self, data: Any, params: dict[str, Any] | None) -> Any:
        """Call the model's ``predict`` once on the batch."""
        args = (self._context, data) if self._with_context else (data,)
        if self._with_params:
            return self.raw.predict(*args, params=params)
        return self.raw.predict(*args)


class _SaveTimePredictor:
    """Runs ``load_context`` only if the model must predict while saving (signature inference),
    with the artifacts at their original paths."""

    def __init__(self, model: Any, context: PythonModelContext) -> None:
        self.raw = model
        self._context = context
        self._predictor: PythonModelPredictor | None = None

    def predict(self, data: Any, params: dict[str, Any] | None) -> Any:
        if self._predictor is None:
            _call_load_context(self.raw, self._context)
            self._predictor = PythonModelPredictor(self.raw, self._context)
        return self._predictor.predict(data, params)


class PythonModelFlavor(Flavor):
    """Custom models deriving from :class:`PythonModel` (or any object with ``predict``)."""

    name = "python_model"
    mlflow_loader = LOADER
    library = "cloudpickle"
    version_key = "cloudpickle_version"

    def accepts(self, model: Any) -> bool:
        return isinstance(model, PythonModel)

    def check_versions(self, opened: Opened) -> None:
        python_model = opened.manifest.python_function.get("python_model")
        if isinstance(python_model, str) and python_model.endswith(".py"):
            raise InvalidArgument(
                "this package is an MLflow 'model from code' (python_model is a script), "
                "which Dockyard does not load: it would run the script on load",
                field="flavors.python_function.python_model",
            )
        super().check_versions(opened)

    def save(self, model: Any, model_dir: Path, options: SaveOptions) -> Saved:
        import cloudpickle

        if not callable(getattr(model, "predict", None)):
            raise InvalidArgument(f"{type(model).__name__} has no predict method")
        artifacts: dict[str, dict[str, str]] = {}
        local: dict[str, str] = {}
        for name, source in options.artifacts.items():
            artifacts[name] = {"path": _copy_artifact(name, Path(source), model_dir)}
            local[name] = str(Path(source).resolve())
        modules = _pickle.dump(model, model_dir / _FILE)
        pyfunc: dict[str, Any] = {
            "loader_module": LOADER,
            "python_model": _FILE,
            "cloudpickle_version": cloudpickle.__version__,
            "code": options.code,
        }
        if artifacts:
            pyfunc["artifacts"] = artifacts
        context = PythonModelContext(artifacts=local)
        return Saved(None, pyfunc, modules | {"cloudpickle"}, _SaveTimePredictor(model, context))

    def load(self, opened: Opened) -> Predictor:
        conf = opened.manifest.python_function
        model = _pickle.load(opened, conf.get("python_model", _FILE), "python_model")
        artifacts = conf.get("artifacts") or {}
        if not isinstance(artifacts, Mapping):
            raise InvalidArgument("flavors.python_function.artifacts must be a mapping")
        paths = {}
        for name, entry in artifacts.items():
            where = f"flavors.python_function.artifacts.{name}"
            relative = entry.get("path") if isinstance(entry, Mapping) else None
            paths[str(name)] = str(inside(opened.path, relative, where).resolve())
        config = conf.get("model_config")
        context = PythonModelContext(paths, dict(config) if isinstance(config, Mapping) else {})
        with _pickle.no_bytecode():
            _call_load_context(model, context)
        return PythonModelPredictor(model, context)


def _copy_artifact(name: str, source: Path, model_dir: Path) -> str:
    if not _ARTIFACT_NAME.fullmatch(name):
        raise InvalidArgument(f"artifact name {name!r}: use letters, digits, '_', '.', '-'")
    if not source.exists():
        raise InvalidArgument(f"artifact {name!r}: {source} does not exist", field=name)
    target = model_dir / "artifacts" / name
    if source.is_dir():
        shutil.copytree(source, target)
        return f"artifacts/{name}"
    target.mkdir(parents=True)
    shutil.copy2(source, target / source.name)
    return f"artifacts/{name}/{source.name}"


def _call_load_context(model: Any, context: PythonModelContext) -> None:
    hook = getattr(model, "load_context", None)
    if hook is None:
        return
    try:
        hook(context)
    except Exception as exc:  # user code: any failure is the model's, reported as such
        raise ModelError(f"{type(model).__name__}.load_context failed: {exc}") from exc


def _load_pyfunc(path: str, model_config: Mapping[str, Any] | None = None) -> Any:
    """MLflow's entry point (``mlflow.pyfunc.load_model`` imports this module and calls it).

    The package is verified first; MLflow has already put its ``code`` folder on ``sys.path``.
    """
    opened = open_package(path)
    return MlflowAdapter(PythonModelFlavor().load(opened))
