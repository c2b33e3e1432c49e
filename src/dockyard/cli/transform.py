"""``dockyard transform``: batch-score files through a model as a job."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dockyard.cli._output import emit, fail_on_error, json_option
from dockyard.cli.jobs import _job_rows, _load_spec, describe, logs, stop
from dockyard.sdk import context
from dockyard.sdk._jobs import Estimator, _is_local_server
from dockyard.sdk._transform import TransformJob

__all__ = ["transform"]


@click.group()
def transform() -> None:
    """Batch transform: score CSV, JSON Lines or Parquet files through a model."""


def _resolve(data: dict[str, Any], base: Path, local: bool) -> dict[str, Any]:
    out = dict(data)
    section = out.get("input") or out.get("TransformInput")
    if isinstance(section, dict):
        key = "uri" if "uri" in section else "S3Uri" if "S3Uri" in section else None
        if key and "://" not in section[key]:
            section = {
                **section,
                key: Estimator._uri(str((base / section[key]).resolve()), "transform-input", local),
            }
            out["input" if "input" in out else "TransformInput"] = section
    model = out.get("model_uri")
    if isinstance(model, str) and ":/" not in model and (base / model).exists():
        out["model_uri"] = str((base / model).resolve())
    return out


@transform.command()
@click.argument("spec_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", default=None, help="Job name (default: from the spec, or generated).")
@click.option("--wait/--no-wait", default=False, help="Block until done, with a progress bar.")
@json_option
@fail_on_error
def submit(spec_file: Path, name: str | None, wait: bool, as_json: bool) -> None:
    """Submit a transform job from a YAML (or JSON) spec file."""
    client = context().server()
    data = _resolve(_load_spec(spec_file), spec_file.parent, _is_local_server(client))
    if name:
        data["name"] = name
    job = client.request("POST", "/api/v1/jobs/transform", json=data)
    if not as_json:
        click.echo(f"submitted transform job {job['name']}")
    if wait:
        job = TransformJob(job["name"], client).wait(logs=not as_json).model_dump(mode="json")
    if as_json:
        emit(job, True, str)


@transform.command("list")
@click.option("-n", "--limit", type=int, default=50, show_default=True)
@json_option
@fail_on_error
def list_(limit: int, as_json: bool) -> None:
    """List transform jobs, newest first."""
    items = (
        context()
        .server()
        .request("GET", "/api/v1/jobs", params={"kind": "transform", "limit": limit})["jobs"]
    )
    emit(items, as_json, lambda: _job_rows(items))


@transform.command()
@click.argument("name")
@fail_on_error
def resume(name: str) -> None:
    """Resume a failed or stopped transform; finished shards are not redone."""
    job = context().server().request("POST", f"/api/v1/jobs/{name}/resume")
    click.echo(f"job {name}: {job['status']} (resumed)")


transform.add_command(describe)
transform.add_command(logs)
transform.add_command(stop)
