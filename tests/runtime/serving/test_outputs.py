from __future__ import annotations

import io

import numpy as np
import orjson
import pandas as pd
import pytest

from dockyard.runtime.serving._http import NotAcceptable
from dockyard.runtime.serving._outputs import encode, encode_json, negotiate, parse_content_type


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "json"),
        (b"*/*", "json"),
        (b"text/csv", "csv"),
        (b"application/jsonlines", "jsonl"),
        (b"application/x-ndjson", "jsonl"),
        (b"text/html, text/csv;q=0.5, application/json;q=0.9", "json"),
        (b"application/json;q=0, text/csv", "csv"),
        (b"text/*", "csv"),
        (b"TEXT/CSV; charset=utf-8", "csv"),
    ],
)
def test_negotiation_prefers_quality_then_order(accept: bytes | None, expected: str) -> None:
    assert negotiate(accept) == expected


def test_unanswerable_accept_is_406_naming_what_is_written() -> None:
    with pytest.raises(NotAcceptable) as caught:
        negotiate(b"application/xml")
    assert caught.value.status_code == 406
    assert "application/xml" in caught.value.message
    assert "text/csv" in caught.value.message


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        (None, "json"),
        (b"application/json; charset=utf-8", "json"),
        (b"text/csv", "csv"),
        (b"application/jsonlines", "jsonl"),
        (b"application/xml", None),
        (b"*/*", None),
    ],
)
def test_content_types(content_type: bytes | None, expected: str | None) -> None:
    assert parse_content_type(content_type) == expected


def test_float32_predictions_keep_their_exact_value() -> None:
    value = np.array([353.642822265625], dtype=np.float32)
    assert encode_json(value) == b'{"predictions":[353.642822265625]}'
    assert orjson.loads(encode_json(value))["predictions"][0] == float(value[0])


def test_nan_becomes_null_on_both_paths() -> None:
    assert orjson.loads(encode_json(np.array([1.0, np.nan]))) == {"predictions": [1.0, None]}
    frame = pd.DataFrame({"y": [np.nan]})
    assert orjson.loads(encode_json(frame)) == {"predictions": [{"y": None}]}


def test_json_lines_has_one_value_per_prediction() -> None:
    frame = pd.DataFrame({"y": [1.0, 2.0], "label": ["a", "b"]})
    lines = encode(frame, "jsonl").splitlines()
    assert [orjson.loads(line) for line in lines] == [
        {"y": 1.0, "label": "a"},
        {"y": 2.0, "label": "b"},
    ]
    named = {"y": np.array([1, 2]), "z": np.array([3, 4])}
    assert encode(named, "jsonl") == b'{"y":1,"z":3}\n{"y":2,"z":4}\n'
    assert encode(np.array([[1, 2], [3, 4]]), "jsonl") == b"[1,2]\n[3,4]\n"


def test_csv_has_one_line_per_prediction() -> None:
    assert encode(np.array([1.5, 2.0]), "csv") == b"1.5\n2.0\n"


def _npy_back(body: bytes) -> np.ndarray:
    return np.load(io.BytesIO(body), allow_pickle=False)


def test_npy_out_takes_frames_series_labels_and_nan() -> None:
    frame = pd.DataFrame({"y": [1.5, float("nan")]})
    np.testing.assert_array_equal(_npy_back(encode(frame, "npy")), [[1.5], [np.nan]])
    np.testing.assert_array_equal(_npy_back(encode(pd.Series([2, 3]), "npy")), [2, 3])
    labels = pd.Series(["setosa", "virginica"], dtype=object)
    assert _npy_back(encode(labels, "npy")).tolist() == ["setosa", "virginica"]


@pytest.mark.parametrize(
    "predictions", [[[1, 2], [3]], {"a": [1], "b": [2]}], ids=["ragged", "named"]
)
def test_npy_out_of_what_makes_no_array_is_406(predictions: object) -> None:
    with pytest.raises(NotAcceptable, match="no single NumPy array"):
        encode(predictions, "npy")
