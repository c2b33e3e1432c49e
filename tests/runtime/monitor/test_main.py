"""The monitoring job's process run directly on a job folder, as the runner starts it: a
baseline, then a check of captured records against it, outputs in the store; and a link out of
the allowed roots refused at run time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from dockyard.api.jobs import JobDir
from dockyard.runtime.monitor._main import run


def _job(root: Path, roots: list[str], **spec: Any) -> JobDir:
    folder = JobDir(root)
    folder.control.mkdir(parents=True)
    body = {"name": "j", "schedule": "s", "execution_id": "e", **spec}
    folder.job_file.write_text(json.dumps({"spec": body, "allowed_roots": roots}))
    return folder


def _capture(path: Path, rows: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for i, row in enumerate(rows):
        data = {"dataframe_split": {"columns": ["a", "b"], "data": [row.tolist()]}}
        record = {
            "request_id": f"r{i}",
            "kind": "production",
            "input": {"content_type": "application/json", "encoding": "json", "data": data},
            "output": {"content_type": "application/json", "encoding": "json", "data": [1]},
        }
        lines.append(orjson.dumps(record))
    path.write_bytes(b"\n".join(lines) + b"\n")


def test_a_baseline_then_a_check_write_their_outputs(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    store = tmp_path / "store"
    train = tmp_path / "data" / "train.csv"
    train.parent.mkdir()
    train.write_text("a,b\n" + "".join(f"{a},{b}\n" for a, b in rng.normal(size=(500, 2))))
    roots = [str(store), str(tmp_path / "data")]
    baseline = _job(
        tmp_path / "b",
        roots,
        mode="baseline",
        data={"uris": [str(train)], "format": "csv"},
        output={"uri": str(store / "baseline")},
    )
    assert run([str(baseline.root)]) == 0, baseline.failure.read_text()
    assert {p.name for p in (store / "baseline").iterdir()} == {
        "statistics.json",
        "constraints.json",
        "summary.json",
    }
    drifted = rng.normal(size=(300, 2))
    drifted[:, 0] += 5
    _capture(store / "capture" / "ep" / "main" / "2026/12/05/10" / "f.jsonl", drifted)
    check = _job(
        tmp_path / "c",
        roots,
        mode="check",
        data={
            "uris": [
                str(store / "capture" / "ep" / "main" / "2026/12/05/10"),
                str(store / "capture" / "ep" / "main" / "2026/12/05/11"),  # nothing captured
            ],
            "format": "capture",
        },
        baseline_uri=str(store / "baseline"),
        model_quality={"problem_type": "binary", "thresholds": {"accuracy": {"min": 0.9}}},
        ground_truth_uris=[str(store / "truth")],
        output={"uri": str(store / "check")},
    )
    (store / "truth").mkdir()
    labels = b"".join(
        orjson.dumps({"inference_id": f"r{i}", "label": i % 2}) + b"\n" for i in range(300)
    )
    (store / "truth" / "t.jsonl").write_bytes(labels)
    assert run([str(check.root)]) == 0, check.failure.read_text()
    written = {p.name for p in (store / "check").iterdir()}
    assert written >= {
        "statistics.json",
        "constraint_violations.json",
        "drift.json",
        "report.html",
        "model_quality.json",
        "summary.json",
    }
    summary = orjson.loads((store / "check" / "summary.json").read_bytes())
    assert summary["rows"] == 300 and summary["labelled_rows"] == 300
    assert [d["feature"] for d in summary["drifted_features"]] == ["a"]
    assert summary["violations_by_type"]["LessThanThreshold"] == 1  # accuracy 0.5
    assert summary["violation_count"] == len(summary["violations"])
    message = json.loads((check.control / "result.json").read_text())["message"]
    assert message.startswith("300 rows checked:")


def test_links_out_of_the_roots_are_never_read(tmp_path: Path) -> None:
    store = tmp_path / "store"
    hour = store / "capture" / "ep" / "main" / "2026/12/05/10"
    hour.mkdir(parents=True)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.jsonl").write_text('{"request_id": "x"}\n')
    (hour / "f.jsonl").symlink_to(outside / "secret.jsonl")  # a file linked out: not listed
    linked_hour = store / "capture" / "ep" / "main" / "2026/12/05/11"
    linked_hour.symlink_to(outside)  # a folder linked out: refused
    quiet = _job(
        tmp_path / "q",
        [str(store)],
        mode="check",
        data={"uris": [str(hour)], "format": "capture"},
        baseline_uri=str(store / "baseline"),
        output={"uri": str(store / "quiet")},
    )
    assert run([str(quiet.root)]) == 1  # the only file is a link out, never listed
    assert quiet.failure.read_text().startswith("Job inputs had no data")
    check = _job(
        tmp_path / "c",
        [str(store)],
        mode="check",
        data={"uris": [str(linked_hour)], "format": "capture"},
        baseline_uri=str(store / "baseline"),
        output={"uri": str(store / "check")},
    )
    assert run([str(check.root)]) == 1
    assert "outside the allowed roots" in check.failure.read_text()
    assert not (store / "check").exists()


def test_an_empty_window_fails_the_same_way_with_files_or_without(tmp_path: Path) -> None:
    store = tmp_path / "store"
    baseline = store / "baseline"
    baseline.mkdir(parents=True)
    features = [{"name": n, "inferred_type": "Fractional"} for n in ("a", "b")]
    (baseline / "statistics.json").write_text(json.dumps({"version": 0.0, "features": []}))
    (baseline / "constraints.json").write_text(json.dumps({"version": 0.0, "features": features}))
    hour = store / "capture" / "ep" / "main" / "2026/12/05/10"
    _capture(hour / "f.jsonl", np.zeros((3, 2)))  # records without a time: outside any window
    (hour / "empty.jsonl").write_bytes(b"")
    reasons = []
    for name, uris in (("files", [str(hour)]), ("none", [str(hour.parent / "11")])):
        job = _job(
            tmp_path / name,
            [str(store)],
            mode="check",
            data={"uris": uris, "format": "capture"},
            baseline_uri=str(baseline),
            window_start=1_796_464_800_000,  # 2026-12-05 10:00 UTC
            window_end=1_796_468_400_000,
            output={"uri": str(store / name)},
        )
        assert run([str(job.root)]) == 1
        reasons.append(job.failure.read_text())
        assert not (store / name).exists()  # no statistics, no violations
    assert [r.split(":")[0] for r in reasons] == ["Job inputs had no data"] * 2
    assert "2 file(s) hold no record in the window" in reasons[0]
    assert "no file holds data for the window" in reasons[1]


def _mixed(path: Path, rows: np.ndarray) -> None:
    """Captured requests of the same rows, sent the three ways an endpoint takes them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for i, row in enumerate(rows.tolist()):
        bodies = [
            ("text/csv", "text", ",".join(map(str, row)) + "\n"),
            (
                "application/json",
                "json",
                {"dataframe_split": {"columns": ["f0", "f1", "f2"], "data": [row]}},
            ),
            (
                "application/json",
                "json",
                {"inputs": [{"name": "input-0", "shape": [1, 3], "datatype": "FP64", "data": row}]},
            ),
        ]
        content_type, encoding, data = bodies[i % 3]
        record = {
            "request_id": f"r{i}",
            "kind": "production",
            "input": {"content_type": content_type, "encoding": encoding, "data": data},
        }
        lines.append(orjson.dumps(record))
    path.write_bytes(b"\n".join(lines) + b"\n")


def test_requests_sent_three_ways_are_checked_as_the_baselines_columns(tmp_path: Path) -> None:
    # A baseline from headerless training data; requests as SageMaker CSV, MLflow's
    # dataframe_split with names of its own, and one Open Inference Protocol tensor. Each is
    # the model's three inputs by position: none is an extra or a missing column.
    rng = np.random.default_rng(2)
    store = tmp_path / "store"
    train = tmp_path / "data" / "train.csv"
    train.parent.mkdir()
    train.write_text("".join(f"{a},{b},{c}\n" for a, b, c in rng.normal(size=(300, 3))))
    roots = [str(store), str(tmp_path / "data")]
    baseline = _job(
        tmp_path / "b",
        roots,
        mode="baseline",
        data={"uris": [str(train)], "format": "csv", "header": False},
        output={"uri": str(store / "baseline")},
    )
    assert run([str(baseline.root)]) == 0, baseline.failure.read_text()
    hour = store / "capture" / "ep" / "main" / "2026/12/05/10"
    _mixed(hour / "f.jsonl", rng.normal(size=(90, 3)))
    check = _job(
        tmp_path / "c",
        roots,
        mode="check",
        data={"uris": [str(hour)], "format": "capture"},
        baseline_uri=str(store / "baseline"),
        output={"uri": str(store / "check")},
    )
    assert run([str(check.root)]) == 0, check.failure.read_text()
    summary = orjson.loads((store / "check" / "summary.json").read_bytes())
    assert summary["rows"] == 90
    assert summary["violations_by_type"] == {}, summary["violations"]
