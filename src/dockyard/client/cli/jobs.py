"""``dockyard jobs``: submit a spec file, list, describe, follow logs, stop."""

from __future__ import annotations

import sys
import time
from itertools import islice
from pathlib import Path
from typing import Any

import click
import orjson

from dockyard.api.jobs import JobStatus
from dockyard.client.cli._flags import FlagFields
from dockyard.client.cli._group import Group
from dockyard.client.cli._output import COUNT, emit, fail_on_error, format_time, json_option, table
from dockyard.client.cli._specs import job_paths, load_spec
from dockyard.client.http import routes
from dockyard.client.sdk import TrainingJob, context
from dockyard.limits import LIMITS

__all__ = ["jobs"]


@click.group(cls=Group)
def jobs() -> None:
    """Training jobs: code or a built-in algorithm run under SageMaker's training contract."""


def _model(job: dict[str, Any]) -> str | None:
    """The model a training job made, or the one a transform scores with (its spec's)."""
    model = job.get("model_uri")
    if model is None and job.get("kind") == "transform":
        model = (job.get("spec") or {}).get("model_uri")
    return str(model) if model is not None else None


def _job_rows(items: list[dict[str, Any]]) -> str:
    return table(
        ["name", "status", "secondary", "created", "model"],
        [
            [
                j["name"],
                j["status"],
                j["secondary_status"],
                format_time(j["created_time"]),
                _model(j),
            ]
            for j in items
        ],
    )


@jobs.command()
@click.argument("spec_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", default=None, help="Job name (default: from the spec, or generated).")
@click.option("--wait/--no-wait", default=False, help="Block until the job ends.")
@click.option("--logs/--no-logs", default=True, help="With --wait, follow the log.")
@json_option
@fail_on_error
def submit(spec_file: Path, name: str | None, wait: bool, logs: bool, as_json: bool) -> None:
    """Submit a job from a YAML (or JSON) spec file."""
    from dockyard.api.jobs import TrainingJobSpec
    from dockyard.client.sdk import spec_body

    client = context().server()
    data = job_paths(load_spec(spec_file), spec_file.parent, client)
    flags = FlagFields()
    if name:
        flags.set(data, "name", name, "--name")
    # The server's own spec model: a bad value fails here, naming the field as it would
    # (or the flag that set it).
    with flags.naming():
        job = client.call(routes.SUBMIT_TRAINING_JOB(), spec_body(TrainingJobSpec, data))
    if not as_json:
        click.echo(f"submitted job {job['name']} (run {job['run_id']})")
    if wait:
        job = (
            TrainingJob(job["name"], client).wait(logs=logs and not as_json).model_dump(mode="json")
        )
    if as_json:
        emit(job, True, str)


@jobs.command("list")
@click.option(
    "--status",
    multiple=True,
    type=click.Choice([s.value for s in JobStatus]),
    help="Only jobs with this status.",
)
@click.option("-n", "--limit", type=COUNT, default=50, show_default=True)
@json_option
@fail_on_error
def list_(status: tuple[str, ...], limit: int, as_json: bool) -> None:
    """List jobs, newest first."""
    params: dict[str, Any] = {"max_results": min(limit, LIMITS.page_max_results)}
    if status:
        params["status"] = list(status)
    pages = context().server().paginate(routes.LIST_JOBS(), "jobs", params=params)
    items = list(islice(pages, limit))
    emit(items, as_json, lambda: _job_rows(items))


@jobs.command()
@click.argument("name")
@json_option
@fail_on_error
def describe(name: str, as_json: bool) -> None:
    """Show a job: status, history, failure reason, model."""
    job = context().server().call(routes.GET_JOB(name=name))

    def human() -> str:
        model = _model(job)
        lines = [
            f"job {job['name']} ({job['kind']})",
            f"  status: {job['status']} / {job['secondary_status']}",
            f"  executor: {job.get('executor') or '-'}",
            f"  run: {job.get('run_id') or '-'}   model: {model or '-'}",
        ]
        if job.get("failure_reason"):
            lines.append(f"  failure: {job['failure_reason']}")
        lines.append("history:")
        lines.append(
            table(
                ["time", "secondary status", "message"],
                [
                    [
                        format_time(e.get("time")),
                        e.get("secondary_status"),
                        (e.get("message") or "").split("\n")[0],
                    ]
                    for e in job.get("events") or []
                ],
            )
        )
        return "\n".join(lines)

    emit(job, as_json, human)


@jobs.command()
@click.argument("name")
@click.option("-f", "--follow", is_flag=True, help="Keep printing until the job ends.")
@json_option
@fail_on_error
def logs(name: str, follow: bool, as_json: bool) -> None:
    """Print a job's log; with --json, one JSON object per page read: its ``text``, the
    ``offset`` after it, and whether the job had ``ended`` (the last object has it true
    when following)."""
    job = TrainingJob(name, context().server())
    offset = 0
    while True:
        text, offset, ended = job.logs(offset)
        last = not follow or (ended and not text)
        if not as_json:
            sys.stdout.write(text)
        elif text or last:  # no empty pages while following, but always one object
            page = {"text": text, "offset": offset, "ended": ended}
            sys.stdout.write(orjson.dumps(page).decode() + "\n")
        sys.stdout.flush()
        if last:
            return
        if not text:
            time.sleep(0.25)


@jobs.command()
@click.argument("name")
@json_option
@fail_on_error
def stop(name: str, as_json: bool) -> None:
    """Stop a job (SIGTERM, then SIGKILL after the grace period); --json prints the job."""
    job = context().server().call(routes.STOP_JOB(name=name))

    def human() -> str:
        status = JobStatus(job["status"])
        if status.is_terminal and status is not JobStatus.STOPPED:  # a stop never ends one so
            return f"job {name} had ended ({status}): nothing to stop"
        return f"job {name}: {status}"

    emit(job, as_json, human)
