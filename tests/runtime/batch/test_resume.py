"""Stopping, crashing and resuming: finished shards are never redone, lines never duplicated."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psutil
import pytest
from tests.runtime.batch.conftest import expected_linear, features, write_csv

from dockyard.api.batch import TransformSpec
from dockyard.errors import Conflict
from dockyard.runtime.batch import TransformResult
from dockyard.runtime.batch import _workdir as workdir_module
from dockyard.runtime.batch._workdir import WorkDir

Run = Callable[..., TransformResult]
Lines = Callable[[str], list[str]]

_CHILD = """
import json, sys
from dockyard.runtime.batch import run_transform
run_transform(json.loads(open(sys.argv[1]).read()), sys.argv[2], env_manager="local")
"""


def _slow_spec(packages: dict[str, Path], tmp_path: Path, rows: int) -> TransformSpec:
    write_csv(tmp_path / "in.csv", features(rows), ids=True)
    return TransformSpec(
        model_uri=str(packages["slow"]),
        input={"uri": str(tmp_path / "in.csv")},
        output={"uri": str(tmp_path / "out")},
        data_processing={"input_filter": "$[1:]", "join_source": "Input"},
        shard_bytes=1_500,
        max_concurrent_transforms=2,
    )


def _markers(work: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in (work / "done").glob("*.json")}


def _check_output(lines: list[str], rows: int) -> None:
    ids = [int(line.split(",")[0]) for line in lines]
    assert ids == list(range(rows))  # every line once, in input order
    values = np.asarray([[float(v) for v in line.split(",")[1:4]] for line in lines])
    predicted = [float(line.split(",")[4]) for line in lines]
    np.testing.assert_allclose(predicted, expected_linear(values, bias=0.0), rtol=1e-12)


def test_stop_then_resume_skips_finished_shards(
    packages: dict[str, Path], tmp_path: Path, transform: Run, output_lines: Lines
) -> None:
    spec = _slow_spec(packages, tmp_path, 900)
    work = tmp_path / "work"
    stopped = transform(spec, should_stop=lambda: len(_markers(work)) >= 4)
    finished = _markers(work)
    assert stopped.status == "Stopped"
    assert stopped.manifest_uri is None
    assert 4 <= len(finished) < stopped.shards_total
    assert not (tmp_path / "out").exists()  # the file is incomplete: nothing is published
    resumed = transform(spec)
    assert resumed.status == "Completed"
    assert resumed.shards_reused == len(finished)
    assert {k: v for k, v in _markers(work).items() if k in finished} == finished
    _check_output(output_lines("in.csv.out"), 900)
    assert resumed.records == 900


def test_killed_run_resumes_without_duplicate_or_missing_lines(
    packages: dict[str, Path], tmp_path: Path, transform: Run, output_lines: Lines
) -> None:
    spec = _slow_spec(packages, tmp_path, 900)
    work = tmp_path / "work"
    (tmp_path / "spec.json").write_text(spec.model_dump_json())
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(tmp_path / "spec.json"), str(work)],
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while len(_markers(work)) < 3:
        assert child.poll() is None, child.stderr.read() if child.stderr else ""
        assert time.monotonic() < deadline, "no shard finished in time"
        time.sleep(0.05)
    workers = psutil.Process(child.pid).children(recursive=True)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    if child.stderr is not None:
        child.stderr.close()
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive  # workers die with the runner: no orphan keeps writing parts
    finished = _markers(work)
    assert not (tmp_path / "out" / "in.csv.out").exists()
    resumed = transform(spec)
    assert resumed.status == "Completed"
    assert resumed.shards_reused == len(finished) >= 3
    assert {k: v for k, v in _markers(work).items() if k in finished} == finished
    _check_output(output_lines("in.csv.out"), 900)


def test_a_completed_transform_is_not_run_again(
    packages: dict[str, Path], tmp_path: Path, transform: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # relative paths, while workers run in another directory
    write_csv(tmp_path / "in.csv", features(5))
    spec = TransformSpec(
        model_uri=str(packages["linear"]), input={"uri": "in.csv"}, output={"uri": "out"}
    )
    first = transform(spec, work="work")
    assert first.records == 5
    (tmp_path / "out" / "in.csv.out").unlink()
    again = transform(spec, work="work")
    assert again == first
    assert not (tmp_path / "out" / "in.csv.out").exists()  # nothing was redone


def test_resuming_with_another_spec_or_changed_input_is_refused(
    packages: dict[str, Path], tmp_path: Path, transform: Run
) -> None:
    write_csv(tmp_path / "in" / "a.csv", features(5))
    spec = TransformSpec(
        model_uri=str(packages["linear"]),
        input={"uri": str(tmp_path / "in")},
        output={"uri": str(tmp_path / "out")},
        shard_bytes=50,
    )
    work = WorkDir(tmp_path / "work")
    from dockyard.runtime.batch._inputs import list_inputs
    from dockyard.runtime.batch._plan import fingerprint, make_plan, save_plan

    save_plan(make_plan(list_inputs(spec.input.uri), spec, fingerprint(spec, "d")), work.plan)
    with pytest.raises(Conflict, match="another spec or model"):
        transform(spec.model_copy(update={"batch_strategy": "SingleRecord"}))
    write_csv(tmp_path / "in" / "a.csv", features(6))
    from dockyard.runtime.batch._plan import load_plan

    with pytest.raises(Conflict, match=f"input {tmp_path / 'in' / 'a.csv'} changed"):
        load_plan(work.plan, fingerprint(spec, "d"), list_inputs(spec.input.uri))


def test_a_work_directory_in_use_is_refused(
    packages: dict[str, Path], tmp_path: Path, transform: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workdir_module, "_LOCK_WAIT_S", 0.2)
    write_csv(tmp_path / "in.csv", features(5))
    spec = TransformSpec(
        model_uri=str(packages["linear"]),
        input={"uri": str(tmp_path / "in.csv")},
        output={"uri": str(tmp_path / "out")},
    )
    with WorkDir(tmp_path / "work").locked(), pytest.raises(Conflict, match="another transform"):
        transform(spec)


def test_shard_markers_record_what_the_manifest_reports(
    packages: dict[str, Path], tmp_path: Path, transform: Run
) -> None:
    rows = features(200)
    write_csv(tmp_path / "in.csv", rows)
    spec = TransformSpec(
        model_uri=str(packages["linear"]),
        input={"uri": str(tmp_path / "in.csv")},
        output={"uri": str(tmp_path / "out")},
        shard_bytes=500,
        max_concurrent_transforms=1,
    )
    result = transform(spec)
    markers = [json.loads(p.read_text()) for p in (tmp_path / "work" / "done").glob("*.json")]
    assert len(markers) == result.shards_total > 5
    assert sum(m["records"] for m in markers) == 200
    assert sum(m["bytes_in"] for m in markers) == (tmp_path / "in.csv").stat().st_size
    assert not list((tmp_path / "work" / "parts").iterdir())  # published: parts removed
