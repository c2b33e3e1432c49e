"""Signature inference from examples."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from dockyard.errors import InvalidArgument
from dockyard.models import ColSpec, ParamSpec, Schema, TensorSpec, infer_signature


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1.5, 2.0], "double"),
        (np.array([1.5], dtype=np.float32), "float"),
        ([1, 2], "long"),
        (np.array([1], dtype=np.int32), "integer"),
        ([1, None], "double"),  # an integer column with gaps can only be served as floats
        ([True, False], "boolean"),
        (["x", "y"], "string"),
        ([b"x"], "binary"),
        (pd.to_datetime(["2024-01-01"]), "datetime"),
    ],
    ids=["double", "float32", "long", "int32", "int-with-gap", "bool", "str", "bytes", "datetime"],
)
def test_infer_column_types(values: Any, expected: str) -> None:
    signature = infer_signature(pd.DataFrame({"x": values}))
    assert signature.inputs is not None
    assert signature.inputs.columns == (ColSpec(type=expected, name="x"),)


@pytest.mark.parametrize(
    "values",
    [[1, "a"], [None, None], np.array([1], dtype=np.uint64)],
    ids=["mixed", "all-missing", "uint64"],
)
def test_infer_refuses_untypeable_column_naming_it(values: Any) -> None:
    with pytest.raises(InvalidArgument, match="column 'x'"):
        infer_signature(pd.DataFrame({"x": values}))


def test_infer_tensor_and_output_and_params() -> None:
    signature = infer_signature(
        np.zeros((4, 3), dtype=np.float32), np.zeros(4, dtype=np.int64), params={"k": 3}
    )
    assert signature.inputs == Schema(tensors=(TensorSpec("float32", (-1, 3)),))
    assert signature.outputs == Schema(tensors=(TensorSpec("int64", (-1,)),))
    assert signature.params == (ParamSpec(name="k", type="long", default=3),)


def test_signature_json_round_trips() -> None:
    signature = infer_signature(pd.DataFrame({"a": [1.0], "s": ["x"]}), params={"t": [0.5]})
    assert type(signature).from_dict(signature.to_dict()) == signature


def test_text_label_tensors_record_a_dtype_that_reads_back() -> None:
    """A classifier's string labels: numpy names a 3-character array ``str96``."""
    labels = np.array(["yes", "no"])
    signature = infer_signature(np.zeros((2, 3)), labels)

    assert signature.outputs == Schema(tensors=(TensorSpec("str", (-1,)),))
    assert type(signature).from_dict(signature.to_dict()) == signature
    assert infer_signature({"raw": np.array([b"ab"])}).inputs == Schema(
        tensors=(TensorSpec("bytes", (-1,), name="raw"),)
    )
