from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dockyard.errors import InvalidArgument, NotFound
from dockyard.monitor import Dataset, readers
from dockyard.monitor.profile import profile_batches
from dockyard.monitor.readers import batches

from .conftest import write_csv


def _table(data: Dataset) -> pa.Table:
    return pa.Table.from_batches(list(batches(data)))


def test_csv_header_is_sniffed_both_ways(tmp_path: Path) -> None:
    columns = {"age": [1, 2, 3], "city": ["a", "b", "c"]}
    with_header = write_csv(tmp_path / "h.csv", columns)
    without = write_csv(tmp_path / "n.csv", columns, header=False)
    assert _table(Dataset((str(with_header),))).column_names == ["age", "city"]
    table = _table(Dataset((str(without),)))
    assert table.column_names == ["_c0", "_c1"]
    assert table.num_rows == 3
    named = _table(Dataset((str(without),), columns=("age", "city")))
    assert named.column("age").to_pylist() == [1, 2, 3]


def test_a_late_value_of_another_type_widens_the_column_without_losing_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small blocks: pyarrow infers int64 from the first, then meets a float, then a string.
    monkeypatch.setattr(readers, "_BLOCK", 1 << 12)
    rows = 20_000
    values = [str(i) for i in range(rows)]
    values[12_000] = "1.5"
    values[15_000] = "oops"
    path = tmp_path / "late.csv"
    path.write_text("v\n" + "\n".join(values) + "\n")
    found = profile_batches(batches(Dataset((str(path),), header=True)))
    column = found.columns["v"]
    assert found.rows == rows
    assert (column.present, column.integral, column.fractional, column.strings) == (
        rows,
        rows - 2,
        1,
        1,
    )
    assert column.inferred_type == "String"


def test_ragged_csv_row_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("a,b\n1,2\n3,4\n5,6,7\n")
    with pytest.raises(InvalidArgument) as caught:
        list(batches(Dataset((str(path),))))
    assert "ragged.csv, line 4: expected 2 columns, got 3" in caught.value.message


def test_missing_file_and_empty_folder_are_named(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match=r"nope\.csv: no such file"):
        list(batches(Dataset((str(tmp_path / "nope.csv"),))))
    (tmp_path / "empty").mkdir()
    with pytest.raises(NotFound, match="holds no data files"):
        list(batches(Dataset((str(tmp_path / "empty"),))))


def test_folders_are_read_recursively_in_order_skipping_markers(tmp_path: Path) -> None:
    for name, value in (("b/2.csv", 2), ("a/1.csv", 1), ("c.csv", 3)):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(f"v\n{value}\n")
    (tmp_path / "_SUCCESS").write_text("")
    table = _table(Dataset((str(tmp_path),), header=True))
    assert table.column("v").to_pylist() == [1, 2, 3]


def test_jsonl_and_parquet_read_the_same_rows(tmp_path: Path) -> None:
    rows = [{"x": float(i), "c": "ab"[i % 2]} for i in range(10)]
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows))
    parquet = tmp_path / "d.parquet"
    pq.write_table(pa.Table.from_pylist(rows), parquet)
    for path in (jsonl, parquet):
        table = _table(Dataset((str(path),), format="auto"))
        assert table.to_pylist() == rows


def test_parquet_is_read_one_row_group_at_a_time(tmp_path: Path) -> None:
    rows = [{"x": i} for i in range(10)]
    path = tmp_path / "groups.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=4)
    found = list(batches(Dataset((str(path),), format="parquet")))
    assert [b.num_rows for b in found] == [4, 4, 2]  # no batch spans (or buffers) two groups
    assert pa.Table.from_batches(found).to_pylist() == rows


def test_bad_jsonl_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"a": 1}\n{"a": \n')
    with pytest.raises(InvalidArgument, match=r"bad.jsonl, line 2: not JSON"):
        list(batches(Dataset((str(path),), format="jsonl")))


def test_not_parquet_is_an_invalid_argument(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    path.write_bytes(b"nope")
    with pytest.raises(InvalidArgument, match="not a Parquet file"):
        list(batches(Dataset((str(path),), format="parquet")))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"uris": ()}, "uris"),
        ({"uris": "a.csv"}, "uris"),
        ({"uris": ("a",), "format": "xls"}, "format"),
    ],
)
def test_bad_dataset_arguments_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        Dataset(**kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_csv_is_read_block_by_block(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "_BLOCK", 1 << 16)
    rows = 100_000
    write_csv(tmp_path / "big.csv", {"x": np.arange(rows, dtype=np.float64)})
    sizes = [b.num_rows for b in batches(Dataset((str(tmp_path / "big.csv"),)))]
    assert sum(sizes) == rows
    assert len(sizes) > 1


def test_a_reader_abandoned_midway_stops_its_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "_BLOCK", 1 << 12)
    write_csv(tmp_path / "big.csv", {"x": np.arange(50_000, dtype=np.float64)})
    found = batches(Dataset((str(tmp_path / "big.csv"),)), prefetch=2)
    assert next(found).num_rows > 0
    found.close()  # type: ignore[attr-defined]
    assert not [t for t in threading.enumerate() if t.name == "dockyard-monitor-reader"]


def test_reading_on_the_callers_thread_gives_the_same_batches(tmp_path: Path) -> None:
    write_csv(tmp_path / "d.csv", {"x": np.arange(1000, dtype=np.float64)})
    data = Dataset((str(tmp_path / "d.csv"),))
    threaded = pa.Table.from_batches(list(batches(data)))
    inline = pa.Table.from_batches(list(batches(data, prefetch=0)))
    assert threaded.equals(inline)


def test_gzip_files_are_read_decompressed(tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "d.csv.gz"
    path.write_bytes(gzip.compress(b"v,w\n1,a\n2,b\n"))
    (tmp_path / "e.jsonl.gz").write_bytes(gzip.compress(b'{"v": 3, "w": "c"}\n'))
    rows = [r for b in batches(Dataset((str(tmp_path),), format="auto")) for r in b.to_pylist()]
    assert rows == [{"v": 1, "w": "a"}, {"v": 2, "w": "b"}, {"v": 3, "w": "c"}]


def test_bytes_that_are_not_utf8_deep_in_a_csv_name_the_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Past the 64 KB checked up front, in a column pyarrow first read as integers.
    monkeypatch.setattr(readers, "_BLOCK", 1 << 12)
    path = tmp_path / "late.csv"
    lines = [b"v"] + [str(i).encode() for i in range(20_000)]
    lines[15_001] = b"caf\xe9"
    path.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(InvalidArgument, match=r"late.csv, line 15002: not UTF-8 text \(column v\)"):
        list(batches(Dataset((str(path),), header=True), prefetch=0))


def test_a_binary_file_or_a_lone_cr_is_no_parser_error(tmp_path: Path) -> None:
    binary = tmp_path / "noise.csv"
    binary.write_bytes(bytes(np.random.default_rng(0).integers(0, 256, 2048, dtype=np.uint8)))
    with pytest.raises(InvalidArgument, match=r"noise.csv, line \d+: not UTF-8 text"):
        list(batches(Dataset((str(binary),))))
    mac = tmp_path / "mac.csv"
    mac.write_bytes(b"a,b\r1,x\r2,y\r")
    assert _table(Dataset((str(mac),))).to_pydict() == {"a": [1, 2], "b": ["x", "y"]}
