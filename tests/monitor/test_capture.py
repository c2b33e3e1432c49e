from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from dockyard.errors import InvalidArgument
from dockyard.monitor import INFERENCE_ID, Dataset, capture
from dockyard.monitor.readers import batches


def _record(
    request_id: str,
    data: Any,
    *,
    encoding: str = "json",
    content_type: str = "application/json",
    kind: str = "production",
    output: Any = None,
    time: str = "2026-11-05T20:53:14.123456Z",
) -> str:
    record = {
        "request_id": request_id,
        "time": time,
        "endpoint": "churn",
        "variant": "blue",
        "kind": kind,
        "status": 200,
        "input": {"content_type": content_type, "encoding": encoding, "data": data},
        "output": {"content_type": "application/json", "encoding": "json", "data": output},
    }
    return json.dumps(record) + "\n"


def _rows(path: Path, side: str = "input") -> list[dict[str, Any]]:
    data = Dataset((str(path),), format="capture", capture_side=side)  # type: ignore[arg-type]
    return pa.Table.from_batches(list(batches(data))).to_pylist()


def test_every_request_shape_becomes_rows_with_the_inference_id(tmp_path: Path) -> None:
    csv_text = "1,2.5,a\n3,4.5,b\n"
    lines = [
        _record("r1", csv_text, encoding="text", content_type="text/csv"),
        _record("r2", {"instances": [[5, 6.5, "c"]]}),
        _record(
            "r3", {"dataframe_split": {"columns": ["_c0", "_c1", "_c2"], "data": [[7, 8.5, "d"]]}}
        ),
        _record("r4", {"dataframe_records": [{"_c0": 9, "_c1": 1.5, "_c2": "e"}]}),
        _record("r5", [[11, 2.5, "f"]]),
        _record(
            "r6",
            base64.b64encode(b"13,3.5,g\n").decode(),
            encoding="base64",
            content_type="text/csv",
        ),
        _record("shadow", [[0, 0.0, "x"]], kind="shadow"),
    ]
    path = tmp_path / "capture.jsonl"
    path.write_text("".join(lines))
    # Rows come grouped by the shape of their body, not in record order.
    rows = sorted(_rows(path), key=lambda r: (r[INFERENCE_ID], r["_c0"]))
    assert [r[INFERENCE_ID] for r in rows] == ["r1", "r1", "r2", "r3", "r4", "r5", "r6"]
    assert [r["_c0"] for r in rows] == [1, 3, 5, 7, 9, 11, 13]
    assert [r["_c2"] for r in rows] == list("abcdefg")


def test_numbers_keep_their_json_type_and_ragged_csv_falls_back(tmp_path: Path) -> None:
    lines = [
        _record("a", {"instances": [[1, 2.5], [3, 4.0]]}),
        _record("b", "1,2\n\n", encoding="text", content_type="text/csv"),  # a blank line
        _record("c", "3,4,5\n\n6,7,8\n", encoding="text", content_type="text/csv"),
    ]
    path = tmp_path / "capture.jsonl"
    path.write_text("".join(lines))
    data = Dataset((str(path),), format="capture")
    found = list(batches(data))
    json_batch = next(b for b in found if b.column(INFERENCE_ID).to_pylist()[0] == "a")
    assert json_batch.schema.field("_c0").type == pa.int64()
    assert json_batch.schema.field("_c1").type == pa.float64()
    csv_rows = [r for b in found for r in b.to_pylist() if r[INFERENCE_ID] in ("b", "c")]
    assert csv_rows == [
        {"_c0": 1, "_c1": 2, "_c2": None, INFERENCE_ID: "b"},
        {"_c0": 3, "_c1": 4, "_c2": 5, INFERENCE_ID: "c"},
        {"_c0": 6, "_c1": 7, "_c2": 8, INFERENCE_ID: "c"},
    ]


def test_open_inference_protocol_tensors_are_columns(tmp_path: Path) -> None:
    body = {
        "inputs": [
            {"name": "features", "shape": [2, 2], "datatype": "FP32", "data": [1, 2, 3, 4]},
            {"name": "flag", "shape": [2], "datatype": "INT64", "data": [0, 1]},
        ]
    }
    path = tmp_path / "oip.jsonl"
    path.write_text(_record("r1", body))
    assert _rows(path) == [
        {"features_0": 1, "features_1": 2, "flag": 0, INFERENCE_ID: "r1"},
        {"features_0": 3, "features_1": 4, "flag": 1, INFERENCE_ID: "r1"},
    ]


def test_both_sides_put_predictions_next_to_inputs(tmp_path: Path) -> None:
    path = tmp_path / "both.jsonl"
    path.write_text(_record("r1", {"instances": [[1], [2]]}, output={"predictions": [0.1, 0.9]}))
    rows = _rows(path, "both")
    assert [(r["_c0"], r["prediction"]) for r in rows] == [(1, 0.1), (2, 0.9)]
    assert [r["prediction"] for r in _rows(path, "output")] == [0.1, 0.9]


def test_a_line_that_is_not_json_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(_record("r1", [[1]]) + "{oops\n")
    with pytest.raises(InvalidArgument, match=r"bad.jsonl, line 2: not a capture record"):
        _rows(path)


def test_auto_format_recognises_capture_keys(tmp_path: Path) -> None:
    folder = tmp_path / "capture" / "churn" / "blue" / "2026" / "11" / "05" / "20"
    folder.mkdir(parents=True)
    (folder / "20261105T205314-w1-0.jsonl").write_text(_record("r1", [[1, 2]]))
    data = Dataset((str(tmp_path / "capture"),), format="auto")
    rows = pa.Table.from_batches(list(batches(data))).to_pylist()
    assert rows == [{"_c0": 1, "_c1": 2, INFERENCE_ID: "r1"}]


def _csv_record(request_id: str, text: str, **fields: Any) -> str:
    return _record(request_id, text, encoding="text", content_type="text/csv", **fields)


def test_a_block_of_csv_requests_is_parsed_whole(tmp_path: Path) -> None:
    block = "".join(
        [
            _csv_record("r1", "1,2.5,a"),
            _csv_record("r2", "3,4.5,b\n5,6.5,c\n"),
            _csv_record("s", "0,0.0,x", kind="shadow"),
            json.dumps({"request_id": "no-input", "kind": "production"}) + "\n",
            "\n",
            _csv_record("r3", "7,8.5,d\r\n"),
        ]
    ).encode()
    bulk = capture._bulk_csv(block, ("n", "x", "s"))
    assert bulk is not None
    assert pa.Table.from_batches(bulk).to_pylist() == [
        {"n": 1, "x": 2.5, "s": "a", INFERENCE_ID: "r1"},
        {"n": 3, "x": 4.5, "s": "b", INFERENCE_ID: "r2"},
        {"n": 5, "x": 6.5, "s": "c", INFERENCE_ID: "r2"},
        {"n": 7, "x": 8.5, "s": "d", INFERENCE_ID: "r3"},
    ]


@pytest.mark.parametrize(
    "odd",
    [
        _record("json", [[9, 9.5, "z"]]),  # a JSON body
        _record(
            "b64", base64.b64encode(b"9,9.5,z").decode(), encoding="base64", content_type="text/csv"
        ),
        _csv_record("blank", "9,9.5,z\n\n"),  # a blank line: rows no longer match breaks
        _csv_record("ragged", "9,9.5"),
        json.dumps({"request_id": 7, "input": {"encoding": "text", "data": "9,9.5,z"}}) + "\n",
    ],
)
def test_a_block_with_anything_else_is_read_record_by_record(tmp_path: Path, odd: str) -> None:
    text = _csv_record("r1", "1,2.5,a") + odd
    assert capture._bulk_csv(text.encode(), None) is None
    path = tmp_path / "capture.jsonl"
    path.write_text(text)
    ids = {r[INFERENCE_ID] for r in _rows(path)}
    assert "r1" in ids and len(ids) == 2


def test_a_request_longer_than_pyarrows_blocks_still_goes_whole() -> None:
    text = "".join(f"{i},{i}.5,v{i % 7}\n" for i in range(80_000))  # ~1.3 MB in one line
    block = (_csv_record("big", text) + _csv_record("small", "1,2.5,a")).encode()
    bulk = capture._bulk_csv(block, None)
    assert bulk is not None
    ids = pa.Table.from_batches(bulk).column(INFERENCE_ID).to_pylist()
    assert ids == ["big"] * 80_000 + ["small"]


def test_blocks_keep_whole_lines_and_errors_name_the_line_across_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(capture, "_BLOCK_BYTES", 300)  # a few records a block, cut mid-line
    lines = [_csv_record(f"r{i}", f"{i},{i}.5,a") for i in range(20)]
    path = tmp_path / "capture.jsonl"
    path.write_text("".join(lines))
    assert sorted(r["_c0"] for r in _rows(path)) == list(range(20))
    path.write_text("".join(lines) + "{oops\n" + lines[0])
    with pytest.raises(InvalidArgument, match=r"capture.jsonl, line 21: not a capture record"):
        _rows(path)


@pytest.mark.parametrize("mixed", [False, True], ids=["whole block", "record by record"])
def test_a_window_keeps_the_records_of_its_time(tmp_path: Path, mixed: bool) -> None:
    def at(request_id: str, time: str) -> str:
        return _csv_record(request_id, "1,2.5", time=time)

    lines = [
        at("before", "2026-11-05T20:59:59.999999Z"),
        at("first", "2026-11-05T21:00:00.000000Z"),
        at("last", "2026-11-05T21:29:59.999000Z"),
        at("after", "2026-11-05T21:30:00.000000Z"),
    ]
    if mixed:  # a JSON body sends the block down the record-by-record path
        lines.append(_record("json", [[1, 2.5]], time="2026-11-05T22:53:00.000000Z"))
    path = tmp_path / "capture.jsonl"
    path.write_text("".join(lines))
    start = 1_793_912_400_000  # 2026-11-05T21:00:00Z
    window = Dataset((str(path),), format="capture", window=(start, start + 30 * 60_000))
    assert [r[INFERENCE_ID] for r in pa.Table.from_batches(list(batches(window))).to_pylist()] == [
        "first",
        "last",
    ]
    with pytest.raises(InvalidArgument, match="window must be") as caught:
        Dataset((str(path),), format="capture", window=(start, start))
    assert caught.value.field == "window"


def test_requests_naming_none_of_the_columns_take_them_by_position(tmp_path: Path) -> None:
    named = ("age", "bmi", "bp")
    lines = [
        _record("csv", "50,22.5,80\n", encoding="text", content_type="text/csv"),
        _record(
            "split", {"dataframe_split": {"columns": ["f0", "f1", "f2"], "data": [[51, 23.5, 81]]}}
        ),
        _record(
            "tensor",
            {
                "inputs": [
                    {"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [52, 24.5, 82]}
                ]
            },
        ),
        # Names of its own for some columns: kept, so the check can say which are unknown.
        _record("partly", {"dataframe_records": [{"age": 53, "weight": 70, "bp": 83}]}),
    ]
    path = tmp_path / "capture.jsonl"
    path.write_text("".join(lines))
    data = Dataset((str(path),), format="capture", columns=named)
    rows = {r[INFERENCE_ID]: r for b in batches(data) for r in b.to_pylist()}
    for request, age in (("csv", 50), ("split", 51), ("tensor", 52)):
        assert {k: rows[request][k] for k in named} == {
            "age": age,
            "bmi": age - 27.5,
            "bp": age + 30,
        }
    assert rows["partly"]["weight"] == 70 and rows["partly"]["bmi"] is None


class _Name(str):
    """A column name that counts the comparisons made with it."""

    compared = 0

    def __eq__(self, other: object) -> bool:
        _Name.compared += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def test_a_wide_row_of_its_own_names_is_not_compared_with_every_column() -> None:
    named = tuple(f"_c{i}" for i in range(300))
    row = {_Name(f"f{i}"): i for i in range(300)}
    _Name.compared = 0
    (decoded,) = capture.decode_rows({"encoding": "JSON", "data": [row]}, named)
    assert decoded == dict(zip(named, range(300), strict=True))
    # Against a list of the columns: each name with each column, 90,000 per row.
    assert _Name.compared < 3 * len(named)


def test_a_dataframe_split_with_numbers_for_column_names_is_read(tmp_path: Path) -> None:
    # What `dy.Predictor(...).predict(pd.read_csv(f, header=None))` sends: the frame's integer
    # labels as integers. A check of such traffic failed with pyarrow's "expected bytes, int
    # found"; the columns are named by the numbers' text, and taken by position against
    # columns of a headerless baseline, as a list's values are.
    split = {"dataframe_split": {"columns": [0, 1, 2], "data": [[1.5, 2.5, 3.5], [4.5, 5.5, 6.5]]}}
    path = tmp_path / "capture.jsonl"
    path.write_text(_record("r1", split) + _record("r2", {"instances": [[7.5, 8.5, 9.5]]}))
    data = Dataset((str(path),), format="capture")
    rows = sorted((r for b in batches(data) for r in b.to_pylist()), key=lambda r: r[INFERENCE_ID])
    assert [(r[INFERENCE_ID], r["0"], r["2"]) for r in rows if "0" in r] == [
        ("r1", 1.5, 3.5),
        ("r1", 4.5, 6.5),
    ]
    headerless = ("_c0", "_c1", "_c2")
    data = Dataset((str(path),), format="capture", columns=headerless)
    rows = sorted((r for b in batches(data) for r in b.to_pylist()), key=lambda r: r["_c0"])
    assert [[r[c] for c in headerless] for r in rows] == [
        [1.5, 2.5, 3.5],
        [4.5, 5.5, 6.5],
        [7.5, 8.5, 9.5],
    ]
