"""One shard scored in this process: SageMaker's split, batch, join and filter semantics, and
every kind of bad record, through the same code a worker process runs."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.runtime.batch.conftest import Scored, expected_linear, features, write_csv, write_jsonl

from dockyard.runtime.batch._worker import ShardFailed

Score = Callable[..., Scored]


def _floats(lines: list[str]) -> list[float]:
    return [float(line) for line in lines]


def test_join_appends_every_output_column(tmp_path: Path, score_file: Score) -> None:
    rows = features(20)
    written = write_csv(tmp_path / "in.csv", rows)
    scored = score_file("two_outputs", tmp_path / "in.csv", join=True)
    y = expected_linear(rows, bias=0.0)
    for line, source, value in zip(scored.lines, written, y, strict=True):
        assert line.startswith(source + ",")
        np.testing.assert_allclose(
            [float(v) for v in line[len(source) + 1 :].split(",")], [value, -value], rtol=1e-12
        )


def test_xgboost_package_scores_like_its_own_predict(
    xgb_package: Path, tmp_path: Path, score_file: Score
) -> None:
    from dockyard.models.pyfunc import load_model

    rows = features(500, seed=5)
    write_csv(tmp_path / "in.csv", rows)
    model = load_model(xgb_package)
    scored = score_file(model, tmp_path / "in.csv", batch_bytes=4_000)
    expected = model.predict(pd.DataFrame(rows, columns=["a", "b", "c"]))
    got = np.asarray(_floats(scored.lines), dtype=np.float32)
    np.testing.assert_array_equal(got, expected)  # float32 text reads back exactly


def test_output_filter_without_join_selects_prediction_columns(
    tmp_path: Path, score_file: Score
) -> None:
    rows = features(10)
    write_csv(tmp_path / "in.csv", rows)
    scored = score_file("two_outputs", tmp_path / "in.csv", output_filter="$[1]")
    np.testing.assert_allclose(_floats(scored.lines), -expected_linear(rows, bias=0.0))


@pytest.mark.parametrize("model", ["tensor", "unsigned"])
def test_tensor_and_unsigned_models_read_positional_columns(
    tmp_path: Path, score_file: Score, model: str
) -> None:
    rows = features(40)
    write_csv(tmp_path / "in.csv", rows)
    scored = score_file(model, tmp_path / "in.csv")
    np.testing.assert_allclose(_floats(scored.lines), expected_linear(rows, bias=0.0))


def test_single_record_and_assemble_none(tmp_path: Path, score_file: Score) -> None:
    write_csv(tmp_path / "in.csv", features(12))
    scored = score_file("batch_size", tmp_path / "in.csv", single_record=True, assemble_line=False)
    assert scored.text == "1" * 12  # one record per call, outputs concatenated as they are


def test_multi_record_batches_stay_within_the_payload(tmp_path: Path, score_file: Score) -> None:
    lines = write_csv(tmp_path / "in.csv", features(3_000))
    payload = 16 * 1024
    scored = score_file("batch_size", tmp_path / "in.csv", batch_bytes=payload)
    sizes = [int(v) for v in scored.lines]
    calls, position = [], 0
    while position < len(sizes):
        calls.append(sizes[position])
        position += sizes[position]
    longest = max(len(line) + 1 for line in lines)
    assert len(calls) > 3
    assert all(n * min(len(line) + 1 for line in lines) <= payload for n in calls)
    assert calls[0] * longest > payload * 0.9  # batches are filled, not a few records each


def test_split_none_makes_the_file_one_record(tmp_path: Path, score_file: Score) -> None:
    write_csv(tmp_path / "in.csv", features(25))
    scored = score_file("batch_size", tmp_path / "in.csv", whole_file=True)
    assert scored.lines == ["25"] * 25
    assert scored.marker["records"] == 1


def test_split_none_with_a_bad_line_fails_the_whole_record(
    tmp_path: Path, score_file: Score
) -> None:
    lines = write_csv(tmp_path / "in.csv", features(5))
    lines[3] = "1,2"
    (tmp_path / "in.csv").write_text("\n".join(lines) + "\n")
    scored = score_file("linear", tmp_path / "in.csv", whole_file=True)
    assert scored.text == ""
    assert scored.bad == [(1, "line 4: the record has 2 fields; the model's signature takes 3")]


def test_header_crlf_and_blank_lines(tmp_path: Path, score_file: Score) -> None:
    rows = features(6)
    body = ["a,b,c", *(",".join(map(str, r)) for r in rows)]
    body.insert(3, "")  # a blank line is not a record
    (tmp_path / "in.csv").write_bytes(("\r\n".join(body) + "\r\n\r\n").encode())
    scored = score_file("linear", tmp_path / "in.csv")
    np.testing.assert_allclose(_floats(scored.lines), expected_linear(rows))
    assert scored.marker["records"] == 6


def test_gzip_stream(tmp_path: Path, score_file: Score) -> None:
    rows = features(50)
    text = "".join(",".join(map(str, r)) + "\n" for r in rows)
    (tmp_path / "in.csv.gz").write_bytes(gzip.compress(text.encode()))
    scored = score_file("linear", tmp_path / "in.csv.gz", kind="gzip", batch_bytes=300)
    np.testing.assert_allclose(_floats(scored.lines), expected_linear(rows))
    assert sum(m["bytes"] for m in scored.messages) == (tmp_path / "in.csv.gz").stat().st_size


def test_quoted_fields_take_the_careful_path(tmp_path: Path, score_file: Score) -> None:
    (tmp_path / "in.csv").write_text('"x, y",1.0,2.0,3.0\nplain,4.0,5.0,6.0\n')
    scored = score_file(
        "linear", tmp_path / "in.csv", input_filter="$[1:]", join=True, output_filter="$[0,-1]"
    )
    expected = expected_linear(np.asarray([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    assert [line.rsplit(",", 1)[0] for line in scored.lines] == ['"x, y"', "plain"]
    np.testing.assert_allclose([float(line.rsplit(",", 1)[1]) for line in scored.lines], expected)


def test_jsonl_arrays_and_non_object_join(tmp_path: Path, score_file: Score) -> None:
    rows = features(4)
    write_jsonl(tmp_path / "in.jsonl", [list(map(float, r)) for r in rows])
    scored = score_file(
        "linear", tmp_path / "in.jsonl", content_type="application/jsonlines", join=True
    )
    outputs = [json.loads(line) for line in scored.lines]
    assert [o["SageMakerInput"] for o in outputs] == [list(map(float, r)) for r in rows]
    np.testing.assert_allclose([o["SageMakerOutput"] for o in outputs], expected_linear(rows))


@pytest.mark.parametrize(
    ("accept", "parse"),
    [
        ("text/csv", lambda line: (line.split(",")[0], float(line.split(",")[-1]))),
        ("application/jsonlines", lambda line: tuple(json.loads(line).values())[::4]),
    ],
    ids=["csv", "jsonl"],
)
def test_parquet_join_in_either_format(
    tmp_path: Path, score_file: Score, accept: str, parse: Callable[[str], Any]
) -> None:
    rows = features(30)
    frame = pd.DataFrame(rows, columns=["a", "b", "c"])
    frame.insert(0, "id", [f"k{i}" for i in range(30)])
    frame.to_parquet(tmp_path / "in.parquet", row_group_size=7)
    scored = score_file(
        "linear",
        tmp_path / "in.parquet",
        kind="parquet",
        content_type="application/x-parquet",
        accept=accept,
        input_filter="$[1:]",
        join=True,
        batch_bytes=200,
    )
    parsed = [parse(line) for line in scored.lines]
    assert [p[0] for p in parsed] == [f"k{i}" for i in range(30)]
    np.testing.assert_allclose([p[1] for p in parsed], expected_linear(rows))


BAD_CSV = [
    pytest.param(
        b"1.0,2.0", "the record has 2 fields; the model's signature takes 3", id="too-few"
    ),
    pytest.param(
        b"1,2,3,4", "the record has 4 fields; the model's signature takes 3", id="too-many"
    ),
    pytest.param(b"1.0,abc,3.0", "column 'b': 'abc' is not a number", id="not-a-number"),
    pytest.param(b"1.0,\xff\xfe,3.0", "not valid UTF-8: byte 0xff at column 5", id="not-utf8"),
    pytest.param(b'1.0,"2.0,3.0', "malformed CSV: unexpected end of data", id="open-quote"),
    pytest.param(b'1.0,"2"x,3.0', "malformed CSV: ',' expected after '\"'", id="text-after-quote"),
    pytest.param(
        b"1.0,-999.0,3.0",
        "the python_model model failed: poison value -999.0 in the input",
        id="model-refuses",
    ),
]


@pytest.mark.parametrize(("record", "reason"), BAD_CSV)
def test_bad_csv_records_are_skipped_and_reported(
    tmp_path: Path, score_file: Score, record: bytes, reason: str
) -> None:
    rows = features(9)
    lines = [",".join(map(str, r)).encode() for r in rows]
    lines.insert(4, record)
    (tmp_path / "in.csv").write_bytes(b"\n".join(lines) + b"\n")
    scored = score_file("poison", tmp_path / "in.csv")
    assert scored.bad == [(5, reason)]
    assert scored.marker["bad_records"] == 1
    np.testing.assert_allclose(_floats(scored.lines), expected_linear(rows, bias=0.0))


@pytest.mark.parametrize(("record", "reason"), BAD_CSV)
def test_bad_csv_records_fail_fast_naming_file_and_line(
    tmp_path: Path, score_file: Score, record: bytes, reason: str
) -> None:
    lines = [",".join(map(str, r)).encode() for r in features(9)]
    lines.insert(6, record)
    (tmp_path / "in.csv").write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(ShardFailed) as failed:
        score_file("poison", tmp_path / "in.csv", fail_fast=True)
    error = failed.value.error
    assert error.message == f"bad record in {tmp_path / 'in.csv'} line 7: {reason}"
    assert error.details == {"uri": str(tmp_path / "in.csv"), "line": 7, "reason": reason}


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        pytest.param(b'{"a": 1.0, "b"', "invalid JSON", id="invalid-json"),
        pytest.param(b'{"a": "\xff"}', "not valid UTF-8: byte 0xff at column 8", id="not-utf8"),
        pytest.param(b'{"b": 1.0}', "input filter $.features: the record has no key", id="no-key"),
        pytest.param(
            b'{"features": [1.0, "x", 2.0]}',
            "column 'b': expected double, received string",
            id="not-a-number",
        ),
    ],
)
def test_bad_jsonl_records(tmp_path: Path, score_file: Score, record: bytes, reason: str) -> None:
    rows = features(5)
    lines = [json.dumps({"features": list(map(float, r))}).encode() for r in rows]
    lines.insert(2, record)
    (tmp_path / "in.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    scored = score_file(
        "linear",
        tmp_path / "in.jsonl",
        content_type="application/jsonlines",
        input_filter="$.features",
    )
    [(line, why)] = scored.bad
    assert line == 3
    assert reason in why
    np.testing.assert_allclose(_floats(scored.lines), expected_linear(rows))


def test_record_over_the_payload_limit_is_bad(tmp_path: Path, score_file: Score) -> None:
    rows = features(4)
    lines = [",".join(map(str, r)) for r in rows]
    lines.insert(1, "1," * 2_000 + "1")
    (tmp_path / "in.csv").write_text("\n".join(lines) + "\n")
    scored = score_file("linear", tmp_path / "in.csv", batch_bytes=1_000, max_record_bytes=1_000)
    [(line, why)] = scored.bad
    assert line == 2
    assert why.startswith("the record is 4001 bytes, over max_payload_mb")
    np.testing.assert_allclose(_floats(scored.lines), expected_linear(rows))


def test_a_batch_with_many_bad_records_keeps_every_good_one(
    tmp_path: Path, score_file: Score
) -> None:
    rows = features(200)
    rows[::7, 1] = -999.0  # the model refuses these: bisection must isolate each
    write_csv(tmp_path / "in.csv", rows)
    scored = score_file("poison", tmp_path / "in.csv", max_reported=5)
    good = rows[rows[:, 1] != -999.0]
    np.testing.assert_allclose(_floats(scored.lines), expected_linear(good, bias=0.0))
    assert scored.marker["bad_records"] == len(rows) - len(good)
    assert [line for line, _ in scored.bad] == [1, 8, 15, 22, 29]  # capped at max_reported


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        pytest.param(b"1.0,\xff,3.0", "not valid UTF-8: byte 0xff at column 5", id="not-utf8"),
        pytest.param(b"1.0,abc,3.0", "field 2: 'abc' is not a number", id="not-a-number"),
        pytest.param(
            b"1.0,2.0", "the record has 2 fields; the file's first record has 3", id="width"
        ),
    ],
)
def test_without_a_signature_the_first_record_sets_the_shape(
    tmp_path: Path, score_file: Score, record: bytes, reason: str
) -> None:
    rows = features(6)
    lines = [",".join(map(str, r)).encode() for r in rows]
    lines.insert(3, record)
    (tmp_path / "in.csv").write_bytes(b"\n".join(lines) + b"\n")
    scored = score_file("unsigned", tmp_path / "in.csv")
    assert scored.bad == [(4, reason)]
    np.testing.assert_allclose(_floats(scored.lines), expected_linear(rows, bias=0.0))


def test_an_unreadable_first_line_does_not_break_the_shape(
    tmp_path: Path, score_file: Score
) -> None:
    rows = features(4)
    lines = [b'"open', *(",".join(map(str, r)).encode() for r in rows), b"1.0,2.0"]
    (tmp_path / "in.csv").write_bytes(b"\n".join(lines) + b"\n")
    scored = score_file("unsigned", tmp_path / "in.csv")
    assert [line for line, _ in scored.bad] == [1, 6]
    np.testing.assert_allclose(_floats(scored.lines), expected_linear(rows, bias=0.0))


_NUMBERS_ONLY = """
import json, sys
from dockyard.runtime.batch._config import ShardTask, WorkerConfig
from dockyard.runtime.batch._worker import _preload, make_codec, run_shard
from dockyard.models import load_model

model_path, source, part = sys.argv[1:4]
config = WorkerConfig(
    model_path=model_path, content_type="text/csv", accept="text/csv", whole_file=False,
    single_record=False, batch_bytes=4_000, max_record_bytes=None, input_filter="$",
    output_filter="$", join=False, assemble_line=True, fail_fast=False, max_reported=10,
)
_preload(config)
model = load_model(model_path)
size = len(open(source, "rb").read())
task = ShardTask(
    shard_id="s", uri=source, path=source, kind="lines", start=0, end=size, first_line=1,
    row_groups=(), part_path=part, marker_path=part + ".done", nbytes=size,
)
marker = run_shard(task, config, model, make_codec(config, model), lambda message: None)
print(json.dumps({"records": marker["records"], "loaded": sorted(
    name for name in ("pandas", "sklearn") if name in sys.modules
)}))
"""


@pytest.mark.parametrize("kind", ["booster", "XGBRegressor"])
def test_a_booster_scores_numbers_without_pandas_or_scikit_learn(tmp_path: Path, kind: str) -> None:
    import subprocess
    import sys

    import xgboost

    from dockyard.models import save_model

    rng = np.random.default_rng(11)
    train = rng.normal(size=(300, 3))
    target = train @ np.array([1.0, -2.0, 0.5])
    if kind == "booster":
        data = xgboost.DMatrix(train, label=target)
        model = xgboost.train({"max_depth": 3}, data, num_boost_round=20)
        booster = model
    else:  # the scikit-learn wrapper predicts through its Booster: no scikit-learn either
        named = pd.DataFrame(train, columns=["a", "b", "c"])
        model = xgboost.XGBRegressor(max_depth=3, n_estimators=20).fit(named, target)
        booster = model.get_booster()
    example = pd.DataFrame(train[:5], columns=["a", "b", "c"])
    save_model(model, tmp_path / "model", input_example=example)
    rows = features(400, seed=12)
    lines = write_csv(tmp_path / "in.csv", rows)
    lines[7] = lines[7].split(",", 1)[0] + ",,1.0"  # an empty field is a missing value
    (tmp_path / "in.csv").write_text("".join(f"{line}\n" for line in lines))
    rows[7, 1:] = [np.nan, 1.0]

    argv = [sys.executable, "-c", _NUMBERS_ONLY, str(tmp_path / "model")]
    argv += [str(tmp_path / "in.csv"), str(tmp_path / "part")]
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"records": 400, "loaded": []}
    got = np.asarray(_floats((tmp_path / "part").read_text().splitlines()), dtype=np.float32)
    np.testing.assert_array_equal(got, booster.inplace_predict(rows))


def test_a_byte_order_mark_is_not_part_of_the_first_field(
    tmp_path: Path, score_file: Score
) -> None:
    rows = features(4)
    bom = b"\xef\xbb\xbf"
    body = "".join(",".join(map(str, r)) + "\n" for r in rows)
    (tmp_path / "header.csv").write_bytes(bom + ("a,b,c\n" + body).encode())
    (tmp_path / "bare.csv").write_bytes(bom + body.encode())
    for name in ("header.csv", "bare.csv"):
        scored = score_file("linear", tmp_path / name, fail_fast=True)
        np.testing.assert_allclose(_floats(scored.lines), expected_linear(rows))


def test_a_header_lacking_a_signature_column_fails_at_line_1_naming_it(
    tmp_path: Path, score_file: Score
) -> None:
    body = "".join(f"{r[0]},{r[2]}\n" for r in features(50))
    (tmp_path / "in.csv").write_text("a,c\n" + body)
    with pytest.raises(ShardFailed) as failed:
        score_file("linear", tmp_path / "in.csv", fail_fast=True)
    assert failed.value.error.details["line"] == 1
    assert failed.value.error.details["reason"] == (
        "the header is missing column 'b' (expected double) of the model's signature (a, b, c)"
    )
    (tmp_path / "swapped.csv").write_text("b,a,c\n1.0,2.0,3.0\n")
    scored = score_file("linear", tmp_path / "swapped.csv")
    assert scored.bad == [
        (
            1,
            "the header names b, a, c; the model's signature takes a, b, c, in that order "
            "(CSV columns are read by position)",
        )
    ]
    assert scored.marker["records"] == 1
    (tmp_path / "extra.csv").write_text("a,b,c,id\n1.0,2.0,3.0,7\n")
    scored = score_file("linear", tmp_path / "extra.csv")
    assert scored.bad[0] == (
        1,
        "the header names a, b, c, id; the model's signature takes a, b, c: leave out 'id' "
        "with data_processing.input_filter (CSV columns are read by position)",
    )


def test_on_error_fail_names_the_first_bad_record_whoever_refuses_it(
    tmp_path: Path, score_file: Score
) -> None:
    lines = [",".join(map(str, r)) for r in features(10)]
    lines[4] = "1.0,-999.0,2.0"  # decodes, and the model refuses it
    lines[5] = "1.0,nan,2.0"  # refused by decoding
    (tmp_path / "in.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(ShardFailed) as failed:
        score_file("poison", tmp_path / "in.csv", fail_fast=True)
    assert failed.value.error.details["line"] == 5


def test_a_json_lines_file_may_start_with_a_byte_order_mark(
    tmp_path: Path, score_file: Score
) -> None:
    records = [{"a": 1.0, "b": 2.0, "c": 3.0}, {"a": 0.5, "b": 0.0, "c": -1.0}]
    text = "".join(json.dumps(r) + "\n" for r in records)
    (tmp_path / "in.jsonl").write_bytes(b"\xef\xbb\xbf" + text.encode())
    scored = score_file(
        "linear", tmp_path / "in.jsonl", content_type="application/jsonlines", fail_fast=True
    )
    rows = np.asarray([[r["a"], r["b"], r["c"]] for r in records])
    np.testing.assert_allclose([json.loads(line) for line in scored.lines], expected_linear(rows))


def test_a_first_record_longer_than_the_head_read_sets_no_shape(
    tmp_path: Path, score_file: Score
) -> None:
    rows = features(4)
    wide = b"1.0," * 300_000 + b"1.0"  # 300,001 fields, 1.2 MB: more than the head reads
    lines = [wide, *(",".join(map(str, r)).encode() for r in rows)]
    (tmp_path / "in.csv").write_bytes(b"\n".join(lines) + b"\n")
    scored = score_file("unsigned", tmp_path / "in.csv", max_record_bytes=1_000)
    [(line, why)] = scored.bad
    assert line == 1
    assert why.startswith(f"the record is {len(wide)} bytes, over max_payload_mb")
    np.testing.assert_allclose(_floats(scored.lines), expected_linear(rows, bias=0.0))
