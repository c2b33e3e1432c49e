"""``dockyard transform``: batch-score files through a model as a job."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import islice
from pathlib import Path
from typing import Any

import click

from dockyard.api.batch import SAGEMAKER_NAMES
from dockyard.client.cli._flags import FlagFields
from dockyard.client.cli._group import Group
from dockyard.client.cli._output import COUNT, emit, emit_done, fail_on_error, json_option
from dockyard.client.cli._specs import load_spec, transform_paths
from dockyard.client.cli.jobs import _job_rows, describe, logs, stop
from dockyard.client.http import routes
from dockyard.client.sdk import TransformJob, context
from dockyard.limits import LIMITS

__all__ = ["transform"]


@click.group(cls=Group)
def transform() -> None:
    """Batch transform: score CSV, JSON Lines or Parquet files through a model."""


@transform.command()
@click.argument("spec_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", default=None, help="Job name (default: from the spec, or generated).")
@click.option("--wait/--no-wait", default=False, help="Block until done, with a progress bar.")
@json_option
@fail_on_error
def submit(spec_file: Path, name: str | None, wait: bool, as_json: bool) -> None:
    """Submit a transform job from a YAML (or JSON) spec file."""
    from dockyard.client.sdk import transform_request

    client = context().server()
    written = load_spec(spec_file)
    names = _spelling(written)
    data, download_to = transform_paths(written, spec_file.parent, client)
    flags = FlagFields(names)
    if name:
        flags.set(data, "name", name, "--name")
    # Checked against the server's own spec model: a bad value fails here, as it would there,
    # naming the field as the spec file spells it (or the flag that set it).
    with flags.naming():
        job = client.call(routes.SUBMIT_TRANSFORM_JOB(), transform_request(data))
    if not as_json:
        click.echo(f"submitted transform job {job['name']}")
        if download_to is not None and not wait:
            click.echo(
                f"outputs stay in the store until: dockyard transform download {job['name']} "
                f"{download_to}"
            )
    if wait:
        handle = TransformJob(job["name"], client, download_to, names)
        job = handle.wait(logs=not as_json).model_dump(mode="json")
        if download_to is not None and not as_json:
            click.echo(f"outputs downloaded into {download_to}")
    if as_json:
        emit(job, True, str)


def _spelling(spec: Mapping[str, Any]) -> dict[str, str]:
    """How a spec file names the fields errors mention: SageMaker's names when it uses them
    (``ModelName``, ``TransformInput``...), else the spec's own (no renaming)."""
    if not any(key in spec for key in ("ModelName", "ModelUri", "TransformInput")):
        return {}
    names = dict(SAGEMAKER_NAMES)
    if "ModelName" not in spec:
        names["model_uri"] = "ModelUri" if "ModelUri" in spec else "model_uri"
    return names


@transform.command("list")
@click.option("-n", "--limit", type=COUNT, default=50, show_default=True)
@json_option
@fail_on_error
def list_(limit: int, as_json: bool) -> None:
    """List transform jobs, newest first."""
    params = {"kind": "transform", "max_results": min(limit, LIMITS.page_max_results)}
    pages = context().server().paginate(routes.LIST_JOBS(), "jobs", params=params)
    items = list(islice(pages, limit))
    emit(items, as_json, lambda: _job_rows(items))


@transform.command()
@click.argument("name")
@json_option
@fail_on_error
def resume(name: str, as_json: bool) -> None:
    """Resume a failed or stopped transform; finished shards are not redone (--json prints
    the job)."""
    job = context().server().call(routes.RESUME_JOB(name=name))
    emit(job, as_json, lambda: f"job {name}: {job['status']} (resumed)")


@transform.command()
@click.argument("name")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@json_option
@fail_on_error
def download(name: str, dest: Path, as_json: bool) -> None:
    """Download a transform job's outputs into the folder DEST."""
    folder = TransformJob(name, context().server()).download(dest)
    said = f"outputs of {name} downloaded into {folder}"
    emit_done("downloaded", "transform_job", name, as_json, said, folder=str(folder))


transform.add_command(describe)
transform.add_command(logs)
transform.add_command(stop)
