from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from dockyard.errors import InvalidArgument
from dockyard.models import ColSpec, Schema, TensorSpec
from dockyard.runtime.serving._inputs import InputCodec

DOUBLES = Schema(columns=tuple(ColSpec(type="double", name=n) for n in "abc"))
LONGS = Schema(columns=tuple(ColSpec(type="long", name=n) for n in "ab"))
MIXED = Schema(columns=(ColSpec(type="double", name="f"), ColSpec(type="long", name="n")))


def test_fast_path_only_for_uniform_required_named_numeric_columns() -> None:
    assert InputCodec(DOUBLES).fast_dtype == np.float64
    assert InputCodec(LONGS).fast_dtype == np.int64
    assert InputCodec(MIXED).fast_dtype is None
    optional = Schema(columns=(ColSpec(type="double", name="a", required=False),))
    assert InputCodec(optional).fast_dtype is None
    assert InputCodec(Schema(tensors=(TensorSpec("float64", (-1, 3)),))).fast_dtype is None
    assert InputCodec(None).fast_dtype is None


@pytest.mark.parametrize(
    "data",
    [[[1.5, 2, 3.25]], [[1, 2, 3], [4.0, 5.0, 6.0]], [[1e300, -0.0, 7]]],
    ids=["floats-and-ints", "two-rows", "extremes"],
)
def test_fast_rows_equal_what_the_signature_enforcer_gives(data: list[list[Any]]) -> None:
    codec = InputCodec(DOUBLES)
    item = codec.rows(data)
    assert item is not None and item.kind is not None and item.rows == len(data)
    expected = codec.enforce(data, None).data.to_numpy()
    np.testing.assert_array_equal(item.data, expected)
    assert item.data.dtype == np.float64


@pytest.mark.parametrize(
    ("data", "column", "received"),
    [
        ([[1.0, True, 3.0]], "b", "boolean"),
        ([[1.0, 2.0, "3"]], "c", "string"),
    ],
    ids=["boolean", "text"],
)
def test_fast_path_declines_what_the_cast_rule_refuses(
    data: list[list[Any]], column: str, received: str
) -> None:
    codec = InputCodec(DOUBLES)
    assert codec.rows(data) is None  # no silent bool->1.0 or "3"->3.0
    with pytest.raises(InvalidArgument) as caught:
        codec.json({"dataframe_split": {"columns": list("abc"), "data": data}})
    assert caught.value.field == column
    assert received in caught.value.message


def test_missing_values_take_the_general_path_as_nan() -> None:
    codec = InputCodec(DOUBLES)
    assert codec.rows([[1.0, None, 2.0]]) is None
    item = codec.json([[1.0, None, 2.0]])
    assert np.isnan(item.data["b"].iloc[0])


def test_ragged_and_wrong_width_rows_are_declined() -> None:
    codec = InputCodec(DOUBLES)
    assert codec.rows([[1.0, 2.0]]) is None
    assert codec.rows([[1.0, 2.0, 3.0], [1.0]]) is None
    assert codec.rows([1.0, 2.0, 3.0]) is None
    with pytest.raises(InvalidArgument, match="3 values"):
        codec.json([[1.0, 2.0, 3.0], [1.0]])


def test_integer_columns_take_ints_only() -> None:
    codec = InputCodec(LONGS)
    item = codec.rows([[1, 2]])
    assert item is not None and item.data.dtype == np.int64
    assert codec.rows([[1, 2.0]]) is None
    with pytest.raises(InvalidArgument, match="floats are not cast to integers"):
        codec.json([[1, 2.5]])


def test_records_are_put_in_signature_order_and_extra_keys_dropped() -> None:
    codec = InputCodec(DOUBLES)
    item = codec.records([{"c": 3.0, "a": 1.0, "b": 2.0, "extra": "x"}])
    assert item is not None
    np.testing.assert_array_equal(item.data, [[1.0, 2.0, 3.0]])
    assert codec.records([{"a": 1.0, "b": 2.0}]) is None
    with pytest.raises(InvalidArgument, match="missing column 'c'"):
        codec.json([{"a": 1.0, "b": 2.0}])


def test_params_make_an_item_that_never_merges() -> None:
    item = InputCodec(DOUBLES).rows([[1.0, 2.0, 3.0]], {"k": 1})
    assert item is not None and item.kind is None and item.params == {"k": 1}


@pytest.mark.parametrize(
    "body",
    [b"1,2,3\n4.5,5e2,-6\n", b"a,b,c\r\n1,2,3\r\n4.5,5e2,-6", b"1,2,3\n4.5,5e2,-6"],
    ids=["plain", "header-crlf", "no-final-newline"],
)
def test_fast_csv_matches_the_general_csv_decoder(body: bytes) -> None:
    codec = InputCodec(DOUBLES)
    fast = codec.csv(body)
    assert fast is not None
    general = codec.csv_general(body).data.to_numpy()
    np.testing.assert_array_equal(fast.data, general)


@pytest.mark.parametrize("body", [b"1,,3\n", b"1,2,3\n\n4,5,6\n", b"1,2,NA\n", b"1,2\n"])
def test_csv_the_fast_path_cannot_read_goes_to_pandas(body: bytes) -> None:
    codec = InputCodec(DOUBLES)
    assert codec.csv(body) is None


def test_general_items_are_enforced_per_request() -> None:
    codec = InputCodec(MIXED)
    item = codec.json({"dataframe_records": [{"f": 1, "n": 2}]})
    assert isinstance(item.data, pd.DataFrame)
    assert item.data.dtypes.tolist() == [np.float64, np.int64]  # cast before batching
    assert item.kind == ("frame", ("f", "n"))
    with pytest.raises(InvalidArgument) as caught:
        codec.json({"dataframe_records": [{"f": 1.0, "n": 2.5}]})
    assert caught.value.field == "n"


def test_tensor_items_merge_by_dtype_and_trailing_shape() -> None:
    codec = InputCodec(Schema(tensors=(TensorSpec("float32", (-1, 2)),)))
    item = codec.json({"instances": [[1, 2], [3, 4]]})
    assert item.data.dtype == np.float32
    assert item.kind == ("tensor", np.dtype(np.float32).str, (2,))
    with pytest.raises(InvalidArgument, match="shape"):
        codec.json({"instances": [[1, 2, 3]]})
