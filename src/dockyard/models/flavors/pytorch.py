"""PyTorch flavor (optional: torch is imported only when a PyTorch model is saved or loaded).

Two formats, both ``mlflow.pytorch``'s layout, so either tool loads the other's packages:

* **pickle** (any ``torch.nn.Module``): the whole module saved with ``torch.save`` and
  cloudpickle under ``data/model.pth``, with ``data/pickle_module_info.txt`` naming the pickle
  module. The whole module, not a ``state_dict``: a state_dict needs the code that builds the
  module (and its constructor arguments) at load time, which MLflow's format has no place for;
  cloudpickle carries classes defined in the training script (``__main__``) by value, and
  classes imported from the user's own files load when those files are passed as
  ``code_paths``. The pickle runs code when loaded, so its bytes are checked against the
  package's digests first and unpickled from those same bytes.
* **pt2** (a ``torch.export.ExportedProgram``): ``torch.export.save`` to ``data/model.pt2``
  (MLflow's ``serialization_format="pt2"``). It loads without the model's Python code. The
  batch axis must be dynamic (export with an example of two or more rows and
  ``dynamic_shapes={"x": {0: torch.export.Dim.AUTO}}``), or every batch size but the example's
  would fail. TorchScript, torch's older code-free format, is deprecated as of torch 2.9: a
  ``ScriptModule`` is still saved as MLflow saves it, and TorchScript files MLflow wrote load.

``predict`` runs the module in eval mode under ``torch.inference_mode`` (no autograd records),
on CPU tensors made from the batch without a copy where the dtype allows: floating inputs take
the module's floating dtype (float32 unless the model was converted), so JSON's float64 reaches
a float32 model as float32; integer and boolean inputs (indices, masks) keep theirs. A
DataFrame becomes one matrix of the module's floating dtype (MLflow's rule); named tensors
become keyword arguments of ``forward``, and so do signature params. The output is a numpy
array, or a dict of arrays for a module that returns a dict of tensors.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from dockyard.errors import InvalidArgument, ModelError
from dockyard.models._integrity import Opened, read_verified
from dockyard.models.flavors._base import (
    Flavor,
    Predictor,
    Saved,
    SaveOptions,
    env_hint,
    from_library,
    is_data_frame,
)
from dockyard.models.flavors._pickle import no_bytecode

__all__ = ["PyTorchFlavor", "TorchPredictor", "holds_exported_program"]

_DIR = "data"
_PICKLE_FILE = "model.pth"
_PT2_FILE = "model.pt2"
_PICKLE_INFO = "pickle_module_info.txt"
_MLFLOW_PICKLE_MODULE = "mlflow.pytorch.pickle_module"


def _pickle_module(modules: set[str] | None = None) -> Any:
    """What torch.save and torch.load need of a pickle module.

    cloudpickle writes (so classes defined in ``__main__`` survive) but has no Unpickler; what it
    writes is a standard pickle, so the standard library reads it. When ``modules`` is given, the
    modules the pickle refers to are recorded in it (they are what the requirements must pin).
    """
    import pickle
    from types import SimpleNamespace

    import cloudpickle

    class _Recording(cloudpickle.Pickler):  # type: ignore[misc]
        def reducer_override(self, value: Any) -> Any:
            if modules is not None:
                modules.add(type(value).__module__)
                owner = getattr(value, "__module__", None) if isinstance(value, type) else None
                if isinstance(owner, str):
                    modules.add(owner)
            return super().reducer_override(value)

    return SimpleNamespace(
        __name__=_MLFLOW_PICKLE_MODULE,
        Pickler=_Recording,
        Unpickler=pickle.Unpickler,
        dump=cloudpickle.dump,
        dumps=cloudpickle.dumps,
        load=pickle.load,
        loads=pickle.loads,
    )


def _numpy(output: Any, torch: Any) -> Any:
    if isinstance(output, torch.Tensor):
        output = output.detach()
        if output.device.type != "cpu":
            output = output.cpu()
        if output.dtype == torch.bfloat16:  # numpy has no bfloat16
            output = output.float()
        return output.numpy()
    if isinstance(output, Mapping) and all(isinstance(v, torch.Tensor) for v in output.values()):
        return {str(k): _numpy(v, torch) for k, v in output.items()}
    raise ModelError(
        f"the module returned a {type(output).__name__}: a served PyTorch model returns one "
        "tensor, or a dict of tensors"
    )


class TorchPredictor:
    """A torch module called once per batch (see the module docstring for the input rule)."""

    #: A 2-D float64 array predicts exactly as the DataFrame of the same columns.
    takes_arrays = True

    def __init__(self, module: Any, *, exported: bool = False) -> None:
        """Wrap ``module`` as it is: a loaded module is put in eval mode by its loader, and the
        caller's own module (at save) keeps its mode, being switched only around a predict."""
        import torch

        self.raw = module
        self._torch = torch
        #: A ``torch.export`` program's module: its graph was captured in one mode and refuses
        #: train()/eval().
        self.exported = exported
        first = next(iter(module.parameters()), None)
        self._device = first.device if first is not None else torch.device("cpu")
        floating = [p.dtype for p in module.parameters() if p.dtype.is_floating_point]
        dtype = floating[0] if floating else torch.get_default_dtype()
        self._float = torch.empty(0, dtype=dtype).numpy().dtype if dtype != torch.bfloat16 else None

    def predict(self, data: Any, params: dict[str, Any] | None) -> Any:
        """Run ``forward`` once on the batch, without autograd."""
        torch = self._torch
        module = self.raw
        # The module saved is the caller's own object, maybe still in training mode: predict in
        # eval mode (dropout off, batch-norm running statistics) and leave its mode as it was.
        training = not self.exported and bool(module.training)
        if training:
            module.eval()
        try:
            with torch.inference_mode():
                kwargs = dict(params) if params else {}
                if isinstance(data, Mapping):
                    tensors = {str(k): self.to_tensor(v) for k, v in data.items()}
                    output = module(**tensors, **kwargs)
                else:
                    output = module(self.to_tensor(data), **kwargs)
                return _numpy(output, torch)
        finally:
            if training:
                module.train()

    def to_tensor(self, value: Any) -> Any:
        """One model input (array or DataFrame) as the tensor ``forward`` receives."""
        torch = self._torch
        if self._float is None:  # a bfloat16 module: numpy cannot hold its inputs
            array = value.to_numpy(np.float32) if is_data_frame(value) else np.asarray(value)
            tensor = torch.from_numpy(_writable(array))
            if tensor.dtype.is_floating_point:
                tensor = tensor.to(torch.bfloat16)
        else:
            if is_data_frame(value):
                array = value.to_numpy(dtype=self._float)
            else:
                array = np.asarray(value)
                if array.dtype.kind == "f" and array.dtype != self._float:
                    array = array.astype(self._float)
            tensor = torch.from_numpy(_writable(array))
        return tensor if self._device.type == "cpu" else tensor.to(self._device)


def _writable(array: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    # torch.from_numpy shares memory and warns on read-only arrays (a view of request bytes).
    array = np.ascontiguousarray(array)
    return array if array.flags.writeable else array.copy()


def _is_torchscript(data: bytes) -> bool:
    """Whether a ``.pth`` file is a TorchScript archive (code and constants) and not a pickle."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return any(name.endswith("/constants.pkl") for name in archive.namelist())
    except zipfile.BadZipFile:
        return False


def _check_batch_axis(program: Any, torch: Any) -> None:
    """Refuse an exported program whose inputs have a fixed number of rows."""
    names = set(program.graph_signature.user_inputs)
    for node in program.graph.nodes:
        if node.op != "placeholder" or node.name not in names:
            continue
        value = node.meta.get("val")
        shape = getattr(value, "shape", None)
        if shape is not None and len(shape) and not isinstance(shape[0], torch.SymInt):
            raise InvalidArgument(
                f"the exported program takes exactly {shape[0]} rows in input {node.name!r}: "
                "export with an example of two or more rows and a dynamic batch axis "
                f"(dynamic_shapes={{{node.name!r}: {{0: torch.export.Dim.AUTO}}}})",
                field="model",
            )


def _data_dir(manifest_flavors: Mapping[str, Any]) -> str:
    conf = manifest_flavors.get("pytorch") or {}
    data_dir = conf.get("model_data", _DIR) if isinstance(conf, Mapping) else _DIR
    if not isinstance(data_dir, str):
        raise InvalidArgument(
            "flavors.pytorch.model_data must name a directory", field="flavors.pytorch.model_data"
        )
    return data_dir


def holds_exported_program(path: Path, manifest_flavors: Mapping[str, Any]) -> bool:
    """Whether the package at ``path`` holds a ``torch.export`` program (pt2) and not a module.

    MLflow's own rule: a package without ``model.pth`` holds an exported program.
    """
    return not (path / _data_dir(manifest_flavors) / _PICKLE_FILE).exists()


class PyTorchFlavor(Flavor):
    """``torch.nn.Module`` models and ``torch.export`` programs."""

    name = "pytorch"
    mlflow_loader = "mlflow.pytorch"
    library = "torch"
    version_key = "pytorch_version"

    def accepts(self, model: Any) -> bool:
        return from_library(model, "torch")

    def save(self, model: Any, model_dir: Path, options: SaveOptions) -> Saved:
        import torch

        data_dir = model_dir / _DIR
        data_dir.mkdir()
        modules = {"torch"}
        if isinstance(model, torch.export.ExportedProgram):
            _check_batch_axis(model, torch)
            torch.export.save(model, data_dir / _PT2_FILE)
            serialization, predictor = "pt2", TorchPredictor(model.module(), exported=True)
        elif isinstance(model, torch.jit.ScriptModule):
            (data_dir / _PICKLE_INFO).write_text(_MLFLOW_PICKLE_MODULE)
            with warnings.catch_warnings():  # the caller chose TorchScript; torch deprecates it
                warnings.simplefilter("ignore", DeprecationWarning)
                torch.jit.save(model, str(data_dir / _PICKLE_FILE))
            serialization, predictor = "torchscript", TorchPredictor(model)
        elif isinstance(model, torch.nn.Module):
            (data_dir / _PICKLE_INFO).write_text(_MLFLOW_PICKLE_MODULE)
            referred: set[str] = set()
            torch.save(model, data_dir / _PICKLE_FILE, pickle_module=_pickle_module(referred))
            modules |= {"cloudpickle", *(m.split(".")[0] for m in referred if m)}
            serialization, predictor = "pickle", TorchPredictor(model)
        else:
            raise InvalidArgument(
                f"the pytorch flavor saves a torch.nn.Module or a torch.export.ExportedProgram, "
                f"not a {type(model).__name__}",
                field="model",
            )
        conf = {
            "model_data": _DIR,
            "pytorch_version": str(torch.__version__),
            "serialization_format": serialization,
            "code": options.code,
        }
        pyfunc = {
            "loader_module": self.mlflow_loader,
            "data": _DIR,
            "pickle_module_name": _MLFLOW_PICKLE_MODULE,
        }
        return Saved(conf, pyfunc, frozenset(modules), predictor)

    def load(self, opened: Opened) -> Predictor:
        import torch

        data_dir = _data_dir(opened.manifest.flavors)
        field = "flavors.pytorch.model_data"
        if holds_exported_program(opened.path, opened.manifest.flavors):
            data = read_verified(opened, f"{data_dir}/{_PT2_FILE}", field)
            program = torch.export.load(io.BytesIO(data))
            return TorchPredictor(program.module(), exported=True)
        data = read_verified(opened, f"{data_dir}/{_PICKLE_FILE}", field)
        if _is_torchscript(data):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                return TorchPredictor(torch.jit.load(io.BytesIO(data), map_location="cpu").eval())
        info = read_verified(opened, f"{data_dir}/{_PICKLE_INFO}", "flavors.pytorch")
        module_name = info.decode(errors="replace").strip()
        if module_name not in ("cloudpickle", "pickle", _MLFLOW_PICKLE_MODULE):
            raise InvalidArgument(
                f"pickle module {module_name!r} is not one PyTorch models use",
                field="flavors.pytorch",
            )
        try:
            with no_bytecode():
                # weights_only=False: a whole module is a pickle; its bytes were checked above.
                # map_location: a model trained on a GPU serves on a machine without one.
                module = torch.load(
                    io.BytesIO(data),
                    weights_only=False,
                    pickle_module=_pickle_module(),
                    map_location="cpu",
                )
        except ModuleNotFoundError as exc:
            raise InvalidArgument(
                f"the PyTorch model needs the module {exc.name!r}, which is not importable: "
                "save the model with code_paths naming the files that define its classes, or "
                + env_hint(),
                field=field,
                details={"library": exc.name, "installed": None},
            ) from exc
        if not isinstance(module, torch.nn.Module):
            raise InvalidArgument(
                f"{data_dir}/{_PICKLE_FILE} holds a {type(module).__name__}, not a "
                "torch.nn.Module: a state_dict needs the code that builds its module, so save "
                "the module itself",
                field=field,
            )
        return TorchPredictor(module.eval())

    def pickled(self, manifest_flavors: Mapping[str, Any]) -> bool:
        conf = manifest_flavors.get(self.name)
        fmt = conf.get("serialization_format") if isinstance(conf, Mapping) else None
        return fmt not in ("pt2", "torchscript")
