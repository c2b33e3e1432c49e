"""The cast rule (see dockyard.models._signature's docstring), for every input form."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import pytest

from dockyard.errors import InvalidArgument
from dockyard.models import ColSpec, ParamSpec, Schema, TensorSpec
from dockyard.models._payload import decode_csv, decode_json
from dockyard.models._signature import InputEnforcer, enforce_params


def columns(**types: str) -> Schema:
    return Schema(columns=tuple(ColSpec(type=t, name=n) for n, t in types.items()))


# --- enforcement: the cast rule --------------------------------------------------------------

ACCEPTED = [
    ("double", [1, 2], np.float64, [1.0, 2.0]),
    ("double", [1.5, None], np.float64, [1.5, np.nan]),
    ("double", [None, None], np.float64, [np.nan, np.nan]),
    ("float", [1.5, 2.5], np.float32, [1.5, 2.5]),
    ("long", np.array([1, 2], dtype=np.int32), np.int64, [1, 2]),
    ("integer", [1, 2], np.int32, [1, 2]),
    ("boolean", [True, False], np.bool_, [True, False]),
    ("string", ["x", None], None, ["x", None]),
    ("datetime", ["2024-01-02T03:04:05"], None, [pd.Timestamp("2024-01-02T03:04:05")]),
]


@pytest.mark.parametrize(
    ("declared", "values", "dtype", "expected"),
    ACCEPTED,
    ids=[
        "int->double",
        "double-missing->NaN",
        "all-missing->NaN",
        "double->float",
        "int32->long",
        "long->integer-in-range",
        "bool",
        "string-missing",
        "iso-text->datetime",
    ],
)
def test_accepted_casts(declared: str, values: Any, dtype: Any, expected: list[Any]) -> None:
    out = InputEnforcer(columns(x=declared))(pd.DataFrame({"x": values}))
    if dtype is not None:
        assert out["x"].dtype == dtype
    got = out["x"].tolist()
    assert [None if pd.isna(v) else v for v in got] == [None if pd.isna(v) else v for v in expected]


REFUSED = [
    ("long", [1.5, 2.0], "double", "floats are not cast to integers"),
    ("long", [2.0, 3.0], "double", "floats are not cast to integers"),
    ("long", [1, None], "double with missing values", "declare the column as double"),
    ("integer", [2**40], "long", "out of range"),
    ("double", ["1.5"], "string", ""),
    ("double", [True], "boolean", ""),
    ("long", [True], "boolean", ""),
    ("boolean", [1, 0], "long", ""),
    ("boolean", [True, None], "boolean with missing values", ""),
    ("string", [1, 2], "long", ""),
    ("datetime", ["yesterday"], "string", "ISO-8601"),
    ("double", [1, "a"], "mixed-integer", ""),
]


@pytest.mark.parametrize(
    ("declared", "values", "received", "why"),
    REFUSED,
    ids=[
        "float->long",
        "integral-float->long",
        "int-with-NaN",
        "int-overflow",
        "string->number",
        "bool->double",
        "bool->long",
        "int->bool",
        "bool-missing",
        "number->string",
        "bad-datetime",
        "mixed",
    ],
)
def test_refused_casts_name_column_and_types(
    declared: str, values: list[Any], received: str, why: str
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        InputEnforcer(columns(x=declared))(pd.DataFrame({"x": values}))
    error = caught.value
    assert f"column 'x': expected {declared}, received {received}" in error.message
    assert why in error.message
    assert error.details["column"] == "x"
    assert error.details["expected"] == declared


def test_missing_required_column_refused_optional_allowed() -> None:
    schema = Schema(columns=(ColSpec("double", "a"), ColSpec("double", "b", required=False)))
    enforce = InputEnforcer(schema)
    assert list(enforce(pd.DataFrame({"a": [1.0]})).columns) == ["a"]
    with pytest.raises(InvalidArgument, match="missing column 'a'"):
        enforce(pd.DataFrame({"b": [1.0]}))


def test_extra_columns_dropped_and_order_restored() -> None:
    enforce = InputEnforcer(columns(a="double", b="long"))
    out = enforce(pd.DataFrame({"z": ["junk"], "b": [2], "a": [1.0]}))
    assert list(out.columns) == ["a", "b"]
    assert out.iloc[0].tolist() == [1.0, 2]


def test_matching_frame_passes_through_without_copy() -> None:
    enforce = InputEnforcer(columns(a="double", b="long", s="string"))
    data = pd.DataFrame({"a": [1.0], "b": [2], "s": ["x"]})
    assert enforce(data) is data
    assert enforce(data) is data  # second call takes the cached-columns path


@pytest.mark.parametrize(
    "data",
    [
        {"a": 1, "b": 2},
        [{"a": 1, "b": 2}],
        {"a": [1], "b": [2]},
        [[1, 2]],
        np.array([[1, 2]]),
        np.array([1, 2]),
    ],
    ids=["one-row-dict", "records", "columns", "rows", "2d-array", "1d-array"],
)
def test_input_shapes_become_the_same_frame(data: Any) -> None:
    out = InputEnforcer(columns(a="double", b="long"))(data)
    assert list(out.columns) == ["a", "b"]
    assert out.dtypes.tolist() == [np.float64, np.int64]
    assert out.iloc[0].tolist() == [1.0, 2]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"a": [1.0], "b": [2, 3]}, "column 'b' of the dict input has 2 value(s) where 'a' has 1"),
        ({"a": np.zeros((2, 2)), "b": [1, 2]}, "column 'a' of the dict input must be a list"),
    ],
    ids=["unequal-lengths", "2d-column"],
)
def test_columns_that_make_no_frame_are_named(data: Any, message: str) -> None:
    with pytest.raises(InvalidArgument, match=re.escape(message)):
        InputEnforcer(columns(a="double", b="long"))(data)


def test_unsupported_input_type_refused() -> None:
    with pytest.raises(InvalidArgument, match="unsupported input type"):
        InputEnforcer(columns(a="double"))(object())


# --- CSV and JSON type the same values the same way ------------------------------------------

SAME_VALUES = [
    ("double", "1\n2\n", [1, 2], [1.0, 2.0]),
    ("double", "1.5\n\n", [1.5, None], [1.5, None]),
    ("string", "NA\n\n", ["NA", None], ["NA", None]),
    ("string", "12\n", ["12"], ["12"]),
    ("boolean", "true\nfalse\n", [True, False], [True, False]),
]


@pytest.mark.parametrize(
    ("declared", "csv", "json_values", "expected"),
    SAME_VALUES,
    ids=["ints-to-double", "missing", "NA-is-text", "digits-as-text", "booleans"],
)
def test_csv_and_json_give_the_same_typed_input(
    declared: str, csv: str, json_values: list[Any], expected: list[Any]
) -> None:
    schema = columns(x=declared)
    enforce = InputEnforcer(schema)
    from_csv = enforce(decode_csv(csv.encode(), schema))
    from_json = enforce(decode_json({"instances": [{"x": v} for v in json_values]}, schema)[0])
    assert from_csv["x"].dtype == from_json["x"].dtype
    for got in (from_csv, from_json):
        assert [None if pd.isna(v) else v for v in got["x"].tolist()] == expected


@pytest.mark.parametrize(
    ("csv", "json_values"),
    [("1\n\n", [1, None]), ("1.5\n", [1.5])],
    ids=["missing", "float"],
)
def test_csv_and_json_refuse_the_same_integer_inputs(csv: str, json_values: list[Any]) -> None:
    schema = columns(x="long")
    enforce = InputEnforcer(schema)
    messages = []
    for data in (
        decode_csv(csv.encode(), schema),
        decode_json([{"x": v} for v in json_values], schema)[0],
    ):
        with pytest.raises(InvalidArgument) as caught:
            enforce(data)
        messages.append(caught.value.message)
    assert messages[0] == messages[1]


# --- tensors and params ----------------------------------------------------------------------


def test_tensor_casts_and_shape() -> None:
    enforce = InputEnforcer(Schema(tensors=(TensorSpec("float32", (-1, 2)),)))
    assert enforce([[1, 2]]).dtype == np.float32
    with pytest.raises(InvalidArgument, match=r"expected shape \[-1, 2\], received \[1, 3\]"):
        enforce([[1.0, 2.0, 3.0]])
    int_enforce = InputEnforcer(Schema(tensors=(TensorSpec("int64", (-1,)),)))
    with pytest.raises(InvalidArgument, match="expected int64, received float64"):
        int_enforce(np.array([1.5]))


def test_params_defaults_types_and_unknown_names() -> None:
    specs = (ParamSpec("k", "long", 3), ParamSpec("mode", "string", "fast"))
    assert enforce_params(None, specs) == {"k": 3, "mode": "fast"}
    assert enforce_params({"k": 5}, specs) == {"k": 5, "mode": "fast"}
    with pytest.raises(InvalidArgument, match="unknown param 'kk'"):
        enforce_params({"kk": 5}, specs)
    with pytest.raises(InvalidArgument, match="param 'k': expected long, received str"):
        enforce_params({"k": "5"}, specs)
    with pytest.raises(InvalidArgument, match="declares no params"):
        enforce_params({"k": 5}, None)


def test_zero_rows_get_the_declared_dtypes() -> None:
    out = InputEnforcer(columns(a="double", b="long", s="string"))(
        pd.DataFrame({"a": [], "b": [], "s": []})
    )
    assert len(out) == 0
    assert out.dtypes.tolist()[:2] == [np.float64, np.int64]


def test_float_arrays_reach_array_taking_models_as_they_are() -> None:
    enforce = InputEnforcer(columns(a="double", b="double"), arrays=True)
    data = np.array([[1.0, 2.0], [3.0, np.nan]])
    assert enforce(data) is data
    # Anything else still becomes the signature's DataFrame: other widths or dtypes fail or
    # are cast as before, and models that need names get them.
    assert list(enforce(np.array([[1, 2]])).columns) == ["a", "b"]
    with pytest.raises(InvalidArgument, match="shape"):
        enforce(np.ones((2, 3)))
    assert isinstance(InputEnforcer(columns(a="double", b="double"))(data), pd.DataFrame)
    mixed = InputEnforcer(columns(a="double", b="long"), arrays=True)
    with pytest.raises(InvalidArgument, match="column 'b': expected long"):
        mixed(np.array([[1.5, 2.0]]))  # the cast rule still applies


def test_headerless_frames_map_onto_made_up_feature_names() -> None:
    import io

    synthetic = Schema(columns=tuple(ColSpec("double", f"f{i}") for i in range(3)))
    frame = pd.read_csv(io.StringIO("1,2,3\n4,5,6\n"), header=None)  # columns 0, 1, 2
    out = InputEnforcer(synthetic)(frame)
    assert out.columns.tolist() == ["f0", "f1", "f2"]
    np.testing.assert_array_equal(out.to_numpy(), [[1, 2, 3], [4, 5, 6]])
    assert frame.columns.tolist() == [0, 1, 2]  # the caller's frame is left alone
    ranged = pd.DataFrame(np.ones((2, 3)))  # a RangeIndex
    assert InputEnforcer(synthetic)(ranged).columns.tolist() == ["f0", "f1", "f2"]
    # Real names are never guessed from positions, nor a frame of another width.
    named = Schema(columns=tuple(ColSpec("double", n) for n in ("a", "b", "c")))
    with pytest.raises(InvalidArgument, match="missing column 'a'"):
        InputEnforcer(named)(frame)
    with pytest.raises(InvalidArgument, match="missing column 'f0'"):
        InputEnforcer(synthetic)(frame.iloc[:, :2])


def test_text_among_a_tensors_numbers_is_named_where_it_is() -> None:
    enforce = InputEnforcer(Schema(tensors=(TensorSpec("float64", (-1, 3)),)))
    data, _ = decode_json({"instances": [[1, 2, 3], [1, "x", 3]]}, enforce.schema)
    with pytest.raises(InvalidArgument) as bad:
        enforce(data)
    # numpy turned the whole request into text for one value ("received str672"): name it.
    assert (
        bad.value.message == "column 'input': expected float64, received text; input[1][1] is 'x'"
    )
