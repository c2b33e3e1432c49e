"""PyTorch flavor (optional: torch is imported only when a PyTorch model is saved or loaded).

The module is saved whole with ``torch.save`` and cloudpickle under ``data/model.pth``, with
``data/pickle_module_info.txt`` naming the pickle module, which is ``mlflow.pytorch``'s layout.
The name written there is ``mlflow.pytorch.pickle_module`` (cloudpickle plus pickle's
Unpickler), the one module MLflow can load such a file with; Dockyard maps it to its own shim.
``predict`` runs the module in eval mode without gradients on a float32 tensor made from the
batch (a DataFrame's values or an array), and returns a numpy array.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from dockyard.errors import InvalidArgument
from dockyard.models._integrity import Opened, read_verified
from dockyard.models.flavors._base import (
    Flavor,
    Predictor,
    Saved,
    SaveOptions,
    from_library,
    is_data_frame,
)

__all__ = ["PyTorchFlavor"]

_DIR = "data"
_FILE = "data/model.pth"
_PICKLE_INFO = "data/pickle_module_info.txt"
_MLFLOW_PICKLE_MODULE = "mlflow.pytorch.pickle_module"


def _pickle_module() -> Any:
    """What torch.save and torch.load need of a pickle module.

    cloudpickle writes (so classes defined in ``__main__`` survive) but has no Unpickler; what it
    writes is a standard pickle, so the standard library reads it.
    """
    import pickle
    from types import SimpleNamespace

    import cloudpickle

    return SimpleNamespace(
        __name__=_MLFLOW_PICKLE_MODULE,
        Pickler=cloudpickle.Pickler,
        Unpickler=pickle.Unpickler,
        dump=cloudpickle.dump,
        dumps=cloudpickle.dumps,
        load=pickle.load,
        loads=pickle.loads,
    )


class TorchPredictor:
    """A torch module called on one tensor per batch."""

    def __init__(self, module: Any) -> None:
        import torch

        self.raw = module
        self._torch = torch
        module.eval()

    def predict(self, data: Any, params: dict[str, Any] | None) -> Any:
        """Run the module without gradients; DataFrames become float32 tensors."""
        array = data.to_numpy(dtype=np.float32) if is_data_frame(data) else np.asarray(data)
        with self._torch.no_grad():
            output = self.raw(self._torch.from_numpy(np.ascontiguousarray(array)))
        return output.detach().cpu().numpy()


class PyTorchFlavor(Flavor):
    """``torch.nn.Module`` models."""

    name = "pytorch"
    mlflow_loader = "mlflow.pytorch"
    library = "torch"
    version_key = "pytorch_version"

    def accepts(self, model: Any) -> bool:
        return from_library(model, "torch")

    def save(self, model: Any, model_dir: Path, options: SaveOptions) -> Saved:
        import torch

        (model_dir / _DIR).mkdir()
        (model_dir / _PICKLE_INFO).write_text(_MLFLOW_PICKLE_MODULE)
        torch.save(model, model_dir / _FILE, pickle_module=_pickle_module())
        conf = {"model_data": _DIR, "pytorch_version": str(torch.__version__), "code": options.code}
        pyfunc = {
            "loader_module": self.mlflow_loader,
            "data": _DIR,
            "pickle_module_name": _MLFLOW_PICKLE_MODULE,
        }
        modules = frozenset({"torch", "cloudpickle", type(model).__module__.split(".")[0]})
        return Saved(conf, pyfunc, modules, TorchPredictor(model))

    def load(self, opened: Opened) -> Predictor:
        import io

        import torch

        conf = opened.manifest.flavors.get(self.name, {})
        data_dir = conf.get("model_data", _DIR)
        if not isinstance(data_dir, str):
            raise InvalidArgument("flavors.pytorch.model_data must name a directory")
        info = read_verified(opened, f"{data_dir}/pickle_module_info.txt", "flavors.pytorch")
        module_name = info.decode().strip()
        if module_name not in ("cloudpickle", "pickle", _MLFLOW_PICKLE_MODULE):
            raise InvalidArgument(f"pickle module {module_name!r} is not one PyTorch models use")
        data = read_verified(opened, f"{data_dir}/model.pth", "flavors.pytorch.model_data")
        # weights_only=False: a whole module is a pickle; its bytes were checked just above.
        module = torch.load(io.BytesIO(data), weights_only=False, pickle_module=_pickle_module())
        return TorchPredictor(module)

    def pickled(self, manifest_flavors: Mapping[str, Any]) -> bool:
        return True
