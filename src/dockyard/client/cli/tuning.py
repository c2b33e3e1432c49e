"""``dockyard tuning``: submit, list, describe, trials and stop hyperparameter tuning jobs.

    dockyard tuning submit tune.yaml              # SageMaker's CreateHyperParameterTuningJob
    dockyard tuning submit tune.yaml --name xgb-2 --wait
    dockyard tuning describe xgb-2
    dockyard tuning trials xgb-2 --json
    dockyard tuning stop xgb-2

The spec file holds SageMaker's spelling (``HyperParameterTuningJobConfig``,
``TrainingJobDefinition``...) or Dockyard's (``config``, ``training_job``); local code and data
in the training job definition are uploaded first, as ``dockyard jobs submit`` does.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from dockyard.api.tuning import (
    Trial,
    TuningJob,
    TuningJobSpec,
    TuningJobStatus,
    sagemaker_definition,
)
from dockyard.client.cli._client import client
from dockyard.client.cli._flags import FlagFields
from dockyard.client.cli._group import Group
from dockyard.client.cli._output import emit, fail_on_error, format_time, json_option, table
from dockyard.client.cli._specs import job_paths, load_spec
from dockyard.client.http import Client, from_answer, routes
from dockyard.client.sdk import build_request

__all__ = ["tuning"]

_DEFINITION_KEYS = ("training_job", "TrainingJobDefinition")


@click.group(cls=Group)
def tuning() -> None:
    """Hyperparameter tuning jobs: every trial a training job."""


def _best(job: TuningJob) -> str:
    best = job.best_trial
    if best is None or best.objective is None:
        return "-"
    return f"{best.objective:g} ({best.job})"


def _describe(job: TuningJob) -> str:
    spec = job.spec["config"]
    c = job.counts
    lines = [
        f"{job.name}  {job.status.value}",
        f"strategy:   {spec['strategy']}, {spec['objective']['type']} "
        f"{spec['objective']['metric_name']}",
        f"trials:     {c.completed} completed, {c.in_progress} running, {c.failed} failed, "
        f"{c.stopped} stopped ({c.stopped_early} early), {c.retried} retried",
        f"best:       {_best(job)}",
        f"created:    {format_time(job.created_time)}   ended: {format_time(job.end_time)}",
    ]
    if job.best_trial is not None:
        lines.append(f"best hyperparameters: {job.best_trial.hyperparameters}")
    if job.completion_reason:
        lines.append(f"why ended:  {job.completion_reason}")
    if job.failure_reason:
        lines.append(f"failure:    {job.failure_reason}")
    return "\n".join(lines)


@tuning.command()
@click.argument("spec_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", help="The tuning job's name (overrides the file's).")
@click.option("--wait", is_flag=True, help="Wait until it ends, then describe it.")
@json_option
@fail_on_error
def submit(spec_file: Path, name: str | None, wait: bool, as_json: bool) -> None:
    """Start the tuning job SPEC_FILE describes (YAML or JSON)."""
    http = client()
    data: dict[str, Any] = load_spec(spec_file)
    flags = FlagFields()
    if name:
        data.pop("HyperParameterTuningJobName", None)
        flags.set(data, "name", name, "--name")
        flags.named("HyperParameterTuningJobName", "--name")
    with flags.naming():
        job = _submit(http, spec_file, data)
    while wait and not job.status.is_terminal:
        time.sleep(1.0)
        job = from_answer(TuningJob, http.call(routes.GET_TUNING_JOB(name=job.name)))
    emit(job.model_dump(mode="json"), as_json, lambda: _describe(job))
    if wait and job.status is not TuningJobStatus.COMPLETED:
        raise SystemExit(1)  # as ``dockyard jobs submit --wait`` for a job that did not complete


def _submit(http: Client, spec_file: Path, data: dict[str, Any]) -> TuningJob:
    # A definition in SageMaker's CreateTrainingJob shape (an image, InputDataConfig...) is read
    # by the server as its SageMaker API reads it; any other spec is checked here, so a bad one
    # fails naming its field before anything is uploaded.
    sagemaker = sagemaker_definition(data)
    if not sagemaker:
        build_request(TuningJobSpec, data)
    for key in _DEFINITION_KEYS:
        if isinstance(data.get(key), dict):
            data[key] = job_paths(data[key], spec_file.parent, http)
    if isinstance(data.get("TrainingJobDefinitions"), list):  # SageMaker's several definitions
        data["TrainingJobDefinitions"] = [
            job_paths(d, spec_file.parent, http) if isinstance(d, dict) else d
            for d in data["TrainingJobDefinitions"]
        ]
    body = (
        data
        if sagemaker
        else build_request(TuningJobSpec, data).model_dump(mode="json", exclude_none=True)
    )
    return from_answer(TuningJob, http.call(routes.CREATE_TUNING_JOB(), body))


@tuning.command("list")
@click.option("--status", "statuses", multiple=True, help="Only these statuses (repeatable).")
@click.option("--max-results", type=click.IntRange(1, 1000), default=100, show_default=True)
@json_option
@fail_on_error
def list_(statuses: tuple[str, ...], max_results: int, as_json: bool) -> None:
    """Tuning jobs, newest first."""
    params: dict[str, Any] = {"max_results": max_results}
    if statuses:
        params["status"] = list(statuses)
    answer = client().call(routes.LIST_TUNING_JOBS(), params=params)
    found = [from_answer(TuningJob, j) for j in answer["tuning_jobs"]]
    emit(
        [j.model_dump(mode="json") for j in found],
        as_json,
        lambda: table(
            ["name", "status", "strategy", "completed", "running", "best", "created"],
            [
                [
                    j.name,
                    j.status.value,
                    j.spec["config"]["strategy"],
                    j.counts.completed,
                    j.counts.in_progress,
                    _best(j),
                    format_time(j.created_time),
                ]
                for j in found
            ],
        ),
    )


@tuning.command()
@click.argument("name")
@json_option
@fail_on_error
def describe(name: str, as_json: bool) -> None:
    """Tuning job NAME: status, trial counts, the best trial."""
    job = from_answer(TuningJob, client().call(routes.GET_TUNING_JOB(name=name)))
    emit(job.model_dump(mode="json"), as_json, lambda: _describe(job))


@tuning.command()
@click.argument("name")
@json_option
@fail_on_error
def trials(name: str, as_json: bool) -> None:
    """The trials of tuning job NAME: hyperparameters, objective, status, job."""
    answer = client().call(routes.LIST_TUNING_TRIALS(name=name))
    found = [from_answer(Trial, t) for t in answer["trials"]]
    emit(
        [t.model_dump(mode="json") for t in found],
        as_json,
        lambda: table(
            ["#", "status", "objective", "job", "hyperparameters", "reason"],
            [
                [
                    t.number,
                    t.status.value,
                    "-" if t.objective is None else f"{t.objective:g}",
                    t.job,
                    " ".join(f"{k}={v}" for k, v in t.hyperparameters.items()),
                    t.reason or "",
                ]
                for t in found
            ],
        ),
    )


@tuning.command()
@click.argument("name")
@json_option
@fail_on_error
def stop(name: str, as_json: bool) -> None:
    """Stop tuning job NAME: its running trials are stopped."""
    job = from_answer(TuningJob, client().call(routes.STOP_TUNING_JOB(name=name)))
    emit(job.model_dump(mode="json"), as_json, lambda: f"{job.name}: {job.status.value}")
