"""The monitoring job's process: check one window against the baseline (and, with ground
truth, the model's quality), or suggest a baseline; outputs to the spec's output URI."""

from __future__ import annotations

import collections
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson

from dockyard.api.jobs import JobDir
from dockyard.api.monitoring import NO_DATA, SUMMARY_FILE, MonitoringJobSpec
from dockyard.artifacts.roots import AllowedRoots
from dockyard.errors import InvalidArgument
from dockyard.runtime.monitor._files import confine, download, files_under, read_lines, upload
from dockyard.runtime.monitor._quality import breaches, flatten_metrics, join

__all__ = ["main", "run"]

_BASELINE_FILES = ("statistics.json", "constraints.json")
#: Violations kept in summary.json (all of them stay in constraint_violations.json).
_MAX_VIOLATIONS = 1000


def _say(message: str) -> None:
    print(f"[dockyard] {message}", flush=True)


def _dataset(spec: MonitoringJobSpec, uris: list[str], s3: str | None, baseline: Any = None) -> Any:
    """The data of ``spec``. Against a ``baseline`` of unnamed columns (``_c0`` ..: suggested
    from headerless data, as SageMaker names them), captured requests that name their columns
    otherwise (a ``dataframe_split``, one inference tensor) are read by position too, as the
    model read them. A baseline with names keeps SageMaker's reading: headerless CSV requests
    are ``_c0`` .. and its checks say which columns are missing and extra."""
    from dockyard.monitor import Dataset

    data = spec.data
    options: dict[str, Any] = {"uris": tuple(uris), "format": data.format, "s3_endpoint_url": s3}
    if data.columns is not None:
        options["columns"] = tuple(data.columns)
    elif baseline is not None and data.format == "capture" and data.capture_side == "input":
        names = [f.get("name") for f in baseline.statistics.get("features") or []]
        if names and names == [f"_c{i}" for i in range(len(names))]:
            options["columns"] = tuple(names)
    if data.header is not None:
        options["header"] = data.header
    if data.format == "capture":
        options["capture_side"] = data.capture_side
        if spec.window_end > spec.window_start:  # an hour's files may hold more than asked
            options["window"] = (spec.window_start, spec.window_end)
    return Dataset(**options)


def _roots(job: dict[str, Any]) -> AllowedRoots | None:
    listed = job.get("allowed_roots")
    return AllowedRoots.from_list(listed) if listed else None


def _baseline(
    spec: MonitoringJobSpec, work: Path, s3: str | None, roots: AllowedRoots | None
) -> dict[str, Any]:
    from dockyard.monitor import BaselineOptions, suggest_baseline, write_baseline

    uris = confine(files_under(spec.data.uris, s3), roots, "data")
    if not uris:
        from dockyard.errors import InvalidArgument

        raise InvalidArgument(f"no data files under {', '.join(spec.data.uris)}", field="data")
    _say(f"suggesting a baseline from {len(uris)} file(s)")
    baseline = suggest_baseline(_dataset(spec, uris, s3), BaselineOptions())
    write_baseline(baseline, work)
    features = baseline.statistics.get("features") or []
    return {
        "mode": "baseline",
        "rows": int((baseline.statistics.get("dataset") or {}).get("item_count") or 0),
        "features": len(features),
        "message": f"baseline suggested from {len(uris)} file(s): {len(features)} features",
    }


def _truth(spec: MonitoringJobSpec, s3: str | None, roots: AllowedRoots | None) -> dict[str, Any]:
    labels: dict[str, Any] = {}
    for uri in confine(files_under(spec.ground_truth_uris, s3), roots, "ground_truth_uris"):
        for line in read_lines(uri, s3):
            record = orjson.loads(line)
            labels[str(record["inference_id"])] = record["label"]
    return labels


def _quality(
    spec: MonitoringJobSpec,
    files: list[str],
    work: Path,
    s3: str | None,
    roots: AllowedRoots | None,
) -> dict[str, Any]:
    """Model quality over the window's captured answers that have ground truth."""
    from dockyard.monitor import capture_stamp, model_quality

    config = spec.model_quality
    assert config is not None
    truth = _truth(spec, s3, roots)
    records = (orjson.loads(line) for uri in files for line in read_lines(uri, s3))
    if spec.window_end > spec.window_start:  # an hour's files may hold more than asked
        low, high = capture_stamp(spec.window_start), capture_stamp(spec.window_end)
        records = (r for r in records if low <= str(r.get("time", "")) < high)
    joined = join(records, truth, config)
    result: dict[str, Any] = {"labelled_rows": len(joined.labels), "unmatched": joined.unmatched}
    if joined.unmatched:
        result["ground_truth_problems"] = joined.problems
        _say(f"ground truth: {joined.unmatched} labelled record(s) not joined:")
        for problem in joined.problems:
            _say(f"  {problem}")
        if joined.unmatched > len(joined.problems):
            _say(f"  ({joined.unmatched - len(joined.problems)} more not listed)")
    if not joined.labels:
        _say(f"model quality: no captured answer has ground truth yet ({len(truth)} labels)")
        result["metrics"], result["violations"] = {}, []
        return result
    metrics = model_quality(
        joined.predictions,
        joined.labels,
        config.problem_type.value,
        joined.probabilities or None,
    )
    (work / "model_quality.json").write_bytes(
        orjson.dumps(metrics, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY)
    )
    flat = flatten_metrics(metrics)
    result["metrics"] = flat
    result["violations"] = breaches(flat, config.thresholds)
    _say(f"model quality over {len(joined.labels)} labelled rows: {flat}")
    return result


def _no_data(detail: str) -> InvalidArgument:
    """An empty window fails as SageMaker fails it, whether files exist or not: nothing came,
    so nothing is checked and nothing is violated."""
    return InvalidArgument(f"{NO_DATA}: {detail}", field="data")


def _check(
    spec: MonitoringJobSpec, work: Path, s3: str | None, roots: AllowedRoots | None
) -> dict[str, Any]:
    from dockyard.monitor import CheckOptions, NoData, check, read_baseline, write_check

    files = confine(files_under(spec.data.uris, s3), roots, "data")
    if not files:
        raise _no_data("no file holds data for the window")
    assert spec.baseline_uri is not None
    baseline_files = [f"{spec.baseline_uri.rstrip('/')}/{name}" for name in _BASELINE_FILES]
    confine(baseline_files, roots, "baseline_uri")
    local = download(spec.baseline_uri, _BASELINE_FILES, work.parent / "baseline", s3)
    baseline = read_baseline(local)
    _say(f"checking {len(files)} file(s) against {spec.baseline_uri}")
    try:
        data = _dataset(spec, files, s3, baseline)
        result = check(data, baseline, CheckOptions(**spec.check_options))
    except NoData:
        raise _no_data(f"{len(files)} file(s) hold no record in the window") from None
    write_check(result, baseline, work)
    violations = list(result.violations.get("violations") or [])
    core = result.to_summary()
    drifted = list(core.get("drifted_features") or [])
    summary: dict[str, Any] = {
        "mode": "check",
        "rows": result.rows,
        "drifted_features": drifted,
        "features_checked": core.get("features_checked"),
        "report": "report.html" if (work / "report.html").is_file() else None,
    }
    if spec.model_quality is not None and spec.data.format == "capture":
        quality = _quality(spec, files, work, s3, roots)
        violations += quality.pop("violations")
        summary.update(quality)
    by_type = collections.Counter(str(v.get("constraint_check_type")) for v in violations)
    summary["violations_by_type"] = dict(sorted(by_type.items()))
    summary["violation_count"] = len(violations)
    summary["violations"] = violations[:_MAX_VIOLATIONS]
    summary["message"] = (
        f"{result.rows} rows checked: {len(violations)} violation(s), "
        f"{len(drifted)} drifted feature(s)"
    )
    return summary


def main(argv: list[str]) -> int:
    jd = JobDir(Path(argv[0]))
    job = json.loads(jd.job_file.read_text())
    spec = MonitoringJobSpec.model_validate(job["spec"])
    s3 = job.get("s3_endpoint_url")
    staging = Path(tempfile.mkdtemp(prefix="monitor-", dir=jd.root))
    work = staging / "out"
    work.mkdir()
    try:
        roots = _roots(job)
        if spec.mode == "baseline":
            summary = _baseline(spec, work, s3, roots)
        else:
            summary = _check(spec, work, s3, roots)
        (work / SUMMARY_FILE).write_bytes(
            orjson.dumps(summary, option=orjson.OPT_SERIALIZE_NUMPY, default=str)
        )
        names = upload(work, spec.output.uri, s3)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    jd.control.mkdir(parents=True, exist_ok=True)
    (jd.control / "result.json").write_text(json.dumps({"message": summary["message"]}))
    _say(f"{summary['message']}; {len(names)} file(s) written to {spec.output.uri}")
    return 0


def run(argv: list[str]) -> int:
    """:func:`main`, with a failure written where the runner reads why the job failed."""
    try:
        return main(argv)
    except Exception as exc:
        from dockyard.errors import DockyardError

        message = exc.message if isinstance(exc, DockyardError) else f"{type(exc).__name__}: {exc}"
        jd = JobDir(Path(argv[0]))
        jd.failure.parent.mkdir(parents=True, exist_ok=True)
        jd.failure.write_text(message[:1000])
        print(f"[dockyard] failed: {message}", file=sys.stderr, flush=True)
        return 1
