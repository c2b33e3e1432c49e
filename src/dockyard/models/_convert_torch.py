"""ONNX export of PyTorch packages (the ``pytorch`` branch of :func:`~._convert.convert_to_onnx`).

The module is exported with ``torch.onnx.export``'s TorchScript-based exporter
(``dynamo=False``): the ``torch.export``-based default needs the ``onnxscript`` package, which
Dockyard does not depend on, and the older exporter covers the feed-forward and convolutional
networks a served model usually is. Every axis the signature leaves open (``-1``: the batch,
and e.g. a sequence length) is a dynamic axis of the graph; the other axes are fixed to the
signature's sizes.

The graph has one input, ``input``, of the dtype the module consumes (its floating dtype for
float signatures and for columns, the signature's own for integers), and one output,
``output``. The package keeps the source's signature, so callers send exactly what they sent
before; the ONNX flavor casts float64 requests to the graph's float32.

Equivalence is checked as for the other flavors: the source package's ``predict`` and
onnxruntime run on the same rows (the given ``dataset``, else the stored example), and the
largest absolute difference must stay within the tolerance.
"""

from __future__ import annotations

import io
import os
import warnings
from typing import Any

import numpy as np

from dockyard.errors import DockyardError
from dockyard.models._convert import _refuse as refuse
from dockyard.models._save import ModelInfo, save_package
from dockyard.models._schema import Schema
from dockyard.models._signature import InputEnforcer
from dockyard.models.flavors.pytorch import TorchPredictor, holds_exported_program
from dockyard.models.pyfunc import PyFuncModel

__all__ = ["convert_torch"]

_INPUT = "input"
_OUTPUT = "output"
_NUMERIC = ("double", "float", "long", "integer", "boolean")


def convert_torch(
    source: PyFuncModel,
    dst: str | os.PathLike[str],
    *,
    dataset: Any,
    tolerance: float,
    target_opset: int | None,
) -> ModelInfo:
    """Export a loaded PyTorch package to ONNX, check it, and save it at ``dst``."""
    import torch

    meta = source.metadata
    schema = meta.signature.inputs if meta.signature is not None else None
    if schema is None:
        raise refuse("the package has no input signature to shape the ONNX input")
    dynamic = _dynamic_axes(schema)
    data = dataset if dataset is not None else source.input_example()
    if data is None:
        raise refuse("no dataset given and the package has no input example to check with")
    prepared = InputEnforcer(schema)(data)
    expected = source.predict(data)
    if not isinstance(expected, np.ndarray):
        raise refuse("the module returns several outputs; only one output tensor converts")
    if holds_exported_program(meta.path, meta.manifest.flavors):
        # Its module refuses the train()/eval() calls of the exporter that runs without onnxscript.
        raise refuse(
            "a torch.export program (pt2) does not convert: save the nn.Module itself to convert "
            "it, or export the program with torch.onnx.export(program, dynamo=True) and save the "
            "ONNX graph"
        )
    module = source.unwrap()
    tensor = TorchPredictor(module).to_tensor(prepared)
    graph = _export(module, tensor, dynamic, target_opset)
    feed = tensor.numpy()
    max_diff = _compare(graph, feed, expected)
    if max_diff > tolerance:
        raise refuse(
            f"ONNX outputs differ from the source by {max_diff:.3g} > tolerance {tolerance:g}",
            max_abs_diff=max_diff,
            tolerance=tolerance,
        )
    record = {
        "source_model_uuid": meta.model_uuid,
        "source_flavor": meta.flavor,
        "source_digest": meta.digest,
        "converter": f"torch.onnx TorchScript exporter (torch {torch.__version__})",
        "opsets": {op.domain or "ai.onnx": int(op.version) for op in graph.opset_import},
        "rows_checked": int(feed.shape[0]),
        "outputs_compared": [_OUTPUT],
        "max_abs_diff": float(max_diff),
        "tolerance": float(tolerance),
    }
    return save_package(
        graph,
        dst,
        input_example=source.input_example(),
        signature=meta.signature,
        flavor="onnx",
        flavor_conf={"output_name": _OUTPUT},
        dockyard_extra={"conversion": record},
    )


def _dynamic_axes(schema: Schema) -> list[int]:
    """The graph input's open axes, refusing what one ONNX input cannot carry."""
    if schema.is_tensor:
        if len(schema.tensors) != 1:
            names = ", ".join(str(t.name) for t in schema.tensors)
            raise refuse(f"the model takes several tensors ({names}); only one input converts")
        return [axis for axis, size in enumerate(schema.tensors[0].shape) if size == -1] or [0]
    bad = [str(c.name) for c in schema.columns if c.type not in _NUMERIC]
    if bad:
        raise refuse(f"non-numeric input columns {', '.join(bad)}", columns=bad)
    return [0]


def _export(module: Any, example: Any, dynamic: list[int], opset: int | None) -> Any:
    import onnx
    import torch

    buffer = io.BytesIO()
    axes = {axis: f"axis{axis}" for axis in dynamic}
    try:
        # The exporter warns that it is the older of torch's two; the result is checked below.
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module,
                (example,),
                buffer,
                dynamo=False,
                input_names=[_INPUT],
                output_names=[_OUTPUT],
                dynamic_axes={_INPUT: axes, _OUTPUT: {0: "axis0"}},
                opset_version=opset,
            )
    except DockyardError:
        raise
    except Exception as exc:  # the exporter raises assorted errors for unsupported operators
        raise refuse(f"torch.onnx.export failed: {type(exc).__name__}: {exc}") from exc
    return onnx.load_from_string(buffer.getvalue())


def _compare(graph: Any, feed: Any, expected: np.ndarray[Any, Any]) -> float:
    import onnxruntime

    session = onnxruntime.InferenceSession(
        graph.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    (result,) = session.run([_OUTPUT], {_INPUT: feed})
    result = np.asarray(result)
    if result.shape != expected.shape:
        raise refuse(
            f"the ONNX output has shape {list(result.shape)}, the source's {list(expected.shape)}"
        )
    if expected.size == 0:
        return 0.0
    got, want = result.astype(np.float64), expected.astype(np.float64)
    # NaN where both give NaN is agreement; NaN on one side only is an infinite difference.
    same_nan = np.isnan(got) & np.isnan(want)
    diff = np.where(same_nan, 0.0, np.abs(got - want))
    return float(np.max(np.nan_to_num(diff, nan=np.inf)))
