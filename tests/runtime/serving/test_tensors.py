from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from dockyard.errors import InvalidArgument
from dockyard.runtime.serving._tensors import (
    datatype_of,
    from_binary,
    from_json,
    to_binary,
    to_json_data,
)


def test_flat_and_nested_data_give_the_same_row_major_tensor() -> None:
    flat = from_json("x", "FP64", (2, 3), [1, 2, 3, 4, 5, 6])
    nested = from_json("x", "FP64", (2, 3), [[1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(flat, nested)
    np.testing.assert_array_equal(flat[1], [4.0, 5.0, 6.0])
    assert flat.dtype == np.float64


@pytest.mark.parametrize(
    ("datatype", "data", "words"),
    [
        ("FP64", [1.0, True], "bool"),
        ("INT64", [1, 2.5], "float"),
        ("BOOL", [1, 0], "int"),
        ("FP32", ["1"], "str"),
    ],
)
def test_json_data_must_have_the_declared_type(
    datatype: str, data: list[object], words: str
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        from_json("x", datatype, (len(data),), data)
    assert caught.value.field == "x"
    assert words in caught.value.message


def test_shape_and_datatype_errors_name_the_input() -> None:
    with pytest.raises(
        InvalidArgument, match=r"input 'x': shape \[2, 2\] holds 4 values, data has 3"
    ):
        from_json("x", "FP32", (2, 2), [1, 2, 3])
    with pytest.raises(InvalidArgument, match="unknown datatype 'FP128'"):
        from_json("x", "FP128", (1,), [1])
    with pytest.raises(InvalidArgument, match="out of INT8 range"):
        from_json("x", "INT8", (1,), [1000])


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.uint8, np.bool_])
def test_binary_round_trip(dtype: type) -> None:
    array: np.ndarray[Any, Any] = (
        (np.arange(6) % 2 if dtype is np.bool_ else np.arange(6)).astype(dtype).reshape(2, 3)
    )
    name = datatype_of(array.dtype)
    back = from_binary("x", name, (2, 3), to_binary(array))
    np.testing.assert_array_equal(back, array)
    assert back.dtype == array.dtype


def test_bytes_tensors_round_trip_as_length_prefixed_elements() -> None:
    array = np.array(["pos", "négatif", ""], dtype=object)
    raw = to_binary(array)
    assert raw[:4] == (3).to_bytes(4, "little")
    np.testing.assert_array_equal(from_binary("x", "BYTES", (3,), raw), array)
    assert to_json_data(array) == ["pos", "négatif", ""]
    with pytest.raises(InvalidArgument, match="truncated"):
        from_binary("x", "BYTES", (3,), raw[:-2] + b"\x09\x00")


def test_binary_size_must_match_the_shape() -> None:
    with pytest.raises(InvalidArgument, match="needs 16 bytes, got 8"):
        from_binary("x", "FP64", (2,), b"\x00" * 8)
