"""Input files whose bytes contradict the spec's content type or compression."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from dockyard.api.batch import TransformInput
from dockyard.errors import InvalidArgument
from dockyard.runtime.batch._formats import check_format

CSV_TEXT = b"a,b,c\n1.0,2.0,3.0\n"


def _check(path: Path, **fields: str) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as refused:
        check_format(path, "my.data", TransformInput(uri=str(path), **fields))  # type: ignore[arg-type]
    return refused.value


def test_text_given_as_parquet_is_named_with_the_content_type_that_reads_it(
    tmp_path: Path,
) -> None:
    (tmp_path / "in.csv").write_bytes(CSV_TEXT)
    error = _check(tmp_path / "in.csv", content_type="application/x-parquet")
    assert error.message == (
        "input file my.data is not Parquet (no Parquet magic bytes): it looks like CSV: "
        "set input.content_type: text/csv"
    )
    assert error.field == "input.content_type"
    (tmp_path / "in.jsonl").write_bytes(b'{"a": 1}\n')
    error = _check(tmp_path / "in.jsonl", content_type="application/x-parquet")
    assert error.message.endswith("JSON Lines: set input.content_type: application/jsonlines")


def test_gzip_data_without_compression_gzip_and_the_reverse(tmp_path: Path) -> None:
    (tmp_path / "in.csv.gz").write_bytes(gzip.compress(CSV_TEXT))
    error = _check(tmp_path / "in.csv.gz")
    assert error.message == "input file my.data is gzip-compressed: set input.compression: Gzip"
    assert error.field == "input.compression"
    (tmp_path / "in.csv").write_bytes(CSV_TEXT)
    error = _check(tmp_path / "in.csv", compression="Gzip")
    assert error.message == "input file my.data is not gzip-compressed: set input.compression: None"


def test_parquet_given_as_csv_and_files_that_match_pass(tmp_path: Path) -> None:
    pd.DataFrame({"a": [1.0]}).to_parquet(tmp_path / "in.parquet")
    error = _check(tmp_path / "in.parquet")
    assert error.message == (
        "input file my.data is a Parquet file: set input.content_type: application/x-parquet"
    )
    parquet = TransformInput(uri="x", content_type="application/x-parquet")
    check_format(tmp_path / "in.parquet", "x", parquet)
    (tmp_path / "in.csv").write_bytes(CSV_TEXT)
    check_format(tmp_path / "in.csv", "x", TransformInput(uri="x"))
    (tmp_path / "in.csv.gz").write_bytes(gzip.compress(CSV_TEXT))
    check_format(tmp_path / "in.csv.gz", "x", TransformInput(uri="x", compression="Gzip"))
