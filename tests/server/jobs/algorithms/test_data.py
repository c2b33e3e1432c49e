"""Reading channels: SageMaker's layouts, and errors that name the file and line."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dockyard.algorithms._contract import ChannelInput
from dockyard.algorithms._data import Table, align, read_channel, write_input_example
from dockyard.errors import InvalidArgument

ALL = ("csv", "libsvm", "parquet")


def _channel(
    tmp_path: Path, files: dict[str, str | bytes], content_type: str | None
) -> ChannelInput:
    root = tmp_path / "train"
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    root.mkdir(exist_ok=True)
    return ChannelInput("train", root, content_type)


def _read(
    tmp_path: Path,
    files: dict[str, str | bytes],
    content_type: str | None = "text/csv",
    *,
    weights: bool = False,
) -> Table:
    channel = _channel(tmp_path, files, content_type)
    return read_channel(channel, ALL, algorithm="xgboost", csv_weights=weights)


def _parquet(columns: dict[str, list[object]]) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.table(columns), buffer)
    return buffer.getvalue()


def test_csv_files_are_concatenated_in_name_order(tmp_path: Path) -> None:
    table = _read(
        tmp_path,
        {
            "b.csv": "2,20,200\n",
            "a.csv": "1,10,100\n\n1.5,15,150\n",
            "sub/c.csv": "3,30,300\n",
            ".hidden.csv": "not,data\n",
            "_SUCCESS": "",
            "empty.csv": "",
        },
    )
    np.testing.assert_array_equal(table.labels, [1, 1.5, 2, 3])
    np.testing.assert_array_equal(table.features[:, 0], [10, 15, 20, 30])
    assert table.weights is None
    # Row 1 of the channel is line 3 of a.csv (a blank line is skipped).
    assert table.locate(1) == "train/a.csv, line 3"
    assert table.locate(3) == "train/sub/c.csv, line 1"


def test_csv_delimiter_missing_values_and_weights(tmp_path: Path) -> None:
    table = _read(tmp_path, {"d.csv": "1;0.5;7;\n0;2;;9\n"}, weights=True)
    np.testing.assert_array_equal(table.labels, [1, 0])
    np.testing.assert_array_equal(table.weights, [0.5, 2])  # type: ignore[arg-type]
    np.testing.assert_array_equal(table.features, [[7, np.nan], [np.nan, 9]])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("1,2,3\n4,5\n", "train/d.csv, line 2: 2 fields where the first row has 3"),
        ("1,2,3\n4,5,6,7\n", "train/d.csv, line 2: 4 fields where the first row has 3"),
        ("1,2,3\n\n4,x,6\n", "train/d.csv, line 3, column 2: 'x' is not a number"),
        ("y,a,b\n1,2,3\n", "train/d.csv, line 1, column 1: 'y' is not a number (training CSV"),
        ("1,2,3\n,5,6\n", "train/d.csv, line 2: the label (first column) is missing"),
        ("1\n2\n", "train/d.csv, line 1: no feature columns after the label"),
    ],
    ids=["short-row", "long-row", "not-a-number", "header", "no-label", "no-features"],
)
def test_malformed_csv(tmp_path: Path, content: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        _read(tmp_path, {"d.csv": content})
    assert caught.value.message.startswith(message)
    assert caught.value.details == {"file": "train/d.csv"}


def test_files_with_different_widths(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match=r"train/b.csv has 1 feature columns but train/a"):
        _read(tmp_path, {"a.csv": "1,2,3\n", "b.csv": "1,2\n"})


def test_libsvm(tmp_path: Path) -> None:
    content = "# header comment\n1:0.5 qid:1 0:1.5 3:2\n\n0:2 qid:1 1:-1 # trailing\n"
    table = _read(tmp_path, {"d.txt": content}, "text/libsvm")
    np.testing.assert_array_equal(table.labels, [1, 0])
    np.testing.assert_array_equal(table.weights, [0.5, 2])  # type: ignore[arg-type]
    np.testing.assert_array_equal(table.qid, [1, 1])  # type: ignore[arg-type]
    assert table.features.shape == (2, 4)
    assert table.features.toarray().tolist() == [[1.5, 0, 0, 2], [0, -1, 0, 0]]
    assert table.locate(1) == "train/d.txt, line 4"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("1 0:1\n1 a:1\n", "train/d.txt, line 2: 'a:1' is not <index>:<value>"),
        ("1 0:1\nx 1:1\n", "train/d.txt, line 2: 'x' is not <label>[:<weight>]"),
        ("1 0:1\n1 3\n", "train/d.txt, line 2: '3' is not <index>:<value>"),
        ("1:2 0:1\n1 1:1\n", "train/d.txt, all lines: some lines give instance weights"),
    ],
    ids=["index", "label", "no-colon", "partial-weights"],
)
def test_malformed_libsvm(tmp_path: Path, content: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        _read(tmp_path, {"d.txt": content}, "text/libsvm")
    assert caught.value.message.startswith(message)


def test_libsvm_tables_are_aligned(tmp_path: Path) -> None:
    train = _read(tmp_path / "a", {"d": "1 0:1 5:2\n"}, "text/libsvm")
    validation = _read(tmp_path / "b", {"d": "1 7:1\n"}, "text/libsvm")
    train, validation = align(train, validation)
    assert train.features.shape[1] == validation.features.shape[1] == 8


def test_dense_tables_of_different_widths_are_refused(tmp_path: Path) -> None:
    train = _read(tmp_path / "a", {"d.csv": "1,2,3\n"})
    other = read_channel(
        ChannelInput("validation", _channel(tmp_path / "b", {"d.csv": "1,2\n"}, None).path, None),
        ALL,
        algorithm="xgboost",
    )
    with pytest.raises(InvalidArgument) as caught:
        align(train, other)
    assert caught.value.field == "inputs.validation"
    assert "has 1 feature columns but 'train' has 2" in caught.value.message


def test_parquet(tmp_path: Path) -> None:
    data = _parquet({"label": [1.0, 0.0], "a": [1, None], "flag": [True, False]})
    table = _read(tmp_path, {"p.parquet": data}, "application/x-parquet")
    np.testing.assert_array_equal(table.labels, [1, 0])
    np.testing.assert_array_equal(table.features, [[1, 1], [np.nan, 0]])
    assert table.locate(1) == "train/p.parquet, row 2"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            _parquet({"label": [1.0], "name": ["x"]}),
            "train/p.parquet, column 'name': type",
        ),
        (_parquet({"label": [1.0, None], "a": [1, 2]}), "train/p.parquet, row 2: the label"),
        (b"PAR1 but not really", "train/p.parquet, whole file: not a readable Parquet file"),
    ],
    ids=["text-column", "no-label", "corrupt"],
)
def test_bad_parquet(tmp_path: Path, content: bytes, message: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        _read(tmp_path, {"p.parquet": content}, "application/x-parquet")
    assert caught.value.message.startswith(message)


@pytest.mark.parametrize(
    ("content", "found"),
    [
        (_parquet({"y": [1.0], "x": [2.0]}), "parquet"),
        ("1 0:2.5 3:1\n", "libsvm"),
        ("1,2.5,3\n", "csv"),
        ("1\t2.5\t3\n", "csv"),
    ],
    ids=["parquet", "libsvm", "csv", "tsv"],
)
def test_undeclared_format_is_detected(
    tmp_path: Path, content: str | bytes, found: str, capsys: pytest.CaptureFixture[str]
) -> None:
    table = _read(tmp_path, {"d": content}, None)
    assert table.labels[0] == 1
    assert f"read as {found} (d)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content_type", "message"),
    [
        ("application/x-recordio-protobuf", "is not supported by the xgboost algorithm"),
        ("text/csv; label_size=2", "label_size must be 1"),
    ],
    ids=["recordio", "label-size"],
)
def test_unsupported_content_type(tmp_path: Path, content_type: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        _read(tmp_path, {"d.csv": "1,2\n"}, content_type)
    assert caught.value.field == "inputs.train.content_type"
    assert message in caught.value.message


def test_csv_content_type_parameters_are_accepted(tmp_path: Path) -> None:
    table = _read(tmp_path, {"d.csv": "1,2\n"}, "Text/CSV; label_size=1; charset=utf-8")
    assert table.n_features == 1


@pytest.mark.parametrize(
    "files", [{}, {"_SUCCESS": ""}, {"empty.csv": "\n\n"}], ids=["no-files", "markers", "blank"]
)
def test_channel_without_rows(tmp_path: Path, files: dict[str, str | bytes]) -> None:
    with pytest.raises(InvalidArgument, match="channel 'train' has no data"):
        _read(tmp_path, files)


def test_input_example(tmp_path: Path) -> None:
    table = _read(tmp_path / "a", {"d.txt": "1 0:1.5 2:3\n0 1:2\n"}, "text/libsvm")
    path = write_input_example(tmp_path, table)
    assert path is not None
    # A feature absent from a LIBSVM row is a missing value, not a zero.
    assert path.read_text() == "f0,f1,f2\n1.5,,3.0\n,2.0,\n"
