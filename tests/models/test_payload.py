"""Request bodies: MLflow's and SageMaker's JSON shapes, CSV with and without header."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from dockyard.errors import InvalidArgument
from dockyard.models import ColSpec, Schema, TensorSpec
from dockyard.models._payload import decode_csv, decode_json, encode_csv, encode_json
from dockyard.models._signature import InputEnforcer

SCHEMA = Schema(columns=(ColSpec("double", "a"), ColSpec("long", "b"), ColSpec("string", "s")))
EXPECTED = pd.DataFrame({"a": [1.0, 2.5], "b": [3, 4], "s": ["x", "y"]})


@pytest.mark.parametrize(
    "body",
    [
        {"dataframe_split": {"columns": ["a", "b", "s"], "data": [[1, 3, "x"], [2.5, 4, "y"]]}},
        {"dataframe_records": [{"a": 1, "b": 3, "s": "x"}, {"a": 2.5, "b": 4, "s": "y"}]},
        {"instances": [{"a": 1, "b": 3, "s": "x"}, {"a": 2.5, "b": 4, "s": "y"}]},
        {"inputs": {"a": [1, 2.5], "b": [3, 4], "s": ["x", "y"]}},
        {"instances": [[1, 3, "x"], [2.5, 4, "y"]]},
        [{"a": 1, "b": 3, "s": "x"}, {"a": 2.5, "b": 4, "s": "y"}],
    ],
    ids=["split", "records", "instances-records", "inputs-columns", "instances-rows", "bare-list"],
)
def test_json_shapes_decode_to_the_same_frame(body: Any) -> None:
    data, params = decode_json(json.dumps(body).encode(), SCHEMA)
    out = InputEnforcer(SCHEMA)(data)
    pd.testing.assert_frame_equal(out.reset_index(drop=True), EXPECTED, check_dtype=False)
    assert out.dtypes.tolist()[:2] == [np.float64, np.int64]
    assert params is None


def test_json_params_are_returned() -> None:
    _, params = decode_json(b'{"instances": [[1, 3, "x"]], "params": {"k": 2}}', SCHEMA)
    assert params == {"k": 2}


@pytest.mark.parametrize(
    "csv",
    ["a,b,s\n1,3,x\n2.5,4,y\n", "1,3,x\n2.5,4,y\n"],
    ids=["header", "no-header"],
)
def test_csv_with_and_without_header(csv: str) -> None:
    out = InputEnforcer(SCHEMA)(decode_csv(csv.encode(), SCHEMA))
    pd.testing.assert_frame_equal(out.reset_index(drop=True), EXPECTED, check_dtype=False)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b'"a string"', "must be an object or a list"),
        (b'{"dataframe_split": {"data": 3}}', "dataframe_split needs"),
        (b'{"instances": [[1]], "params": [1]}', "'params' must be a JSON object"),
    ],
    ids=["syntax", "scalar", "bad-split", "bad-params"],
)
def test_bad_json_is_refused(body: bytes, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        decode_json(body, SCHEMA)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (b"1,2\n", "2 fields; this model takes 3 columns"),
        (b"\xff\xfe", "not UTF-8"),
    ],
    ids=["empty", "field-count", "encoding"],
)
def test_bad_csv_is_refused(body: bytes, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        decode_csv(body, SCHEMA)


def test_rows_of_another_width_are_named_quoted_or_not_and_long_fields_pass() -> None:
    with pytest.raises(InvalidArgument, match="line 3 of the CSV body has 2 fields"):
        decode_csv(b"1,2,3\r\n\r\n4,5\r\n", None)  # a blank line is a row of missing values
    with pytest.raises(InvalidArgument, match="row 3 of the CSV body has 1 field"):
        decode_csv(b'"a,b",1\n"c",2\n3\n', None)
    long = b'"' + b"x" * 200_000 + b'"'  # past the csv module's field limit
    frame = decode_csv(b"a,1\n" + long + b",2\n", None)
    assert frame.shape == (2, 2)


def test_tensor_bodies() -> None:
    schema = Schema(tensors=(TensorSpec("float32", (-1, 2)),))
    assert decode_json(b'{"inputs": [[1, 2]]}', schema)[0].tolist() == [[1, 2]]
    assert decode_csv(b"1,2\n3,4\n", schema).tolist() == [[1, 2], [3, 4]]


def test_encoding_predictions() -> None:
    assert json.loads(encode_json(np.array([1.5, np.nan]))) == {"predictions": [1.5, None]}
    frame = pd.DataFrame({"p": [0.1], "t": pd.to_datetime(["2024-01-01"])})
    assert json.loads(encode_json(frame)) == {
        "predictions": [{"p": 0.1, "t": "2024-01-01 00:00:00"}]
    }
    assert encode_csv(np.array([[1, 2], [3, 4]])) == b"1,2\n3,4\n"
    assert encode_csv(np.array([0, 1])) == b"0\n1\n"


def test_csv_rows_are_unflattened_into_an_image_tensor() -> None:
    image = Schema(tensors=(TensorSpec("float32", (-1, 1, 2, 3)),))
    body = b"0,1,2,3,4,5\n6,7,8,9,10,11\n"
    decoded = decode_csv(body, image)
    assert decoded.shape == (2, 1, 2, 3)
    np.testing.assert_array_equal(decoded[1, 0, 1], [9, 10, 11])
    enforced = InputEnforcer(image)(decoded)
    assert enforced.dtype == np.float32
    # Rows of another length stay rows, and the signature's check names the shape.
    with pytest.raises(InvalidArgument, match=r"expected shape \[-1, 1, 2, 3\], received \[1, 5\]"):
        InputEnforcer(image)(decode_csv(b"0,1,2,3,4\n", image))
    # A free axis leaves the shape unknown: rows are passed on as rows.
    sequence = Schema(tensors=(TensorSpec("float32", (-1, -1, 3)),))
    assert decode_csv(body, sequence).shape == (2, 6)


def test_ragged_tensor_values_are_refused_naming_the_field() -> None:
    image = Schema(tensors=(TensorSpec("float32", (-1, 2)),))
    with pytest.raises(InvalidArgument, match="inputs: the values do not form a tensor") as bad:
        decode_json({"inputs": [[1.0, 2.0], [1.0]]}, image)
    # Which row, not numpy's words for it.
    assert "(inputs[1] has 1 values; inputs[0] has 2)" in bad.value.message
    deeper = Schema(tensors=(TensorSpec("float32", (-1, 2, 1)),))
    with pytest.raises(InvalidArgument, match=r"instances\[1\]\[1\] has 2 values"):
        decode_json({"instances": [[[1.0], [2.0]], [[1.0], [2.0, 3.0]]]}, deeper)


@pytest.mark.parametrize("rows", [1, 2, 5])
def test_csv_without_a_signature_is_headerless(rows: int) -> None:
    body = "".join(f"{i}.5,{i},{-i}\n" for i in range(rows)).encode()
    frame = decode_csv(body, None)
    assert frame.shape == (rows, 3)  # every line is a row: nothing is taken as a header
    assert frame.iloc[0].tolist() == [0.5, 0, 0]


def test_csv_first_line_is_a_header_only_when_it_is_exactly_the_signature_names() -> None:
    unnamed = Schema(columns=(ColSpec("double"), ColSpec("double")))
    assert decode_csv(b"1,2\n", unnamed).shape == (1, 2)
    names = Schema(columns=(ColSpec("string", "a"), ColSpec("string", "b")))
    assert decode_csv(b"a,b\nx,y\n", names).shape == (1, 2)  # exactly the names: a header
    # Other text in the first line is data, even when it looks like a header.
    assert decode_csv(b"b,a\nx,y\n", names)["a"].tolist() == ["b", "x"]
    assert decode_csv(b"A,B\nx,y\n", names).shape == (2, 2)
