"""Packages that serve through a training script's SageMaker inference handlers.

A script-mode training script may define ``model_fn``, ``input_fn``, ``predict_fn``,
``output_fn`` or ``transform_fn`` (see :mod:`dockyard.models._inference_toolkit`). The job's
packaging keeps the script with the model, and endpoints and batch transform run requests
through those handlers, as SageMaker's framework containers do. Layout::

    MLmodel           flavors: sagemaker_script: {entry_point, code: code, model_dir: model,
                                                  handlers: [model_fn, ...]}
                               python_function: {loader_module: <this module>, code: code}
    code/...          the job's source_dir, the entry point among its files
    model/...         what the job left in SM_MODEL_DIR (model.joblib, ...)

Why a flavor of its own rather than a pickled ``PythonModel`` wrapper: nothing new is pickled
(the script is a plain file under a digest, readable and diffable in the package), the manifest
says what the package is, and the handlers keep SageMaker's contract, which works on request
bodies and content types rather than on decoded frames, so it cannot be expressed through a
``predict`` alone.

Loading imports the entry point (its top-level code runs, as it does in SageMaker's container;
its ``if __name__ == "__main__"`` training block does not) and calls ``model_fn``. That only
ever happens in the processes that run a model (serving and batch workers, a user's own
``load_model``), never in the server, which reads manifests only.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import shutil
import stat
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import ModuleType
from typing import Any

from dockyard.errors import DockyardError, InputRejected, InvalidArgument, ModelError
from dockyard.models._env import code_imports
from dockyard.models._inference_toolkit import (
    DEFAULT_ACCEPT,
    JSON,
    TEXT_TYPES,
    HandlerContext,
    Invoked,
    RawRequest,
    default_input_fn,
    default_output_fn,
    media_type,
)
from dockyard.models._integrity import Opened, open_package
from dockyard.models._manifest import Manifest, inside, safe_relative
from dockyard.models.flavors import _pickle
from dockyard.models.flavors._base import Flavor, MlflowAdapter, Predictor, Saved, SaveOptions

__all__ = ["HANDLERS", "SageMakerScript", "SageMakerScriptFlavor", "ScriptPredictor", "handlers_in"]

LOADER = "dockyard.models.flavors.sagemaker_script"
#: The handler functions SageMaker's inference toolkit looks up in the entry point.
HANDLERS = ("model_fn", "input_fn", "predict_fn", "output_fn", "transform_fn")
_ARITY = {"model_fn": 1, "input_fn": 2, "predict_fn": 2, "output_fn": 2, "transform_fn": 4}
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc")


def handlers_in(script: Path) -> list[str]:
    """The handlers ``script`` defines at top level, found without running it."""
    try:
        tree = ast.parse(script.read_text(encoding="utf-8"), filename=str(script))
    except (SyntaxError, UnicodeDecodeError, OSError):
        return []
    defined = {
        node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    return [name for name in HANDLERS if name in defined]


@dataclass(frozen=True)
class SageMakerScript:
    """What a job leaves to package: its model folder, its code folder and the entry point."""

    model_dir: Path
    code_dir: Path
    entry_point: str
    #: The files of ``code_dir`` to carry (relative paths); every file when None.
    files: tuple[str, ...] | None = None


class SageMakerScriptFlavor(Flavor):
    """Packages whose requests run through a script's SageMaker inference handlers."""

    name = "sagemaker_script"
    mlflow_loader = LOADER
    library = "numpy"
    version_key = "numpy_version"

    def accepts(self, model: Any) -> bool:
        return isinstance(model, SageMakerScript)

    def preload(self, manifest: Manifest, *, dedicated: bool = False) -> None:
        # Which libraries the script needs is known only by running it: nothing to import here.
        importlib.import_module("numpy")

    def check_versions(self, opened: Opened) -> None:
        # model_fn usually unpickles (joblib): the Python version must match, as for pickles.
        conf = opened.manifest.flavors.get(self.name)
        if not isinstance(conf, Mapping):
            raise InvalidArgument(
                f"flavors.{self.name} must be a mapping", field=f"flavors.{self.name}"
            )
        super().check_versions(opened)

    def _check_library(self, saved: str) -> None:
        return  # numpy is Dockyard's own dependency; the script's libraries are its requirements

    def save(self, model: Any, model_dir: Path, options: SaveOptions) -> Saved:
        script: SageMakerScript = model
        entry = safe_relative(script.entry_point, "entry_point")
        if not (script.code_dir / entry).is_file():
            raise InvalidArgument(
                f"entry point {script.entry_point} is not in the code folder", field="entry_point"
            )
        if script.files is None:
            _copy_regular(script.code_dir, model_dir / "code")
        else:
            _copy_listed(script.code_dir, script.files, model_dir / "code")
        _copy_regular(script.model_dir, model_dir / "model")
        found = handlers_in(model_dir / "code" / entry)
        conf = {
            "entry_point": entry.as_posix(),
            "code": "code",
            "model_dir": "model",
            "handlers": found,
        }
        pyfunc = {"loader_module": LOADER, "code": "code"}
        modules = frozenset(code_imports([model_dir / "code"]) | {"numpy"})
        return Saved(conf, pyfunc, modules, _NotAtSaveTime())

    def load(self, opened: Opened) -> Predictor:
        conf = opened.manifest.flavors[self.name]
        where = f"flavors.{self.name}"
        code_dir = inside(opened.path, conf.get("code", "code"), f"{where}.code")
        entry = inside(code_dir, conf.get("entry_point"), f"{where}.entry_point")
        model_dir = inside(opened.path, conf.get("model_dir", "model"), f"{where}.model_dir")
        if not entry.is_file():
            raise InvalidArgument(f"the package has no entry point {entry.name}", field=where)
        with _pickle.no_bytecode():  # a __pycache__ in the package would be an extra file
            module = _import_script(entry, opened.digest)
            handlers = Handlers.of(module, entry.name)
            model = handlers.call("model_fn", str(model_dir))
        return ScriptPredictor(model, handlers, str(model_dir))


class _NotAtSaveTime:
    """Saving never runs the script: a script package stores no inferred signature."""

    raw = None

    def predict(self, data: Any, params: dict[str, Any] | None) -> Any:
        raise InvalidArgument("a package of inference handlers takes no input example")


def _copy_regular(source: Path, target: Path) -> None:
    """Copy a folder's regular files and folders; links and special files stay behind (what
    a job links to is not what it wrote, and may not be readable)."""
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.iterdir()) if source.is_dir() else ():
        mode = path.lstat().st_mode
        if stat.S_ISDIR(mode):
            if path.name != "__pycache__":
                _copy_regular(path, target / path.name)
        elif stat.S_ISREG(mode) and path.suffix != ".pyc":
            shutil.copyfile(path, target / path.name)


def _copy_listed(source: Path, files: tuple[str, ...], target: Path) -> None:
    """Copy the listed files of ``source`` that are still regular files."""
    for name in files:
        relative = safe_relative(name, "files")
        path = source / relative
        if "__pycache__" in relative.parts or not _regular_file(source, relative):
            continue
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target / relative)
    target.mkdir(parents=True, exist_ok=True)


def _regular_file(root: Path, relative: PurePosixPath) -> bool:
    """Whether ``root/relative`` is a regular file reached through no link under ``root``."""
    try:
        folder = root
        for part in relative.parts[:-1]:
            folder = folder / part
            if not stat.S_ISDIR(folder.lstat().st_mode):
                return False
        return stat.S_ISREG((root / relative).lstat().st_mode)
    except OSError:
        return False


def _import_script(entry: Path, digest: str) -> ModuleType:
    """Import the entry point as SageMaker does, by its file's stem (not as ``__main__``).

    The stem is its name in ``sys.modules`` unless another module holds that name (a second
    variant with a ``train.py`` of its own, in the same worker), which gets a private one.
    """
    _add_stand_ins()
    name = entry.stem
    if name in sys.modules:
        name = f"_dockyard_script_{digest.removeprefix('sha256:')[:16]}_{entry.stem}"
    spec = importlib.util.spec_from_file_location(name, entry)
    if spec is None or spec.loader is None:
        raise InvalidArgument(f"cannot import the entry point {entry.name}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:  # top-level code may even exit (argparse)
        sys.modules.pop(name, None)
        raise ModelError(
            f"importing the entry point {entry.name} failed: {type(exc).__name__}: {exc}"
        ) from exc
    return module


def _add_stand_ins() -> None:
    """Let the script import what its training job could: Dockyard's stand-ins for SageMaker's
    toolkits (``sagemaker_containers``, ``sagemaker_training``, ``sagemaker_xgboost_container``;
    see :mod:`dockyard.runtime.runner._compat`), which SageMaker's example scripts import at the
    top.

    They go last on ``sys.path``, as in the job, so an installed toolkit wins. A model runtime
    copied into a package's own environment has no stand-ins: there the script's imports
    must be among the package's requirements.
    """
    import dockyard

    shims = Path(dockyard.__file__).resolve().parent / "runtime" / "runner" / "shims"
    if shims.is_dir() and str(shims) not in sys.path:
        sys.path.append(str(shims))


def _default_model_fn(model_dir: str) -> Any:
    from dockyard.models._model_files import find_native

    found = find_native(Path(model_dir))
    if found is None:
        raise InvalidArgument(
            "the entry point defines no model_fn and the model folder holds no model file "
            "Dockyard loads (*.joblib, *.pkl, xgboost-model, *.txt, *.onnx): define model_fn"
        )
    return found[0]


def _default_predict_fn(input_data: Any, model: Any) -> Any:
    # An XGBoost Booster (what model_fn returns in SageMaker's XGBoost examples) predicts on a
    # DMatrix only; SageMaker's XGBoost container makes one from the decoded request.
    if type(model).__name__ == "Booster" and type(model).__module__.startswith("xgboost"):
        import xgboost

        if not isinstance(input_data, xgboost.DMatrix):
            input_data = xgboost.DMatrix(input_data)
    try:
        return model.predict(input_data)
    except Exception as exc:
        # The model refused the input it was given (three columns for a thirty-feature
        # estimator, a missing value): the caller's to change, as every other model answers it.
        raise InputRejected(
            f"predict_fn failed: {type(exc).__name__}: {exc}", details={"handler": "predict_fn"}
        ) from exc


_DEFAULTS: dict[str, Callable[..., Any]] = {
    "model_fn": _default_model_fn,
    "input_fn": default_input_fn,
    "predict_fn": _default_predict_fn,
    "output_fn": default_output_fn,
}


class Handlers:
    """The script's handlers (or the defaults), each with whether it takes a context."""

    def __init__(self, functions: dict[str, Callable[..., Any]], contextual: set[str]) -> None:
        self.functions = functions
        self.contextual = contextual
        self.transform = "transform_fn" in functions

    @classmethod
    def of(cls, module: ModuleType, script: str) -> Handlers:
        """Look the handlers up in ``module``, as the toolkit validates them.

        Raises:
            InvalidArgument: ``transform_fn`` together with input/predict/output_fn, or a
                handler taking a number of arguments the toolkit cannot call it with.
        """
        functions: dict[str, Callable[..., Any]] = {}
        contextual: set[str] = set()
        for name in HANDLERS:
            user = getattr(module, name, None)
            if user is None:
                if name in _DEFAULTS:
                    functions[name] = _DEFAULTS[name]
                continue
            if not callable(user):
                raise InvalidArgument(f"{script}: {name} is not a function")
            functions[name] = user
            takes = _arity(user)
            if takes == _ARITY[name] + 1:
                contextual.add(name)
            elif takes is not None and takes != _ARITY[name]:
                raise InvalidArgument(
                    f"{script}: {name} takes {takes} arguments; SageMaker calls it with "
                    f"{_ARITY[name]} (or {_ARITY[name] + 1} with the context)"
                )
        mixed = [n for n in ("input_fn", "predict_fn", "output_fn") if hasattr(module, n)]
        if "transform_fn" in functions and mixed:
            raise InvalidArgument(
                f"{script}: transform_fn cannot be used together with {', '.join(mixed)} "
                "(SageMaker refuses the same script)"
            )
        return cls(functions, contextual)

    def call(self, name: str, *args: Any, context: HandlerContext | None = None) -> Any:
        """Run one handler; its exceptions become the model's errors, naming the handler."""
        function = self.functions[name]
        if name in self.contextual:
            args = (*args, context or HandlerContext(str(args[0]) if name == "model_fn" else ""))
        try:
            return function(*args)
        except DockyardError:
            raise
        except Exception as exc:  # the user's code: whatever it raises is the model's error
            raise _handler_error(name, exc) from exc


def _arity(function: Callable[..., Any]) -> int | None:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in parameters):
        return None
    return sum(1 for p in parameters if p.default is p.empty)


def _handler_error(name: str, exc: Exception) -> DockyardError:
    # The toolkit's own errors carry the status to answer with (4xx: the request's fault).
    status = getattr(exc, "status_code", None)
    message = getattr(exc, "message", None) or str(exc)
    text = f"{name} failed: {type(exc).__name__}: {message}"
    if isinstance(status, int) and 400 <= status < 500:
        return InvalidArgument(text, details={"handler": name, "status": status})
    return ModelError(text, details={"handler": name})


class ScriptPredictor:
    """A loaded script package: ``invoke`` answers a request through the handlers;
    ``predict`` runs ``predict_fn`` on data already decoded (``load_model(...).predict(X)``)."""

    #: ``predict_fn`` gets the data as given: the script, not a signature, decides its shape.
    takes_raw_input = True

    def __init__(self, model: Any, handlers: Handlers, model_dir: str) -> None:
        self.raw = model
        self.handlers = handlers
        self.model_dir = model_dir

    def predict(self, data: Any, params: dict[str, Any] | None) -> Any:
        """``predict_fn(data, model)``; a script with only ``transform_fn`` has none."""
        if self.handlers.transform and "predict_fn" not in self.handlers.functions:
            raise InvalidArgument(
                "this script defines transform_fn, which works on request bodies: send the "
                "model a request (an endpoint, a transform job) rather than decoded data"
            )
        return self.handlers.call("predict_fn", data, self.raw, context=self._context({}))

    def _context(self, headers: Mapping[str, str]) -> HandlerContext:
        return HandlerContext(self.model_dir, headers)

    def invoke(self, request: RawRequest) -> Invoked:
        """Answer one request as SageMaker's inference toolkit would.

        Raises:
            InvalidArgument: The request's fault (a body the input_fn refuses, an Accept the
                output_fn cannot write: 415 and 406 from the defaults).
            ModelError: A handler raised, or returned something that is not a body.
        """
        content_type = request.content_type or JSON
        accept = request.accept
        if not accept or accept.strip() == "*/*":
            accept = DEFAULT_ACCEPT
        body: str | bytes = request.body
        if media_type(content_type) in TEXT_TYPES:
            try:
                body = request.body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InvalidArgument(f"the {content_type} body is not UTF-8: {exc}") from None
        context = self._context(request.headers)
        call = self.handlers.call
        if self.handlers.transform:
            result = call("transform_fn", self.raw, body, content_type, accept, context=context)
        else:
            data = call("input_fn", body, content_type, context=context)
            prediction = call("predict_fn", data, self.raw, context=context)
            result = call("output_fn", prediction, accept, context=context)
        answer, answered_type = _body_of(result, accept)
        return Invoked(
            answer,
            answered_type,
            context.response_headers.get("x-amzn-sagemaker-custom-attributes"),
        )


def _body_of(result: Any, accept: str) -> tuple[bytes, str]:
    content_type = accept
    if isinstance(result, tuple) and len(result) == 2:  # (data, content_type), as the toolkit
        result, content_type = result
        content_type = str(content_type)
    if isinstance(result, str):
        return result.encode("utf-8"), content_type
    if isinstance(result, (bytes, bytearray, memoryview)):
        return bytes(result), content_type
    raise ModelError(
        f"output_fn returned a {type(result).__name__}: it must return str or bytes, or "
        "(data, content_type)"
    )


def _load_pyfunc(path: str, model_config: Mapping[str, Any] | None = None) -> Any:
    """MLflow's entry point: ``predict`` runs ``predict_fn`` on decoded data."""
    opened = open_package(path)
    return MlflowAdapter(SageMakerScriptFlavor().load(opened))
