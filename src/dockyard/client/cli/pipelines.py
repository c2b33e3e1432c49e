"""``dockyard pipelines``: state machines in the Amazon States Language, run by the server.

dockyard pipelines create retrain retrain.asl.json
dockyard pipelines run retrain.asl.json --input '{"data": "s3://lake/new/"}' --wait
dockyard pipelines list                  # state machines
dockyard pipelines list retrain          # its executions, newest first
dockyard pipelines describe retrain nightly
dockyard pipelines history retrain nightly
dockyard pipelines stop retrain nightly --cause "superseded"
dockyard pipelines delete retrain --yes                # its running executions are stopped
dockyard pipelines graph retrain.asl.json             # Mermaid text; --format dot for Graphviz
dockyard pipelines graph retrain nightly              # coloured by how the execution went
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from dockyard.api.pipelines import (
    Execution,
    ExecutionSummary,
    StateMachine,
    StateMachineSummary,
)
from dockyard.client import sdk
from dockyard.client.cli._client import client as _client
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
from dockyard.client.http import Client
from dockyard.errors import NotFound

__all__ = ["pipelines"]


def client() -> Client:
    """The server's client: ``DOCKYARD_URI``, or (embedded default) the local server the SDK
    starts, whose engine loop runs executions."""
    if os.environ.get("DOCKYARD_URI"):
        return _client()
    from dockyard.client.sdk import context

    return context().server()


_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group(cls=Group)
def pipelines() -> None:
    """Pipelines: state machines whose tasks are Dockyard actions (Step Functions' language)."""


def _said(e: Execution) -> str:
    lines = [
        f"{e.name}  {e.status.value}",
        f"started:  {format_time(e.start_time)} UTC",
        f"stopped:  {format_time(e.stop_time) + ' UTC' if e.stop_time else '-'}",
    ]
    if e.redrive_count:
        lines.append(f"redriven: {e.redrive_count}x, last {format_time(e.redrive_time)}")
    if e.output is not None:
        lines.append(f"output:   {e.output}")
    if e.error is not None:
        lines.append(f"error:    {e.error}: {readable_cause(e.cause)}")
    elif e.cause:  # stopped with a cause alone (`stop --cause superseded`)
        lines.append(f"cause:    {readable_cause(e.cause)}")
    return "\n".join(lines)


def readable_cause(cause: str | None) -> str:
    """A cause as a line for people: a function's Lambda-style JSON reads as its
    ``errorMessage``, a Python traceback as its last line (``--json`` and the history keep the
    whole cause)."""
    if not cause:
        return ""
    try:
        found = json.loads(cause)
    except ValueError:
        found = None
    if isinstance(found, dict) and "errorMessage" in found:
        return str(found["errorMessage"])
    head, marker, trace = cause.partition("Traceback (most recent call last):")
    if marker:
        last = [line for line in trace.splitlines() if line.strip()][-1:]
        return " ".join(part for part in (head.strip(), *last) if part)
    return cause


def _named(name_or_file: str, definition: Path | None) -> tuple[str, Path]:
    """``NAME FILE``, or ``FILE`` alone: the pipeline named after the file (``retrain`` for
    ``retrain.asl.json``)."""
    if definition is not None:
        return name_or_file, definition
    path = Path(name_or_file)
    if not path.is_file():
        raise click.UsageError(f"give a definition file: {name_or_file} is not one")
    return path.name.split(".")[0], path


#: The pipeline fields the flags of ``create`` and ``update`` set (errors name the flag).
_PIPELINE_FLAGS = {"role_arn": "--role-arn", "type": "--type", "description": "--description"}


@pipelines.command()
@click.argument("name_or_file")
@click.argument("definition", type=_FILE, required=False)
@click.option("--role-arn", default="", help="Recorded and shown as $$.Execution.RoleArn.")
@click.option(
    "--type",
    "kind",
    type=click.Choice(["STANDARD", "EXPRESS"], case_sensitive=False),
    default="STANDARD",
)
@click.option("--description", default="")
@json_option
@fail_on_error
def create(
    name_or_file: str,
    definition: Path | None,
    role_arn: str,
    kind: str,
    description: str,
    as_json: bool,
) -> None:
    """Create a pipeline: NAME from the DEFINITION file (JSON), or from FILE alone, named
    after it (retrain.asl.json: retrain)."""
    name, path = _named(name_or_file, definition)
    server = client()
    with FlagFields({**_PIPELINE_FLAGS, "name": "NAME_OR_FILE"}).naming():
        made = sdk.create_pipeline(
            name, path, role_arn=role_arn, type=kind, description=description, client=server
        )
    _warnings(path, server)
    emit(made.model_dump(mode="json"), as_json, lambda: f"{made.name}: {made.arn}")


def _warnings(definition: Path, server: Client) -> None:
    """What the server took but warns of (a path in a field that takes a value as written,
    ``NO_PATH``; a path without ``.$``, ``NO_DOLLAR``...), on stderr: each is likely a slip
    that runs without an error and does what was not meant."""
    for found in sdk.validate_pipeline(definition, client=server).diagnostics:
        if found.severity == "WARNING":
            where = f"{found.location}: " if found.location else ""
            click.echo(f"warning: {where}{found.message} ({found.code})", err=True)


@pipelines.command()
@click.argument("name")
@click.argument("definition", type=_FILE, required=False)
@click.option("--role-arn")
@click.option("--description")
@json_option
@fail_on_error
def update(
    name: str,
    definition: Path | None,
    role_arn: str | None,
    description: str | None,
    as_json: bool,
) -> None:
    """Give pipeline NAME a new DEFINITION (running executions keep theirs)."""
    server = client()
    with FlagFields({**_PIPELINE_FLAGS, "name": "NAME"}).naming():
        made = sdk.update_pipeline(
            name, definition, role_arn=role_arn, description=description, client=server
        )
    if definition is not None:
        _warnings(definition, server)
    emit(made.model_dump(mode="json"), as_json, lambda: f"{made.name}: revision {made.revision_id}")


@pipelines.command()
@click.argument("name")
@yes_option
@json_option
@fail_on_error
def delete(name: str, yes: bool, as_json: bool) -> None:
    """Delete pipeline NAME; its running executions are stopped (asks first; --yes does not)."""
    confirm(f"delete pipeline {name} and stop its running executions", yes)
    sdk.delete_pipeline(name, client=client())
    emit_done("deleted", "pipeline", name, as_json, f"deleted {name}")


def _input(value: str | None) -> Any:
    if value is None:
        return {}
    text = value
    if value.startswith("@"):
        try:
            text = Path(value[1:]).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise click.BadParameter(
                f"cannot read {value[1:]}: {reason}", param_hint="--input"
            ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--input") from None


@pipelines.command()
@click.argument("pipeline")
@click.option("--input", "input_", help="The execution's input: JSON, or @FILE.")
@click.option("--name", help="The execution's name (default: a random one).")
@click.option(
    "--wait", is_flag=True, help="Wait for it to end; exit 1 unless it succeeded (--json too)."
)
@json_option
@fail_on_error
def run(pipeline: str, input_: str | None, name: str | None, wait: bool, as_json: bool) -> None:
    """Start an execution of PIPELINE: a pipeline's name, or a definition file (the pipeline
    named after the file is created, or updated to it, first)."""
    http = client()
    path = Path(pipeline)
    if path.is_file():
        pipeline = path.name.split(".")[0]
        try:
            sdk.get_pipeline(pipeline, client=http)
            sdk.update_pipeline(pipeline, path, client=http)
        except NotFound:
            sdk.create_pipeline(pipeline, path, client=http)
    with FlagFields({"name": "--name", "input": "--input"}).naming():
        started = sdk.start_execution(pipeline, _input(input_), name=name, client=http)
    if not wait:
        emit(started.model_dump(mode="json"), as_json, lambda: started.execution_arn)
        return
    found = sdk.describe_execution(pipeline, started.execution_arn, client=http)
    while found.status.value == "RUNNING":
        found = sdk.describe_execution(pipeline, started.execution_arn, wait=30, client=http)
    emit(found.model_dump(mode="json"), as_json, lambda: _said(found))
    if found.status.value != "SUCCEEDED":
        raise SystemExit(1)


@pipelines.command()
@click.argument("pipeline")
@click.argument("execution", required=False)
@json_option
@fail_on_error
def describe(pipeline: str, execution: str | None, as_json: bool) -> None:
    """Show EXECUTION (a name or an ARN) of PIPELINE; without EXECUTION, the pipeline and
    its latest executions."""
    http = client()
    if execution is not None:
        found = sdk.describe_execution(pipeline, execution, client=http)
        emit(found.model_dump(mode="json"), as_json, lambda: _said(found))
        return
    machine = sdk.get_pipeline(pipeline, client=http)
    latest = sdk.list_executions(pipeline, client=http).executions[:5]
    shown = {
        **machine.model_dump(mode="json"),
        "latest_executions": [e.model_dump(mode="json") for e in latest],
    }
    emit(shown, as_json, lambda: _pipeline_text(machine, latest))


def _pipeline_text(machine: StateMachine, latest: list[ExecutionSummary]) -> str:
    states = list(json.loads(machine.definition).get("States") or {})
    lines = [
        f"{machine.name}  {machine.type.value}  {machine.status}",
        f"arn:      {machine.arn}",
        f"created:  {format_time(machine.created_time)} UTC by {machine.created_by}",
        f"updated:  {format_time(machine.updated_time)} UTC (revision {machine.revision_id})",
        f"states:   {len(states)} at the top level: {', '.join(states)}",
    ]
    if machine.description:
        lines.insert(1, machine.description)
    if machine.role_arn:
        lines.append(f"role:     {machine.role_arn}")
    if not latest:
        lines.append("executions: none yet")
        return "\n".join(lines)
    lines.append("latest executions:")
    rows = [
        [e.name, e.status.value, format_time(e.start_time), format_time(e.stop_time)]
        for e in latest
    ]
    lines += [
        "  " + line for line in table(["name", "status", "started", "stopped"], rows).split("\n")
    ]
    return "\n".join(lines)


@pipelines.command()
@click.argument("pipeline")
@click.argument("execution")
@json_option
@fail_on_error
def history(pipeline: str, execution: str, as_json: bool) -> None:
    """The history events of EXECUTION, oldest first."""
    events = sdk.execution_history(pipeline, execution, client=client())

    def state(details: dict[str, Any]) -> str:
        for value in details.values():
            if isinstance(value, dict) and "name" in value:
                return str(value["name"])
        return ""

    def error(details: dict[str, Any]) -> str:
        """A failed event's ``error: cause``, or a stop's cause alone (the table cuts it to its
        width)."""
        for value in details.values():
            if isinstance(value, dict) and value.get("error"):
                return f"{value['error']}: {readable_cause(value.get('cause'))}".rstrip(": ")
            if isinstance(value, dict) and value.get("cause"):
                return readable_cause(value["cause"])
        return ""

    emit(
        [e.model_dump(mode="json") for e in events],
        as_json,
        lambda: table(
            ["id", "time", "type", "state", "error"],
            [
                [e.id, format_time(e.time), e.type, state(e.details), error(e.details)]
                for e in events
            ],
        ),
    )


@pipelines.command()
@click.argument("pipeline")
@click.argument("execution")
@click.option("--error", help="The error the execution stops with.")
@click.option("--cause", help="Why.")
@json_option
@fail_on_error
def stop(
    pipeline: str, execution: str, error: str | None, cause: str | None, as_json: bool
) -> None:
    """Abort EXECUTION: its tasks are stopped (a job gets SIGTERM), its timers dropped."""
    found = sdk.stop_execution(pipeline, execution, error=error, cause=cause, client=client())
    emit(found.model_dump(mode="json"), as_json, lambda: _said(found))


@pipelines.command()
@click.argument("pipeline")
@click.argument("execution")
@json_option
@fail_on_error
def redrive(pipeline: str, execution: str, as_json: bool) -> None:
    """Run a failed, timed out or aborted EXECUTION again from the state that failed."""
    found = sdk.redrive_execution(pipeline, execution, client=client())
    emit(found.model_dump(mode="json"), as_json, lambda: _said(found))


@pipelines.command("list")
@click.argument("pipeline", required=False)
@click.option(
    "--status",
    type=click.Choice(
        ["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"], case_sensitive=False
    ),
    help="With PIPELINE: only its executions in this status (failed, FAILED...).",
)
@json_option
@fail_on_error
def list_(pipeline: str | None, status: str | None, as_json: bool) -> None:
    """The pipelines; with PIPELINE, its executions (newest first)."""
    if pipeline is None and status is not None:
        raise click.UsageError("--status filters a pipeline's executions: name the pipeline")
    http = client()
    if pipeline is None:
        machines = sdk.list_pipelines(activity=True, client=http)
        emit(
            [m.model_dump(mode="json") for m in machines],
            as_json,
            lambda: table(
                ["name", "type", "last execution", "status", "started", "running", "created"],
                [_listed(m) for m in machines],
            ),
        )
        return
    found = sdk.list_executions(pipeline, status=status, client=http).executions
    emit(
        [e.model_dump(mode="json") for e in found],
        as_json,
        lambda: table(
            ["name", "status", "started", "stopped"],
            [
                [e.name, e.status.value, format_time(e.start_time), format_time(e.stop_time)]
                for e in found
            ],
        ),
    )


def _listed(m: StateMachineSummary) -> list[Any]:
    last = m.last_execution
    return [
        m.name,
        m.type.value,
        last.name if last else "-",
        last.status.value if last else "-",
        format_time(last.start_time) if last else "-",
        m.running or "",
        format_time(m.created_time),
    ]


@pipelines.command()
@click.argument("pipeline")
@click.argument("execution", required=False)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["mermaid", "dot"]),
    default="mermaid",
    help="Mermaid (renders in Markdown viewers) or Graphviz DOT (`| dot -Tsvg`).",
)
@json_option
@fail_on_error
def graph(pipeline: str, execution: str | None, fmt: str, as_json: bool) -> None:
    """PIPELINE (a name, or a definition file: no server needed) as a graph; with EXECUTION,
    each state coloured by how it went. --json prints the graph's text with the ``status``
    of each state (by its path) that the colours show."""
    from dockyard.client.cli._graph import by_path, containers_of, render, status_from_history

    path = Path(pipeline)
    if path.is_file() and execution is None:
        from dockyard.asl.validation import check_definition, parse_definition

        definition = parse_definition(sdk.definition_text(path))
        check_definition(definition)  # refused as create refuses it, not drawn
        _drawn(render(definition, fmt), fmt, {}, as_json)
        return
    http = client()
    machine = (
        sdk.get_pipeline(pipeline, client=http)
        if execution is None
        else sdk.execution_definition(pipeline, execution, client=http)
    )
    definition = json.loads(machine.definition)
    status: dict[str, str] = {}
    if execution is not None:
        found = sdk.describe_execution(pipeline, execution, client=http)
        events = [
            e.model_dump(mode="json")
            for e in sdk.execution_history(pipeline, execution, client=http)
        ]
        within = containers_of(definition)
        status = by_path(definition, status_from_history(events, found.status.value, within))
    _drawn(render(definition, fmt, status), fmt, status, as_json)


def _drawn(text: str, fmt: str, status: dict[str, str], as_json: bool) -> None:
    if as_json:
        emit({"format": fmt, "graph": text, "status": status}, True, str)
    else:
        click.echo(text, nl=False)
