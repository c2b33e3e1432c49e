"""Signature inference from example data: column types for tables, dtypes and shapes for arrays.

Types are named as the cast rule in :mod:`._signature` names them, so an example always
satisfies the signature inferred from it. One deliberate difference from MLflow: an integer
column with missing values is inferred as ``double`` (integers cannot hold them), instead of
``long`` plus a warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from dockyard.errors import InvalidArgument
from dockyard.models._schema import ColSpec, ParamSpec, Schema, Signature, TensorSpec
from dockyard.models._signature import from_tensors, kind_of, to_frame

if TYPE_CHECKING:
    import pandas as pd
else:
    from dockyard.lazy import pandas as pd

__all__ = ["infer_schema", "infer_signature"]


def _column_type(series: pd.Series[Any], name: str) -> str:
    kind = kind_of(series)
    dtype = series.dtype
    if kind == "int":
        if bool(series.isna().any()):
            return "double"  # an integer column with gaps can only be served as floats
        if isinstance(dtype, np.dtype) and dtype.itemsize <= 4 and dtype != np.uint32:
            return "integer"
        if dtype == np.uint64:
            raise InvalidArgument(f"column {name!r}: uint64 has no signature type", field=name)
        return "long"
    if kind == "float":
        return "float" if isinstance(dtype, np.dtype) and dtype.itemsize <= 4 else "double"
    simple = {"bool": "boolean", "string": "string", "bytes": "binary", "datetime": "datetime"}
    if kind in simple:
        return simple[kind]
    raise InvalidArgument(
        f"column {name!r}: cannot infer a type from {kind} values; pass a signature",
        field=name,
        details={"column": name, "received": kind},
    )


def _tensor_dtype(dtype: np.dtype[Any]) -> str:
    """A tensor's dtype as a signature records it: text of any width is ``str`` (numpy names a
    3-character label array ``str96``, which it cannot parse back, and the next batch's labels
    may be longer)."""
    if dtype.kind == "U":
        return "str"
    if dtype.kind == "S":
        return "bytes"
    return dtype.name


def infer_schema(data: Any) -> Schema:
    """Infer a schema from example data: columns for tabular data, a tensor for arrays."""
    data = from_tensors(data)
    if isinstance(data, (list, tuple)) and data and not all(isinstance(r, Mapping) for r in data):
        data = np.asarray(data)
    if isinstance(data, np.ndarray) and not data.dtype.names:
        if data.dtype == object:
            raise InvalidArgument("cannot infer a tensor type from an object array")
        shape = (-1, *data.shape[1:]) if data.ndim else ()
        return Schema(tensors=(TensorSpec(dtype=_tensor_dtype(data.dtype), shape=shape),))
    if isinstance(data, Mapping) and data and all(isinstance(v, np.ndarray) for v in data.values()):
        return Schema(
            tensors=tuple(
                TensorSpec(dtype=_tensor_dtype(v.dtype), shape=(-1, *v.shape[1:]), name=str(k))
                for k, v in data.items()
            )
        )
    if isinstance(data, pd.Series) and data.name is None:
        return Schema(columns=(ColSpec(type=_column_type(data, "0")),))
    frame = to_frame(data, [])
    return Schema(
        columns=tuple(
            ColSpec(type=_column_type(frame[name], str(name)), name=str(name))
            for name in frame.columns
        )
    )


def infer_signature(
    model_input: Any, model_output: Any = None, params: Mapping[str, Any] | None = None
) -> Signature:
    """Infer a signature from an input example and, optionally, an output and params.

    Args:
        model_input: A DataFrame, dict, list of dicts, ndarray, list of rows, or PyTorch
            tensor (or dict of tensors).
        model_output: What the model returned for ``model_input`` (optional).
        params: Example inference params; each becomes a ParamSpec with this default.

    Returns:
        The inferred :class:`Signature`.

    Raises:
        InvalidArgument: A column holds values no signature type describes (mixed types, all
            missing, uint64), naming the column.
    """
    param_specs = tuple(_param_spec(k, v) for k, v in params.items()) if params else None
    return Signature(
        inputs=infer_schema(model_input),
        outputs=infer_schema(model_output) if model_output is not None else None,
        params=param_specs,
    )


def _param_spec(name: str, value: Any) -> ParamSpec:
    items = value if isinstance(value, list) else [value]
    kinds = {
        "boolean"
        if isinstance(v, bool)
        else "long"
        if isinstance(v, int)
        else "double"
        if isinstance(v, float)
        else "string"
        if isinstance(v, str)
        else "?"
        for v in items
    }
    if len(kinds) != 1 or "?" in kinds:
        raise InvalidArgument(f"param {name!r}: cannot infer a type from {value!r}", field=name)
    return ParamSpec(
        name=name, type=kinds.pop(), default=value, shape=(-1,) if isinstance(value, list) else None
    )
