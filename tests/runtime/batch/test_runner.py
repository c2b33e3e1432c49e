"""End-to-end transforms through worker processes: formats, filters, joins, strategies."""

from __future__ import annotations

import hashlib
import itertools
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.runtime.batch.conftest import expected_linear, features, write_csv, write_jsonl

from dockyard.api.batch import TransformSpec
from dockyard.errors import DockyardError, InvalidArgument, NotFound
from dockyard.runtime.batch import Progress, TransformResult

Run = Callable[..., TransformResult]
Lines = Callable[[str], list[str]]


def _spec(model: Path, source: Path, out: Path, **fields: Any) -> TransformSpec:
    inputs = {"uri": str(source), **fields.pop("input", {})}
    outputs = {"uri": str(out), **fields.pop("output", {})}
    return TransformSpec(model_uri=str(model), input=inputs, output=outputs, **fields)


def test_csv_with_input_filter_join_and_output_filter(
    packages: dict[str, Path], tmp_path: Path, transform: Run, output_lines: Lines
) -> None:
    rows = features(300)
    write_csv(tmp_path / "in" / "test.csv", rows, ids=True)
    spec = _spec(
        packages["linear"],
        tmp_path / "in" / "test.csv",
        tmp_path / "out",
        data_processing={
            "input_filter": "$[1:]",
            "join_source": "Input",
            "output_filter": "$[0,-1]",
        },
        max_concurrent_transforms=2,
        shard_bytes=2_000,
    )
    result = transform(spec)
    lines = output_lines("test.csv.out")
    ids = [int(line.split(",")[0]) for line in lines]
    predicted = np.asarray([float(line.split(",")[1]) for line in lines])
    assert ids == list(range(300))
    np.testing.assert_allclose(predicted, expected_linear(rows), rtol=1e-12)
    assert result.status == "Completed"
    assert result.records == 300
    assert result.shards_total > 2  # the file was sharded, and the order still holds


def test_jsonlines_records_with_filters_and_join(
    packages: dict[str, Path], tmp_path: Path, transform: Run, output_lines: Lines
) -> None:
    rows = features(50)
    records = [{"id": f"r{i}", "features": list(row)} for i, row in enumerate(rows)]
    write_jsonl(tmp_path / "in.jsonl", records)
    spec = _spec(
        packages["linear"],
        tmp_path / "in.jsonl",
        tmp_path / "out",
        input={"content_type": "application/jsonlines"},
        data_processing={
            "input_filter": "$.features",
            "join_source": "Input",
            "output_filter": "$['id','SageMakerOutput']",
        },
        max_concurrent_transforms=1,
    )
    transform(spec)
    outputs = [json.loads(line) for line in output_lines("in.jsonl.out")]
    assert [o["id"] for o in outputs] == [f"r{i}" for i in range(50)]
    assert all(set(o) == {"id", "SageMakerOutput"} for o in outputs)
    np.testing.assert_allclose(
        [o["SageMakerOutput"] for o in outputs], expected_linear(rows), rtol=1e-12
    )


def test_parquet_row_groups_with_filter_and_join(
    packages: dict[str, Path], tmp_path: Path, transform: Run, output_lines: Lines
) -> None:
    rows = features(400)
    frame = pd.DataFrame(rows, columns=["a", "b", "c"])
    frame.insert(0, "id", [f"k{i}" for i in range(400)])
    frame.to_parquet(tmp_path / "in.parquet", row_group_size=50)
    spec = _spec(
        packages["linear"],
        tmp_path / "in.parquet",
        tmp_path / "out",
        input={"content_type": "application/x-parquet"},
        data_processing={"input_filter": "$['a','b','c']", "join_source": "Input"},
        shard_bytes=1_000,
        max_concurrent_transforms=2,
    )
    result = transform(spec)
    outputs = [json.loads(line) for line in output_lines("in.parquet.out")]
    assert [o["id"] for o in outputs] == [f"k{i}" for i in range(400)]
    np.testing.assert_allclose(
        [o["SageMakerOutput"] for o in outputs], expected_linear(rows), rtol=1e-12
    )
    assert result.shards_total > 1


def test_folder_of_files_keeps_names_and_skips_hidden(
    packages: dict[str, Path], tmp_path: Path, transform: Run, output_lines: Lines
) -> None:
    first, second = features(10, seed=1), features(7, seed=2)
    write_csv(tmp_path / "in" / "a.csv", first)
    write_csv(tmp_path / "in" / "sub" / "b.csv", second)
    (tmp_path / "in" / "_SUCCESS").write_text("")
    (tmp_path / "in" / ".hidden.csv").write_text("not,a,record,at all\n")
    spec = _spec(packages["linear"], tmp_path / "in", tmp_path / "out", max_concurrent_transforms=2)
    result = transform(spec)
    np.testing.assert_allclose(
        [float(v) for v in output_lines("a.csv.out")], expected_linear(first), rtol=1e-12
    )
    np.testing.assert_allclose(
        [float(v) for v in output_lines("sub/b.csv.out")], expected_linear(second), rtol=1e-12
    )
    manifest = json.loads((tmp_path / "out" / "_manifest.json").read_text())
    assert [f["records"] for f in manifest["files"]] == [10, 7]
    assert manifest["totals"]["records"] == 17
    for entry in manifest["files"]:
        data = Path(entry["output"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert len(data) == entry["bytes_out"]
    assert [r.input_uri for r in result.files] == [
        str(tmp_path / "in" / "a.csv"),
        str(tmp_path / "in" / "sub" / "b.csv"),
    ]


def test_progress_reaches_the_totals(
    packages: dict[str, Path], tmp_path: Path, transform: Run
) -> None:
    write_csv(tmp_path / "in.csv", features(2_000))
    seen: list[Progress] = []
    spec = _spec(
        packages["slow"],
        tmp_path / "in.csv",
        tmp_path / "out",
        batch_strategy="MultiRecord",
        max_payload_mb=1,
        shard_bytes=1_700,
        max_concurrent_transforms=2,
    )
    transform(spec, progress=seen.append)
    last = seen[-1]
    assert last.records == 2_000
    assert last.bytes_done == last.bytes_total == (tmp_path / "in.csv").stat().st_size
    assert last.files_done == last.files_total == 1
    assert last.shards_done == last.shards_total > 5
    assert any(p.records_per_s > 0 and p.eta_s is not None for p in seen[1:-1])
    gaps = [b.elapsed_s - a.elapsed_s for a, b in itertools.pairwise(seen)]
    assert max(gaps) < 1.6  # at least once a second (with slack for a loaded machine)


@pytest.mark.parametrize("workers", [1, 3])
def test_further_workers_are_forked_from_the_first_once_it_imported_the_libraries(
    packages: dict[str, Path], tmp_path: Path, transform: Run, workers: int
) -> None:
    import psutil

    write_csv(tmp_path / "in.csv", features(2_000))
    spec = _spec(
        packages["slow"],
        tmp_path / "in.csv",
        tmp_path / "out",
        max_payload_mb=1,
        shard_bytes=1_700,
        max_concurrent_transforms=workers,
    )
    trees: list[list[list[int]]] = []

    def is_worker(process: psutil.Process) -> bool:
        try:
            return "dockyard.runtime.batch._worker" in process.cmdline()
        except (psutil.ZombieProcess, psutil.NoSuchProcess):
            return False  # a child of another test that exited and is not yet reaped

    def look(progress: Progress) -> None:
        if progress.records and progress.shards_done < progress.shards_total:  # all up
            # other tests' servers may run too
            started = [p for p in psutil.Process().children() if is_worker(p)]
            trees.append([[c.pid for c in p.children()] for p in started])

    result = transform(spec, progress=look)
    assert result.records == 2_000
    assert trees
    # One process started here; with several workers, it is the others' parent.
    assert all(len(tree) == 1 and len(tree[0]) == workers - 1 for tree in trees)


def test_bad_records_skipped_are_counted_and_listed_in_the_manifest(
    packages: dict[str, Path], tmp_path: Path, transform: Run, output_lines: Lines
) -> None:
    rows = features(60)
    lines = [",".join(map(str, r)) for r in rows]
    lines[10] = "1.0,2.0"
    lines[40] = "1.0,-999.0,2.0"
    (tmp_path / "in.csv").write_text("\n".join(lines) + "\n")
    spec = _spec(
        packages["poison"],
        tmp_path / "in.csv",
        tmp_path / "out",
        bad_records={"on_error": "skip"},
        shard_bytes=300,
        max_concurrent_transforms=2,
    )
    result = transform(spec)
    keep = [i for i in range(60) if i not in (10, 40)]
    np.testing.assert_allclose(
        [float(v) for v in output_lines("in.csv.out")], expected_linear(rows[keep], bias=0.0)
    )
    uri = str(tmp_path / "in.csv")
    expected = [
        {
            "uri": uri,
            "line": 11,
            "reason": "the record has 2 fields; the model's signature takes 3",
        },
        {
            "uri": uri,
            "line": 41,
            "reason": "the python_model model failed: poison value -999.0 in the input",
        },
    ]
    manifest = json.loads((tmp_path / "out" / "_manifest.json").read_text())
    assert manifest["bad_records"] == expected
    assert manifest["totals"]["bad_records"] == result.bad_records == 2
    assert result.records == 58


def test_a_bad_record_fails_the_job_and_publishes_nothing(
    packages: dict[str, Path], tmp_path: Path, transform: Run
) -> None:
    lines = [",".join(map(str, r)) for r in features(30)]
    lines[20] = "1.0,not-a-number,2.0"
    (tmp_path / "in.csv").write_text("\n".join(lines) + "\n")
    spec = _spec(packages["linear"], tmp_path / "in.csv", tmp_path / "out")
    with pytest.raises(InvalidArgument) as failed:
        transform(spec)
    assert str(failed.value) == (
        f"bad record in {tmp_path / 'in.csv'} line 21: column 'b': 'not-a-number' is not a number"
    )
    assert failed.value.details["line"] == 21
    assert not (tmp_path / "out").exists()


def test_missing_inputs_and_models_are_named(
    packages: dict[str, Path], tmp_path: Path, transform: Run
) -> None:
    (tmp_path / "empty-dir").mkdir()
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "hidden-only").mkdir()
    (tmp_path / "hidden-only" / ".x.csv").write_text("1,2,3\n")
    cases: list[tuple[Path, Path, type[Exception], str]] = [
        (
            packages["linear"],
            tmp_path / "nope.csv",
            NotFound,
            f"input {tmp_path / 'nope.csv'} does not exist",
        ),
        (
            packages["linear"],
            tmp_path / "empty-dir",
            NotFound,
            f"no input files under {tmp_path / 'empty-dir'}",
        ),
        (
            packages["linear"],
            tmp_path / "hidden-only",
            NotFound,
            f"no input files under {tmp_path / 'hidden-only'}",
        ),
        (
            packages["linear"],
            tmp_path / "empty.csv",
            InvalidArgument,
            f"input file {tmp_path / 'empty.csv'} is empty",
        ),
        (
            tmp_path / "no-model",
            tmp_path / "empty.csv",
            NotFound,
            f"no model package at {tmp_path / 'no-model'}",
        ),
    ]
    for model, source, error, message in cases:
        with pytest.raises(error) as raised:
            transform(_spec(model, source, tmp_path / "out"), work=tmp_path / "w" / source.name)
        assert str(raised.value).startswith(message)
    assert not (tmp_path / "out").exists()


def test_registry_uri_must_be_resolved_first(tmp_path: Path, transform: Run) -> None:
    write_csv(tmp_path / "in.csv", features(3))
    spec = _spec(Path("x"), tmp_path / "in.csv", tmp_path / "out")
    spec = spec.model_copy(update={"model_uri": "models:/churn/3"})
    with pytest.raises(InvalidArgument) as raised:
        transform(spec)
    assert raised.value.field == "model_uri"


def test_output_inside_the_input_folder_is_refused(
    packages: dict[str, Path], tmp_path: Path, transform: Run
) -> None:
    write_csv(tmp_path / "in" / "a.csv", features(3))
    with pytest.raises(InvalidArgument) as raised:
        transform(_spec(packages["linear"], tmp_path / "in", tmp_path / "in" / "out"))
    assert raised.value.field == "output.uri"


def test_a_worker_that_dies_fails_the_job_with_its_last_words(
    packages: dict[str, Path], tmp_path: Path, transform: Run
) -> None:
    write_csv(tmp_path / "in.csv", features(5))
    spec = _spec(packages["crash"], tmp_path / "in.csv", tmp_path / "out")
    with pytest.raises(
        DockyardError, match=r"worker 0 exited with code 3 while scoring shard 00000-00000"
    ):
        transform(spec)
    assert not (tmp_path / "out").exists()
    assert not list((tmp_path / "work" / "done").iterdir())


def test_a_forked_worker_that_dies_fails_the_job_with_its_exit_code(
    packages: dict[str, Path], tmp_path: Path, transform: Run
) -> None:
    write_csv(tmp_path / "in.csv", features(200))
    spec = _spec(
        packages["crash"],
        tmp_path / "in.csv",
        tmp_path / "out",
        shard_bytes=1_500,
        max_concurrent_transforms=2,
    )
    with pytest.raises(DockyardError, match=r"worker [01] exited with code 3 while scoring"):
        transform(spec)
    assert not (tmp_path / "out").exists()
    assert not list((tmp_path / "work" / "done").iterdir())


def test_a_tampered_package_is_refused_by_the_workers(
    packages: dict[str, Path], tmp_path: Path, transform: Run
) -> None:
    model = tmp_path / "model"
    shutil.copytree(packages["linear"], model)
    pickled = model / "python_model.pkl"
    pickled.write_bytes(pickled.read_bytes() + b"\0")
    write_csv(tmp_path / "in.csv", features(5))
    with pytest.raises(InvalidArgument, match=r"python_model\.pkl"):
        transform(_spec(model, tmp_path / "in.csv", tmp_path / "out"))


@pytest.mark.parametrize("count", [1, 2])
def test_csv_for_a_model_without_signature_is_headerless(
    packages: dict[str, Path], tmp_path: Path, transform: Run, output_lines: Lines, count: int
) -> None:
    rows = features(count)
    write_csv(tmp_path / "in" / "x.csv", rows)
    spec = _spec(packages["unsigned"], tmp_path / "in" / "x.csv", tmp_path / "out")
    result = transform(spec)
    assert result.records == count  # the first line is a record, not a header
    predicted = [float(line) for line in output_lines("x.csv.out")]
    np.testing.assert_allclose(predicted, expected_linear(rows, bias=0.0), rtol=1e-12)


def test_the_failure_reported_is_the_first_bad_record_of_the_input(
    packages: dict[str, Path], tmp_path: Path, transform: Run
) -> None:
    # Shard 0's bad record comes after three slow predict calls; every record of shard 1 is
    # bad, so shard 1 fails first: the job still names shard 0's record, as on every run.
    lines = [",".join(map(str, r)) for r in features(40)]
    lines[3] = "1.0,not-a-number,2.0"
    lines[15:] = ["1.0,2.0"] * 25
    (tmp_path / "in.csv").write_text("\n".join(lines) + "\n")
    spec = _spec(
        packages["slow"],
        tmp_path / "in.csv",
        tmp_path / "out",
        batch_strategy="SingleRecord",
        shard_bytes=len(lines[0]) * 20,
        max_concurrent_transforms=2,
    )
    with pytest.raises(InvalidArgument) as failed:
        transform(spec)
    assert failed.value.details["line"] == 4
    assert not (tmp_path / "out").exists()


def test_a_bad_record_is_named_in_the_file_the_user_gave(
    packages: dict[str, Path], tmp_path: Path, transform: Run
) -> None:
    (tmp_path / "in.csv").write_text("1.0,2.0,3.0\n1.0,x,3.0\n")
    spec = _spec(
        packages["linear"], tmp_path / "in.csv", tmp_path / "out", input={"display_uri": "mine.csv"}
    )
    with pytest.raises(InvalidArgument) as failed:
        transform(spec)
    assert str(failed.value) == "bad record in mine.csv line 2: column 'b': 'x' is not a number"


def test_an_empty_input_is_named_as_the_user_gave_it(
    packages: dict[str, Path], tmp_path: Path, transform: Run
) -> None:
    (tmp_path / "copy").mkdir()
    (tmp_path / "copy" / "in.csv").write_text("")
    for source, given, named in [
        (tmp_path / "copy" / "in.csv", "mine.csv", "mine.csv"),
        (tmp_path / "copy", "data/", "data/in.csv"),  # a folder: the file under what was named
    ]:
        spec = _spec(packages["linear"], source, tmp_path / "out", input={"display_uri": given})
        with pytest.raises(InvalidArgument) as failed:
            transform(spec, work=tmp_path / "w" / source.name)
        assert str(failed.value) == f"input file {named} is empty: there is no record to score"


def test_input_order_holds_past_the_ids_five_digits() -> None:
    from dockyard.runtime.batch._plan import Shard
    from dockyard.runtime.batch._runner import _Dispatch

    def shard(file: int, first_line: int) -> Shard:
        return Shard(f"{file:05d}-{first_line:05d}", file, "lines", 0, -1, first_line, (), 1)

    shards = [shard(100_000, 1), shard(99_999, 200_000), shard(99_999, 1)]
    order = _Dispatch({s.id: s for s in shards}).order
    assert sorted(order, key=order.__getitem__) == [
        "99999-00001",
        "99999-200000",
        "100000-00001",
    ]
