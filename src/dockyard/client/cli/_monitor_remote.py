"""``dockyard monitor schedules ...`` and ``dockyard monitor ground-truth upload``: monitoring
schedules on a server.

    dockyard monitor schedules create churn-drift.yaml      # the spec (local paths uploaded)
    dockyard monitor schedules create --name churn-drift --endpoint churn \\
        --baseline ./baseline/ --schedule hourly            # or --suggest-from train.csv
    dockyard monitor schedules list | describe NAME | delete NAME
    dockyard monitor schedules run NAME [--start ISO --end ISO]
    dockyard monitor schedules executions NAME [--violations]
    dockyard monitor ground-truth upload NAME labels.jsonl   # {"inference_id", "label"} lines
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from dockyard.api.monitoring import (
    GroundTruthUploaded,
    MonitoringExecution,
    MonitoringSchedule,
    MonitoringScheduleSpec,
)
from dockyard.client.cli._client import client
from dockyard.client.cli._confirm import confirm, yes_option
from dockyard.client.cli._flags import FlagFields
from dockyard.client.cli._group import Group
from dockyard.client.cli._output import (
    emit,
    emit_done,
    fail_on_error,
    format_time,
    json_option,
    table,
)
from dockyard.client.cli._specs import load_spec, local_path, local_to_store
from dockyard.client.http import Client, from_answer, routes
from dockyard.client.sdk import build_request, check_local_baseline, is_local
from dockyard.errors import InvalidArgument

__all__ = ["executions_text", "ground_truth", "schedules"]

_UPLOADS = "monitoring/baselines"


@click.group(cls=Group)
def schedules() -> None:
    """Monitoring schedules on the server: checks of captured traffic against a baseline."""


def _next_check(s: MonitoringSchedule) -> str:
    start = format_time(s.next_window_start)
    if s.next_check_time is None:  # a server older than the field
        return f"next window from {start}"
    return f"next check {format_time(s.next_check_time)} (window from {start})"


def _describe(s: MonitoringSchedule) -> str:
    target = s.spec.target
    watched = (
        f"endpoint {target.endpoint}" + (f" (variant {target.variant})" if target.variant else "")
        if target.endpoint
        else f"transform job {target.transform_job} ({target.side})"
    )
    lines = [
        f"{s.name}  {s.status.value}",
        f"watches:    {watched}",
        f"schedule:   {s.spec.schedule}   {_next_check(s)}",
        f"baseline:   {s.baseline_uri or '(being suggested)'}",
        f"run:        {s.run_id}",
    ]
    if s.last_execution is not None:
        lines.append(f"last:       {_line(s.last_execution)}")
    if s.failure_reason:
        lines.append(f"failure:    {s.failure_reason}")
    return "\n".join(lines)


def _line(e: MonitoringExecution) -> str:
    found = f"{e.violation_count} violation(s)" if e.status.is_terminal else ""
    return f"{e.execution_id} {e.status.value} {found}".strip()


def _baseline_paths(http: Client, data: dict[str, Any], base: Path) -> dict[str, Any]:
    """The spec with a local baseline folder or dataset uploaded first."""
    baseline = data.get("baseline")
    if not isinstance(baseline, dict):
        return data
    if "uri" in baseline:
        _check_local_baseline(baseline["uri"], base)
        uri = local_to_store(http, baseline["uri"], base, _UPLOADS, "baseline.uri")
        baseline = {**baseline, "uri": uri}
    source = baseline.get("suggest_from")
    if isinstance(source, dict) and "dataset_uri" in source:
        field = "baseline.suggest_from.dataset_uri"
        uri = local_to_store(http, source["dataset_uri"], base, _UPLOADS, field)
        baseline = {**baseline, "suggest_from": {**source, "dataset_uri": uri}}
    return {**data, "baseline": baseline}


@schedules.command()
@click.argument(
    "spec_file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--name", help="The schedule's name (overrides the file's).")
@click.option("--endpoint", help="Watch this endpoint's captured traffic.")
@click.option("--variant", help="Only this variant's traffic.")
@click.option("--baseline", "baseline_uri", help="Folder with statistics.json + constraints.json.")
@click.option("--suggest-from", help="Data (file, folder or URI) to suggest the baseline from.")
@click.option("--schedule", "cadence", help="'hourly' (default) or a cron expression.")
@json_option
@fail_on_error
def create(
    spec_file: Path | None,
    name: str | None,
    endpoint: str | None,
    variant: str | None,
    baseline_uri: str | None,
    suggest_from: str | None,
    cadence: str | None,
    as_json: bool,
) -> None:
    """Create a schedule from SPEC_FILE (YAML or JSON) and/or the options."""
    data: dict[str, Any] = load_spec(spec_file) if spec_file else {}
    base = spec_file.parent if spec_file else Path.cwd()
    flags = FlagFields()
    if spec_file is None:  # what only the flags give: a missing one is the flag's
        flags.named("target", "--endpoint")
    if name:
        flags.set(data, "name", name, "--name")
    if endpoint:
        data["target"] = {}
        flags.set(data, "target.endpoint", endpoint, "--endpoint")
        if variant:
            flags.set(data, "target.variant", variant, "--variant")
    if baseline_uri and suggest_from:
        raise InvalidArgument("give --baseline or --suggest-from, not both", field="--baseline")
    if baseline_uri:
        data["baseline"] = {}
        flags.set(data, "baseline.uri", baseline_uri, "--baseline")
    if suggest_from:
        data["baseline"] = {}
        flags.set(data, "baseline.suggest_from.dataset_uri", suggest_from, "--suggest-from")
        flags.named("baseline.suggest_from", "--suggest-from")
    if cadence:
        flags.set(data, "schedule", cadence, "--schedule")
    with flags.naming():
        build_request(MonitoringScheduleSpec, data)  # a bad spec fails here, naming the field
        http = client()
        spec = build_request(MonitoringScheduleSpec, _baseline_paths(http, data, base))
        created = from_answer(
            MonitoringSchedule, http.call(routes.CREATE_MONITORING_SCHEDULE(), spec)
        )
    emit(created.model_dump(mode="json"), as_json, lambda: _describe(created))


@schedules.command("list")
@click.option("--max-results", type=click.IntRange(1, 1000), default=100, show_default=True)
@json_option
@fail_on_error
def list_(max_results: int, as_json: bool) -> None:
    """Schedules, newest first."""
    answer = client().call(routes.LIST_MONITORING_SCHEDULES(), params={"max_results": max_results})
    found = [from_answer(MonitoringSchedule, s) for s in answer["monitoring_schedules"]]
    emit(
        [s.model_dump(mode="json") for s in found],
        as_json,
        lambda: table(
            ["name", "status", "target", "schedule", "last", "violations"],
            [
                [
                    s.name,
                    s.status.value,
                    s.spec.target.endpoint or s.spec.target.transform_job,
                    s.spec.schedule,
                    s.last_execution.status.value if s.last_execution else "-",
                    s.last_execution.violation_count if s.last_execution else "-",
                ]
                for s in found
            ],
        ),
    )


@schedules.command()
@click.argument("name")
@json_option
@fail_on_error
def describe(name: str, as_json: bool) -> None:
    """Schedule NAME: target, cadence, baseline, last execution."""
    found = from_answer(
        MonitoringSchedule, client().call(routes.GET_MONITORING_SCHEDULE(name=name))
    )
    emit(found.model_dump(mode="json"), as_json, lambda: _describe(found))


def _ms(text: str | None, field: str) -> int | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidArgument(
            f"{text!r} is not an ISO time (2026-12-05T06:00)", field=field
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


@schedules.command()
@click.argument("name")
@click.option("--start", help="Window start, ISO time (UTC unless it says); default last hour.")
@click.option("--end", help="Window end, ISO time.")
@json_option
@fail_on_error
def run(name: str, start: str | None, end: str | None, as_json: bool) -> None:
    """Check a window of schedule NAME now."""
    body = {"start": _ms(start, "start"), "end": _ms(end, "end")}
    found = from_answer(
        MonitoringExecution,
        client().call(
            routes.RUN_MONITORING_SCHEDULE(name=name), {k: v for k, v in body.items() if v}
        ),
    )
    emit(found.model_dump(mode="json"), as_json, lambda: f"started {_line(found)}")


@schedules.command()
@click.argument("name")
@click.option("--violations", "only_violations", is_flag=True, help="List the violations.")
@click.option("--max-results", type=click.IntRange(1, 1000), default=50, show_default=True)
@json_option
@fail_on_error
def executions(name: str, only_violations: bool, max_results: int, as_json: bool) -> None:
    """Executions of schedule NAME, latest window first (or their violations)."""
    http = client()
    if only_violations:
        answer = http.call(
            routes.LIST_MONITORING_VIOLATIONS(name=name), params={"max_results": max_results}
        )
        violations = answer["violations"]
        emit(
            violations,
            as_json,
            lambda: table(
                ["window", "feature", "check", "description"],
                [
                    [
                        format_time(v["window_start"]),
                        v.get("feature_name") or v.get("metric_name") or "-",
                        v.get("constraint_check_type"),
                        str(v.get("description", ""))[:80],
                    ]
                    for v in violations
                ],
            ),
        )
        return
    answer = http.call(
        routes.LIST_MONITORING_EXECUTIONS(name=name), params={"max_results": max_results}
    )
    found = [from_answer(MonitoringExecution, e) for e in answer["executions"]]
    emit([e.model_dump(mode="json") for e in found], as_json, lambda: executions_text(found))


def executions_text(found: list[MonitoringExecution]) -> str:
    """The executions table: the report's URL (or -) and, in a column of its own, why an
    execution failed."""
    headers = ["execution", "window", "status", "rows", "violations", "drifted", "report"]
    return table(
        [*headers, "failure"],
        [
            [
                e.execution_id,
                format_time(e.window_start),
                e.status.value,
                e.rows if e.rows is not None else "-",
                e.violation_count,
                ",".join(str(d.get("feature")) for d in e.drifted_features) or "-",
                e.report_url or "-",
                e.failure_reason or "-",
            ]
            for e in found
        ],
    )


@schedules.command()
@click.argument("name")
@yes_option
@json_option
@fail_on_error
def delete(name: str, yes: bool, as_json: bool) -> None:
    """Delete schedule NAME (its outputs stay in the store; asks first, --yes does not)."""
    confirm(f"delete monitoring schedule {name}", yes)
    client().call(routes.DELETE_MONITORING_SCHEDULE(name=name))
    emit_done("deleted", "monitoring_schedule", name, as_json, f"deleted {name}")


def _check_local_baseline(value: Any, base: Path) -> None:
    """A local baseline folder is checked before it is uploaded (see check_local_baseline)."""
    if is_local(value):
        check_local_baseline(local_path(value, base, "baseline.uri"), "baseline.uri")


@click.group("ground-truth", cls=Group)
def ground_truth() -> None:
    """Ground truth for model quality: labels by inference id."""


@ground_truth.command()
@click.argument("name")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
@fail_on_error
def upload(name: str, file: Path, as_json: bool) -> None:
    """Upload FILE (JSON Lines or a JSON list of {"inference_id", "label"}) for schedule
    NAME."""
    route = routes.UPLOAD_GROUND_TRUTH(name=name)
    try:
        answer = client().request(
            route.method,
            route.path,
            content=file.read_bytes(),
            headers={"Content-Type": "application/jsonlines"},
        )
    except InvalidArgument as exc:
        raise _in_file(exc, file) from None
    found = from_answer(GroundTruthUploaded, answer)
    emit(found.model_dump(mode="json"), as_json, lambda: f"{found.records} labels: {found.uri}")


def _in_file(exc: InvalidArgument, file: Path) -> InvalidArgument:
    """The server's refusal of an upload, each problem at its line of ``file``."""
    listed = exc.details.get("problems")
    if not isinstance(listed, list) or not all(isinstance(p, dict) and "at" in p for p in listed):
        return exc
    problems = [{"field": f"{file}, {p['at']}", "message": p.get("message")} for p in listed]
    if len(problems) == 1:
        return InvalidArgument(f"{problems[0]['field']}: {problems[0]['message']}")
    return InvalidArgument(exc.message, details={"problems": problems})
