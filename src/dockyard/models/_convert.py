"""ONNX conversion of scikit-learn, XGBoost, LightGBM and PyTorch packages, checked for equivalence.

The converted graph takes one float32 matrix (the signature's columns in order; a PyTorch
module's own input tensor) and keeps the source's signature, so callers send exactly what they
sent before. It is accepted only if it agrees with the source on the check data (the given
``dataset``, else the stored input example):

* regressors and PyTorch modules: max |source.predict - onnx| <= ``tolerance``;
* classifiers: every label equal, and max |source.predict_proba - onnx probabilities| <=
  ``tolerance``.

The default tolerance, 1e-4 absolute, allows for float32 arithmetic in onnxruntime (tree
thresholds are float32 in XGBoost and LightGBM already; linear models and small networks differ
around 1e-7). Outputs of large magnitude, or deep networks, may need a larger value. The result
(converter, opsets, rows checked, max difference, tolerance) is recorded under
``dockyard.conversion`` in the new package. PyTorch export is in :mod:`._convert_torch`.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from dockyard.errors import DockyardError, InvalidArgument
from dockyard.models._save import ModelInfo, save_package
from dockyard.models._signature import InputEnforcer
from dockyard.models.pyfunc import load_model

__all__ = ["DEFAULT_TOLERANCE", "convert_to_onnx"]

#: Max absolute difference accepted between the source model and its ONNX conversion.
DEFAULT_TOLERANCE = 1e-4
_CONVERTIBLE = ("sklearn", "xgboost", "lightgbm", "pytorch")


def _refuse(reason: str, **details: Any) -> InvalidArgument:
    return InvalidArgument(
        f"cannot convert to ONNX: {reason}", details={"reason": reason, **details}
    )


def convert_to_onnx(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    dataset: Any = None,
    tolerance: float = DEFAULT_TOLERANCE,
    target_opset: int | None = None,
) -> ModelInfo:
    """Convert a scikit-learn, XGBoost, LightGBM or PyTorch package to an ONNX package.

    Args:
        src: The source package (verified when loaded).
        dst: Where to write the ONNX package.
        dataset: Rows to check equivalence on (anything ``predict`` accepts); default: the
            source's input example.
        tolerance: Max absolute difference accepted (see the module docstring).
        target_opset: The ONNX opset to target; default: the converter's latest.

    Returns:
        The new package's :class:`~dockyard.models.ModelInfo`.

    Raises:
        InvalidArgument: The reason the model cannot convert: its flavor, a non-numeric input,
            no data to check with, a converter error, or outputs that differ beyond
            ``tolerance`` (``details`` carry the measured difference).
    """
    source = load_model(src)
    meta = source.metadata
    if meta.flavor not in _CONVERTIBLE:
        raise _refuse(f"{meta.flavor} models do not convert (only {', '.join(_CONVERTIBLE)})")
    if meta.flavor == "pytorch":
        from dockyard.models._convert_torch import convert_torch

        return convert_torch(
            source, dst, dataset=dataset, tolerance=tolerance, target_opset=target_opset
        )
    schema = meta.signature.inputs if meta.signature is not None else None
    if schema is None:
        raise _refuse("the package has no input signature to shape the ONNX input")
    if schema.is_tensor:
        n_features = schema.tensors[0].shape[-1] if len(schema.tensors) == 1 else -1
    else:
        kinds = {c.name: c.type for c in schema.columns}
        bad = [
            str(n)
            for n, t in kinds.items()
            if t not in ("double", "float", "long", "integer", "boolean")
        ]
        if bad:
            raise _refuse(f"non-numeric input columns {', '.join(bad)}", columns=bad)
        n_features = len(schema.columns)
    if n_features < 1:
        raise _refuse("the input must be one matrix with a known number of features")
    data = dataset if dataset is not None else source.input_example()
    if data is None:
        raise _refuse("no dataset given and the package has no input example to check with")
    prepared = InputEnforcer(schema)(data)
    matrix = np.asarray(prepared, dtype=np.float32).reshape(-1, n_features)
    native = source.unwrap()
    # The reference outputs come first: converting may adjust the native model (feature names).
    expected = np.asarray(_native_predict(native, prepared))
    proba = native.predict_proba(prepared) if hasattr(native, "predict_proba") else None
    graph, converter = _convert(meta.flavor, native, n_features, target_opset)
    output_name, compared, max_diff = _compare(graph, matrix, expected, proba)
    # Regressors' graphs return (rows, 1) where the source returned (rows,): keep the source's.
    flatten = expected.ndim == 1
    if max_diff > tolerance:
        raise _refuse(
            f"ONNX outputs differ from the source by {max_diff:.3g} > tolerance {tolerance:g}",
            max_abs_diff=max_diff,
            tolerance=tolerance,
        )
    opsets = {op.domain or "ai.onnx": int(op.version) for op in graph.opset_import}
    record = {
        "source_model_uuid": meta.model_uuid,
        "source_flavor": meta.flavor,
        "source_digest": meta.digest,
        "converter": converter,
        "opsets": opsets,
        "rows_checked": int(matrix.shape[0]),
        "outputs_compared": compared,
        "max_abs_diff": float(max_diff),
        "tolerance": float(tolerance),
    }
    return save_package(
        graph,
        dst,
        input_example=source.input_example(),
        signature=meta.signature,
        flavor="onnx",
        flavor_conf={"output_name": output_name, "flatten_output": flatten},
        dockyard_extra={"conversion": record},
    )


def _convert(flavor: str, model: Any, n_features: int, opset: int | None) -> tuple[Any, str]:
    try:
        if flavor == "sklearn":
            import skl2onnx
            from skl2onnx.common.data_types import FloatTensorType

            options = {id(model): {"zipmap": False}} if hasattr(model, "predict_proba") else None
            graph = skl2onnx.convert_sklearn(
                model,
                initial_types=[("input", FloatTensorType([None, n_features]))],
                options=options,
                target_opset=opset,
            )
            return graph, f"skl2onnx {skl2onnx.__version__}"
        import onnxmltools
        from onnxmltools.convert.common.data_types import FloatTensorType as MLFloat

        types = [("input", MLFloat([None, n_features]))]
        if flavor == "xgboost":
            booster = model.get_booster() if hasattr(model, "get_booster") else model
            booster.feature_names = None  # the converter reads features as f0, f1, ...
            graph = onnxmltools.convert_xgboost(model, initial_types=types, target_opset=opset)
        else:
            graph = onnxmltools.convert_lightgbm(
                model, initial_types=types, target_opset=opset, zipmap=False
            )
        return _batch_outputs(graph), f"onnxmltools {onnxmltools.__version__}"
    except DockyardError:
        raise
    except Exception as exc:  # converters raise assorted errors for unsupported estimators
        raise _refuse(f"{type(exc).__name__}: {exc}") from exc


def _batch_outputs(graph: Any) -> Any:
    # onnxmltools declares LightGBM's label output with a batch size of 1; onnxruntime then warns
    # on every batch. The first axis of every output is the batch axis: make it symbolic.
    for output in graph.graph.output:
        dims = output.type.tensor_type.shape.dim
        if dims and dims[0].HasField("dim_value"):
            dims[0].dim_param = "N"
    return graph


def _compare(graph: Any, matrix: Any, expected: Any, proba: Any) -> tuple[str, list[str], float]:
    import onnxruntime

    session = onnxruntime.InferenceSession(
        graph.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    outputs = [o.name for o in session.get_outputs()]
    results = dict(zip(outputs, session.run(outputs, {"input": matrix}), strict=True))
    if proba is not None and len(outputs) >= 2:
        label, probabilities = outputs[0], outputs[1]
        mismatched = int(np.sum(np.asarray(results[label]).reshape(-1) != expected.reshape(-1)))
        if mismatched:
            raise _refuse(
                f"{mismatched} predicted labels differ from the source", labels_differ=mismatched
            )
        proba = np.asarray(proba, dtype=np.float64)
        diff = float(
            np.max(np.abs(proba - np.asarray(results[probabilities]).reshape(proba.shape)))
        )
        return label, [label, probabilities], diff
    values = np.asarray(results[outputs[0]], dtype=np.float64).reshape(expected.shape)
    return outputs[0], [outputs[0]], float(np.max(np.abs(values - expected)))


def _native_predict(model: Any, prepared: Any) -> Any:
    if type(model).__name__ == "Booster" and type(model).__module__.startswith("xgboost"):
        import xgboost

        return model.predict(xgboost.DMatrix(prepared))
    return model.predict(prepared)
