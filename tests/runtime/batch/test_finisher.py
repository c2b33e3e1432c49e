"""Shards made durable on the worker's finishing thread: reported in order, each only after its
part and marker are written, a failure failing that shard alone."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from dockyard.runtime.batch._config import ShardTask
from dockyard.runtime.batch._finisher import Finisher
from dockyard.runtime.batch._worker import make_durable


def _task(tmp_path: Path, shard: str) -> ShardTask:
    return ShardTask(
        shard_id=shard,
        uri=f"file:///in/{shard}.csv",
        path=str(tmp_path / "in.csv"),
        kind="lines",
        start=0,
        end=1,
        first_line=1,
        row_groups=(),
        part_path=str(tmp_path / f"{shard}.part"),
        marker_path=str(tmp_path / f"{shard}.json"),
        nbytes=1,
    )


def test_shards_are_reported_done_in_order_once_their_marker_exists(tmp_path: Path) -> None:
    sent: list[dict[str, Any]] = []
    seen_markers: list[bool] = []
    lock = threading.Lock()

    def send(message: dict[str, Any]) -> None:
        with lock:
            sent.append(message)
            seen_markers.append((tmp_path / f"{message['shard']}.json").is_file())

    finisher = Finisher(make_durable, send)
    for shard in ("a", "b", "c"):
        (tmp_path / f"{shard}.part").write_bytes(b"1.0\n")
        finisher.submit(_task(tmp_path, shard), {"shard": shard, "records": 1})
    finisher.close()
    assert [(m["type"], m["shard"]) for m in sent] == [("done", "a"), ("done", "b"), ("done", "c")]
    assert seen_markers == [True, True, True]
    assert sent[0]["marker"] == {"shard": "a", "records": 1}


def test_a_shard_that_cannot_be_saved_fails_alone(tmp_path: Path) -> None:
    sent: list[dict[str, Any]] = []
    finisher = Finisher(make_durable, sent.append)
    finisher.submit(_task(tmp_path, "gone"), {"shard": "gone"})  # its part was never written
    (tmp_path / "kept.part").write_bytes(b"2.0\n")
    finisher.submit(_task(tmp_path, "kept"), {"shard": "kept"})
    finisher.close()
    assert [(m["type"], m["shard"]) for m in sent] == [("failed", "gone"), ("done", "kept")]
    error = sent[0]["error"]
    assert "file:///in/gone.csv" in error["message"]
    assert "FileNotFoundError" in error["message"]
    assert not (tmp_path / "gone.json").exists()


def test_close_without_shards_returns_at_once() -> None:
    finisher = Finisher(make_durable, lambda message: None)
    finisher.close()
    finisher.close()
