"""ONNX flavor: ``model.onnx`` run by onnxruntime, as ``mlflow.onnx`` reads it.

Inputs map to the graph as MLflow maps them: a single graph input takes the whole batch as one
matrix; several inputs take the DataFrame's columns by name; float64 is cast to float32 where the
graph wants floats. A package may name the one output ``predict`` returns (``output_name``, set by
:func:`~dockyard.models.convert_to_onnx` so a converted classifier returns labels as the original
did, with ``flatten_output`` when the source returned one value per row); otherwise a single
output is returned as an array and several as a dict of arrays.
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
    env_hint,
    from_library,
    is_data_frame,
)

__all__ = ["OnnxFlavor", "OnnxPredictor"]

_FILE = "model.onnx"
_CPU = "CPUExecutionProvider"


class OnnxPredictor:
    """An onnxruntime session with the input/output mapping prepared once."""

    def __init__(self, session: Any, output_name: str | None = None, flatten: bool = False) -> None:
        self.raw = session
        self._inputs = [(i.name, i.type, len(i.shape or ())) for i in session.get_inputs()]
        self._outputs = [o.name for o in session.get_outputs()]
        if output_name is not None and output_name not in self._outputs:
            raise InvalidArgument(
                f"flavors.onnx.output_name: the graph has no output {output_name!r}",
                field="flavors.onnx.output_name",
            )
        self._output_name = output_name
        self._flatten = flatten

    def predict(self, data: Any, params: dict[str, Any] | None) -> Any:
        """Run the graph once on the batch."""
        feeds = self._feeds(data)
        for name, kind, _ in self._inputs:
            value = feeds.get(name)
            if kind == "tensor(float)" and value is not None and value.dtype != np.float32:
                feeds[name] = value.astype(np.float32)
        if self._output_name is not None:
            result = self.raw.run([self._output_name], feeds)[0]
            return result.reshape(-1) if self._flatten and result.ndim == 2 else result
        results = self.raw.run(self._outputs, feeds)
        return results[0] if len(results) == 1 else dict(zip(self._outputs, results, strict=True))

    def _feeds(self, data: Any) -> dict[str, Any]:
        if isinstance(data, Mapping):
            return {str(k): np.asarray(v) for k, v in data.items()}
        if len(self._inputs) == 1:
            value = data.to_numpy() if is_data_frame(data) else np.asarray(data)
            return {self._inputs[0][0]: value}
        if is_data_frame(data):
            feeds = {}
            for name, _, rank in self._inputs:
                column = data[name].to_numpy()
                feeds[name] = column.reshape(-1, 1) if rank == 2 else column
            return feeds
        names = ", ".join(name for name, _, _ in self._inputs)
        raise InvalidArgument(
            f"this ONNX model has several inputs ({names}): pass a DataFrame or dict"
        )


class OnnxFlavor(Flavor):
    """ONNX graphs (``onnx.ModelProto``)."""

    name = "onnx"
    mlflow_loader = "mlflow.onnx"
    library = "onnx"
    version_key = "onnx_version"

    def accepts(self, model: Any) -> bool:
        return from_library(model, "onnx") and hasattr(model, "SerializeToString")

    def pickled(self, manifest_flavors: Mapping[str, Any]) -> bool:
        return False

    def check_versions(self, opened: Opened) -> None:
        # The graph's opset decides, not the onnx package's version; onnxruntime reports an
        # opset it cannot run when the session is created (see load).
        try:
            import onnxruntime  # noqa: F401
        except ImportError as exc:
            raise InvalidArgument(
                "this ONNX model needs onnxruntime, which is not installed: " + env_hint(),
                details={"library": "onnxruntime", "installed": None},
            ) from exc

    def save(self, model: Any, model_dir: Path, options: SaveOptions) -> Saved:
        import onnx

        data = model.SerializeToString()
        (model_dir / _FILE).write_bytes(data)
        conf: dict[str, Any] = {
            "data": _FILE,
            "onnx_version": onnx.__version__,
            "providers": [_CPU],
            "code": options.code,
            **options.conf,
        }
        pyfunc = {"loader_module": self.mlflow_loader, "data": _FILE}
        predictor = _session(
            data, [_CPU], conf.get("output_name"), bool(conf.get("flatten_output"))
        )
        return Saved(conf, pyfunc, frozenset({"onnx", "onnxruntime"}), predictor)

    def load(self, opened: Opened) -> Predictor:
        conf = opened.manifest.flavors.get(self.name, {})
        data = read_verified(opened, conf.get("data"), "flavors.onnx.data")
        providers = conf.get("providers")
        wanted = [p for p in providers if isinstance(p, str)] if isinstance(providers, list) else []
        output_name = conf.get("output_name")
        name = output_name if isinstance(output_name, str) else None
        return _session(data, wanted, name, conf.get("flatten_output") is True)


def _session(
    data: bytes, providers: list[str], output_name: str | None, flatten: bool
) -> OnnxPredictor:
    import onnxruntime

    available = set(onnxruntime.get_available_providers())
    usable = [p for p in providers if p in available] or [_CPU]
    try:
        session = onnxruntime.InferenceSession(data, providers=usable)
    except Exception as exc:  # onnxruntime raises its own untyped errors (opset, bad graph)
        raise InvalidArgument(
            f"onnxruntime {onnxruntime.__version__} cannot load this model ({exc}): " + env_hint(),
            details={"library": "onnxruntime", "installed": onnxruntime.__version__},
        ) from exc
    return OnnxPredictor(session, output_name, flatten)
