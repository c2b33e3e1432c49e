"""A tiny transform scored in the runner's own process, when the caller allows it, is the
transform a worker would have made: the same output, totals and errors."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.runtime.batch.conftest import features, write_csv

from dockyard.api.batch import TransformSpec
from dockyard.errors import InvalidArgument
from dockyard.runtime.batch import TransformResult
from dockyard.runtime.batch._runner import IN_PROCESS_MAX_BYTES

Run = Callable[..., TransformResult]


def _spec(model: Path, source: Path, out: Path, **fields: Any) -> TransformSpec:
    return TransformSpec(
        model_uri=str(model), input={"uri": str(source)}, output={"uri": str(out)}, **fields
    )


def _scored_here(caplog: pytest.LogCaptureFixture) -> bool:
    messages = [r.getMessage() for r in caplog.records if r.name == "dockyard.runtime.batch"]
    workers = any(m.startswith("starting ") for m in messages)
    here = "scoring the only shard in this process" in messages
    assert workers != here
    return here


def test_a_tiny_transform_in_process_matches_one_in_a_worker(
    packages: dict[str, Path], tmp_path: Path, transform: Run, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="dockyard.runtime.batch")
    write_csv(tmp_path / "in" / "test.csv", features(20), ids=True)
    outputs = {}
    for in_process in (True, False):
        caplog.clear()
        out = tmp_path / f"out-{in_process}"
        spec = _spec(
            packages["linear"],
            tmp_path / "in",
            out,
            data_processing={"input_filter": "$[1:]", "join_source": "Input"},
        )
        result = transform(spec, work=tmp_path / f"work-{in_process}", in_process=in_process)
        assert _scored_here(caplog) == in_process
        assert (result.status, result.records, result.shards_total) == ("Completed", 20, 1)
        outputs[in_process] = (out / "test.csv.out").read_text()
    assert outputs[True] == outputs[False]
    assert result.worker_python == sys.executable


def test_a_bad_record_fails_in_process_as_in_a_worker(
    packages: dict[str, Path], tmp_path: Path, transform: Run
) -> None:
    lines = [",".join(map(str, r)) for r in features(30)]
    lines[20] = "1.0,not-a-number,2.0"
    (tmp_path / "in.csv").write_text("\n".join(lines) + "\n")
    messages = []
    for in_process in (True, False):
        spec = _spec(packages["linear"], tmp_path / "in.csv", tmp_path / f"out-{in_process}")
        with pytest.raises(InvalidArgument) as failed:
            transform(spec, work=tmp_path / f"work-{in_process}", in_process=in_process)
        assert failed.value.details["line"] == 21
        assert not (tmp_path / f"out-{in_process}").exists()
        messages.append(str(failed.value))
    assert messages[0] == messages[1]


def test_more_than_a_tiny_input_still_goes_to_workers(
    packages: dict[str, Path], tmp_path: Path, transform: Run, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="dockyard.runtime.batch")
    rows = features(IN_PROCESS_MAX_BYTES // 20)
    write_csv(tmp_path / "big.csv", rows)
    assert (tmp_path / "big.csv").stat().st_size > IN_PROCESS_MAX_BYTES
    spec = _spec(
        packages["linear"], tmp_path / "big.csv", tmp_path / "out", shard_bytes=64 * 1024 * 1024
    )
    result = transform(spec, in_process=True)
    assert result.shards_total == 1
    assert not _scored_here(caplog)
