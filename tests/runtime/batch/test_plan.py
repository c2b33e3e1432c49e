"""Planning shards: line-aligned byte ranges with their first line numbers, Parquet row groups."""

from __future__ import annotations

import gzip
import itertools
from pathlib import Path

import pandas as pd
import pytest

from dockyard.api.batch import TransformSpec
from dockyard.errors import InvalidArgument
from dockyard.runtime.batch import _plan
from dockyard.runtime.batch._inputs import list_inputs
from dockyard.runtime.batch._plan import fingerprint, load_plan, make_plan, save_plan


def _spec(source: Path, **fields: object) -> TransformSpec:
    inputs = {"uri": str(source), **fields.pop("input", {})}  # type: ignore[dict-item]
    return TransformSpec(model_uri="m", input=inputs, output={"uri": "o"}, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("shard_bytes", [1, 7, 20, 64, 1_000, 10_000_000])
@pytest.mark.parametrize("scan_chunk", [1, 5, 64, 1 << 20])
def test_line_shards_cover_the_file_on_line_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shard_bytes: int, scan_chunk: int
) -> None:
    # Reads smaller than a line and than a shard: boundaries and line counts across reads.
    monkeypatch.setattr(_plan, "_SCAN_CHUNK", scan_chunk)
    lines = [f"{i}," + "x" * (i % 13) for i in range(200)]
    data = "".join(f"{line}\n" for line in lines).encode()
    (tmp_path / "in.csv").write_bytes(data)
    plan = make_plan(
        list_inputs(str(tmp_path / "in.csv")),
        _spec(tmp_path / "in.csv", shard_bytes=shard_bytes),
        "k",
    )
    shards = plan.shards
    assert shards[0].start == 0
    assert shards[-1].end == len(data)
    assert sum(s.nbytes for s in shards) == len(data)
    for before, after in itertools.pairwise(shards):
        assert before.end == after.start
        assert data[after.start - 1 : after.start] == b"\n"  # a shard starts a line
    for shard in shards:
        assert data[: shard.start].count(b"\n") + 1 == shard.first_line
        assert shard.end - shard.start >= min(shard_bytes, len(data)) or shard is shards[-1]
    assert [s.id for s in shards] == [f"00000-{n:05d}" for n in range(len(shards))]


def test_a_file_without_final_newline_and_one_long_line(tmp_path: Path) -> None:
    data = b"a\n" + b"b" * 100 + b"\nc"
    (tmp_path / "in.csv").write_bytes(data)
    plan = make_plan(
        list_inputs(str(tmp_path / "in.csv")), _spec(tmp_path / "in.csv", shard_bytes=3), "k"
    )
    assert [(s.start, s.end, s.first_line) for s in plan.shards] == [(0, 103, 1), (103, 104, 3)]


def test_gzip_and_split_none_files_are_one_shard(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_bytes(b"1\n" * 100)
    (tmp_path / "a.csv.gz").write_bytes(gzip.compress(b"1\n" * 100))
    gz = make_plan(
        list_inputs(str(tmp_path / "a.csv.gz")),
        _spec(tmp_path / "a.csv.gz", shard_bytes=10, input={"compression": "Gzip"}),
        "k",
    )
    whole = make_plan(
        list_inputs(str(tmp_path / "a.csv")),
        _spec(tmp_path / "a.csv", shard_bytes=10, input={"split_type": "None"}),
        "k",
    )
    assert [(s.kind, s.start, s.end) for s in gz.shards] == [("gzip", 0, -1)]
    assert [(s.kind, s.start, s.end) for s in whole.shards] == [("lines", 0, 200)]


def test_parquet_shards_group_row_groups(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": range(1_000), "b": [float(i) for i in range(1_000)]})
    frame.to_parquet(tmp_path / "in.parquet", row_group_size=100)
    spec = _spec(
        tmp_path / "in.parquet", shard_bytes=2_000, input={"content_type": "application/x-parquet"}
    )
    plan = make_plan(list_inputs(str(tmp_path / "in.parquet")), spec, "k")
    groups = [g for s in plan.shards for g in s.row_groups]
    assert groups == list(range(10))
    assert len(plan.shards) > 1
    first_rows = [1]
    for shard in plan.shards[:-1]:
        first_rows.append(first_rows[-1] + 100 * len(shard.row_groups))
    assert [s.first_line for s in plan.shards] == first_rows
    assert sum(s.nbytes for s in plan.shards) == (tmp_path / "in.parquet").stat().st_size


def test_plan_round_trips_and_fingerprint_ignores_concurrency(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_bytes(b"1,2\n" * 50)
    spec = _spec(tmp_path / "in.csv", shard_bytes=30)
    files = list_inputs(str(tmp_path / "in.csv"))
    plan = make_plan(files, spec, fingerprint(spec, "sha256:x"))
    save_plan(plan, tmp_path / "plan.json")
    assert load_plan(tmp_path / "plan.json", plan.fingerprint, files) == plan
    more = spec.model_copy(update={"max_concurrent_transforms": 8})
    assert fingerprint(more, "sha256:x") == plan.fingerprint
    assert fingerprint(spec, "sha256:y") != plan.fingerprint  # another model
    assert load_plan(tmp_path / "absent.json", plan.fingerprint, files) is None


def test_a_file_of_another_format_is_refused_by_the_name_the_user_gave(tmp_path: Path) -> None:
    (tmp_path / "copy").mkdir()
    (tmp_path / "copy" / "trial.csv").write_text("a,b\n1,2\n")
    spec = _spec(
        tmp_path / "copy" / "trial.csv",
        input={"content_type": "application/x-parquet", "display_uri": "trial.csv"},
    )
    with pytest.raises(InvalidArgument) as refused:
        make_plan(list_inputs(str(tmp_path / "copy" / "trial.csv")), spec, "k")
    assert refused.value.message.startswith("input file trial.csv is not Parquet")
    folder = _spec(tmp_path / "copy", input={"display_uri": "data/"})
    (tmp_path / "copy" / "trial.csv").write_bytes(gzip.compress(b"1,2\n"))
    with pytest.raises(InvalidArgument) as refused:
        make_plan(list_inputs(str(tmp_path / "copy")), folder, "k")
    assert refused.value.message.startswith("input file data/trial.csv is gzip-compressed")


def test_the_fingerprint_ignores_what_errors_call_the_input(tmp_path: Path) -> None:
    plain = _spec(tmp_path / "in.csv")
    named = _spec(tmp_path / "in.csv", input={"display_uri": "in.csv"})
    assert fingerprint(plain, "sha256:x") == fingerprint(named, "sha256:x")
