"""``dockyard triggers``: create, list, get, update, enable, disable, delete, fire and history
of triggers.

    dockyard triggers create nightly --job train.yaml --cron "0 3 * * *" --timezone Europe/Paris
    dockyard triggers create on-push --job train.yaml --git --repository acme/models \\
        --branch main --path "src/*"
    dockyard triggers create new-data --job train.yaml --objects s3://lake/raw/ --cooldown 3600
    dockyard triggers create on-approval --job train.yaml --events model_version.approval_set \\
        --filter '{"status": ["Approved"]}'
    dockyard triggers disable nightly
    dockyard triggers update nightly --cron "0 4 * * *" --cooldown 600
"""

from __future__ import annotations

from pathlib import Path

import click

from dockyard.api.triggers import Firing, FiringStatus, Trigger
from dockyard.client import sdk
from dockyard.client.cli._client import client
from dockyard.client.cli._confirm import confirm, yes_option
from dockyard.client.cli._flags import FlagFields
from dockyard.client.cli._group import Group
from dockyard.client.cli._options import comma_list, json_arg
from dockyard.client.cli._output import (
    emit,
    emit_done,
    fail_on_error,
    format_time,
    json_option,
    table,
)
from dockyard.client.cli._specs import job_paths, load_spec, transform_paths
from dockyard.limits import LIMITS

__all__ = ["triggers"]


@click.group(cls=Group)
def triggers() -> None:
    """Triggers: work started by a schedule, a git push, new objects or an event."""


def _source(t: Trigger) -> str:
    if t.schedule is not None:
        when = t.schedule.rate or f"{t.schedule.cron} {t.schedule.timezone}"
        return f"schedule {when}"
    if t.git is not None:
        return f"git {t.git.repository or '*'} {','.join(t.git.branches) or '*'}"
    if t.objects is not None:
        return f"objects {t.objects.prefix}"
    assert t.events is not None
    return f"events {','.join(t.events.events)}"


#: The trigger fields the flags of ``create`` and ``update`` set (errors name the flag).
_FLAGS = {
    "name": "NAME",
    "target.pipeline": "--pipeline",
    "target.input": "--input",
    "schedule.cron": "--cron",
    "schedule.rate": "--rate",
    "schedule.timezone": "--timezone",
    "timezone": "--timezone",
    "git.provider": "--provider",
    "git.repository": "--repository",
    "git.branches": "--branch",
    "git.paths": "--path",
    "objects.prefix": "--objects",
    "objects": "--objects",
    "events.events": "--events",
    "events.filter": "--filter",
    "filter": "--filter",
    "cooldown_s": "--cooldown",
    "secret": "--secret",
    "description": "--description",
}


@triggers.command()
@click.argument("name")
@click.option("--job", "job_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--transform", "transform_file", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--pipeline", help="A pipeline whose execution it starts.")
@click.option("--input", "input_", help="With --pipeline: the execution's input as JSON.")
@click.option("--cron", help='Five-field cron expression or a macro ("0 3 * * *", "@daily").')
@click.option("--timezone", default="UTC", show_default=True, help="IANA zone of --cron.")
@click.option("--rate", help='A fixed period: "rate(15 minutes)".')
@click.option("--git", "git", is_flag=True, help="Fire on pushes posted to the trigger's hook.")
@click.option("--provider", type=click.Choice(["github", "gitlab", "any"]), default="any")
@click.option("--repository", help="owner/name of the repository pushes must come from.")
@click.option("--branch", "branches", multiple=True, help="Branch pattern (repeatable).")
@click.option("--path", "paths", multiple=True, help="Changed-file pattern (repeatable).")
@click.option("--objects", help="Prefix URI whose new objects fire it.")
@click.option("--no-poll", is_flag=True, help="With --objects: only S3 notifications fire it.")
@click.option(
    "--events",
    "events",
    multiple=True,
    help="Event-type patterns, comma-separated and/or repeated: job.*,run.*",
)
@click.option("--filter", "policy", help="With --events: a filter policy as JSON.")
@click.option("--cooldown", type=click.FloatRange(min=0), default=0.0, help="Seconds.")
@click.option("--secret", help="The hook's secret (made up when left out).")
@json_option
@fail_on_error
def create(
    name: str,
    job_file: Path | None,
    transform_file: Path | None,
    pipeline: str | None,
    input_: str | None,
    cron: str | None,
    timezone: str,
    rate: str | None,
    git: bool,
    provider: str,
    repository: str | None,
    branches: tuple[str, ...],
    paths: tuple[str, ...],
    objects: str | None,
    no_poll: bool,
    events: tuple[str, ...],
    policy: str | None,
    cooldown: float,
    secret: str | None,
    as_json: bool,
) -> None:
    """Create trigger NAME starting the job (--job FILE), transform (--transform FILE) or an
    execution of a pipeline (--pipeline NAME, --input JSON)."""
    if sum(x is not None for x in (job_file, transform_file, pipeline)) != 1:
        raise click.UsageError("give exactly one of --job, --transform and --pipeline")
    http = client()
    job = transform = None
    if job_file is not None:
        job = job_paths(load_spec(job_file), job_file.parent, http)
    elif transform_file is not None:
        transform, _ = transform_paths(load_spec(transform_file), transform_file.parent, http)
    execution_input = json_arg(input_ or None, "--input")
    filter_policy = json_arg(policy or None, "--filter")
    with FlagFields(_FLAGS).naming():
        made = sdk.create_trigger(
            name,
            job=job,
            transform=transform,
            pipeline=pipeline,
            input=execution_input,
            cron=cron,
            timezone=timezone,
            rate=rate,
            git={
                "provider": provider,
                "repository": repository,
                "branches": list(branches),
                "paths": list(paths),
            }
            if git
            else None,
            objects={"prefix": objects, "poll": not no_poll} if objects else None,
            events=comma_list(events) or None,
            filter=filter_policy,
            cooldown_s=cooldown,
            secret=secret,
            client=http,
        )

    def human() -> str:
        lines = [f"{made.name}: {_source(made)}"]
        if made.hook_path:
            lines.append(f"hook:   {made.hook_path}")
            lines.append(f"secret: {made.secret}  (shown once)")
        if made.next_time:
            lines.append(f"next:   {format_time(made.next_time)} UTC")
        return "\n".join(lines)

    emit(made.model_dump(mode="json"), as_json, human)


@triggers.command("list")
@json_option
@fail_on_error
def list_(as_json: bool) -> None:
    """Your triggers (every one, for an admin)."""
    found = sdk.list_triggers(client=client())
    emit(
        [t.model_dump(mode="json") for t in found],
        as_json,
        lambda: table(
            ["name", "source", "work", "enabled", "cooldown", "last fired", "next"],
            [
                [
                    t.name,
                    _source(t),
                    t.target.kind,
                    "yes" if t.enabled else "no",
                    f"{t.cooldown_s:g}s",
                    format_time(t.last_fired_time),
                    format_time(t.next_time),
                ]
                for t in found
            ],
        ),
    )


@triggers.command()
@click.argument("name")
@json_option
@fail_on_error
def get(name: str, as_json: bool) -> None:
    """Show trigger NAME."""
    t = sdk.get_trigger(name, client=client())

    def human() -> str:
        lines = [
            f"{t.name}  ({t.kind.value}, by {t.created_by})",
            f"source:     {_source(t)}",
            f"work:       {t.target.kind}",
            f"enabled:    {'yes' if t.enabled else 'no'}",
            f"cooldown:   {t.cooldown_s:g}s",
            f"last fired: {format_time(t.last_fired_time)}",
        ]
        if t.next_time:
            lines.append(f"next:       {format_time(t.next_time)} UTC")
        if t.hook_path:
            lines.append(f"hook:       {t.hook_path}")
        return "\n".join(lines)

    emit(t.model_dump(mode="json"), as_json, human)


def _said(t: Trigger) -> str:
    return f"{t.name}: {'enabled' if t.enabled else 'disabled'}, {_source(t)}"


def _set_enabled(name: str, enabled: bool, as_json: bool) -> None:
    t = sdk.update_trigger(name, enabled=enabled, client=client())
    emit(t.model_dump(mode="json"), as_json, lambda: _said(t))


@triggers.command()
@click.argument("name")
@json_option
@fail_on_error
def enable(name: str, as_json: bool) -> None:
    """Enable trigger NAME: it fires again, from now on (what came meanwhile does not fire)."""
    _set_enabled(name, True, as_json)


@triggers.command()
@click.argument("name")
@json_option
@fail_on_error
def disable(name: str, as_json: bool) -> None:
    """Disable trigger NAME: it never fires until enabled (its hooks answer "ignored")."""
    _set_enabled(name, False, as_json)


@triggers.command()
@click.argument("name")
@click.option("--job", "job_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--transform", "transform_file", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--cron", help="A schedule trigger's new cron expression.")
@click.option("--timezone", help="A cron schedule's new IANA zone (kept when left out).")
@click.option("--rate", help='A schedule trigger\'s new period: "rate(15 minutes)".')
@click.option("--repository", help="A git trigger's repository (owner/name).")
@click.option("--branch", "branches", multiple=True, help="A git trigger's branch patterns.")
@click.option("--path", "paths", multiple=True, help="A git trigger's changed-file patterns.")
@click.option("--objects", help="An object trigger's new prefix URI.")
@click.option(
    "--events",
    "events",
    multiple=True,
    help="An event trigger's new patterns, comma-separated and/or repeated.",
)
@click.option("--filter", "policy", help="An event trigger's new filter policy (JSON).")
@click.option("--cooldown", type=click.FloatRange(min=0), help="Seconds.")
@click.option("--description")
@json_option
@fail_on_error
def update(
    name: str,
    job_file: Path | None,
    transform_file: Path | None,
    cron: str | None,
    timezone: str | None,
    rate: str | None,
    repository: str | None,
    branches: tuple[str, ...],
    paths: tuple[str, ...],
    objects: str | None,
    events: tuple[str, ...],
    policy: str | None,
    cooldown: float | None,
    description: str | None,
    as_json: bool,
) -> None:
    """Change trigger NAME: its work, source (of the same kind), cooldown or description.

    What is not given keeps its value: git, event and schedule options change the given parts
    of the current source (--timezone alone moves a cron schedule to another zone); --rate
    replaces a cron, --cron a rate; --objects replaces the prefix."""
    if job_file is not None and transform_file is not None:
        raise click.UsageError("give at most one of --job and --transform")
    http = client()
    job = transform = None
    if job_file is not None:
        job = job_paths(load_spec(job_file), job_file.parent, http)
    if transform_file is not None:
        transform, _ = transform_paths(load_spec(transform_file), transform_file.parent, http)
    with FlagFields(_FLAGS).naming():
        schedule = None
        if cron or rate or timezone is not None:
            schedule = _schedule(sdk.get_trigger(name, client=http), cron, rate, timezone)
        git = event_source = None
        if repository is not None or branches or paths or events or policy is not None:
            current = sdk.get_trigger(name, client=http)
            if current.git is not None:
                git = current.git.model_dump(mode="json")
                git.update({"repository": repository} if repository is not None else {})
                git.update({"branches": list(branches)} if branches else {})
                git.update({"paths": list(paths)} if paths else {})
            if current.events is not None:
                event_source = current.events.model_dump(mode="json")
                event_source.update({"events": comma_list(events)} if events else {})
                if policy is not None:
                    event_source["filter"] = json_arg(policy, "--filter")
            if git is None and event_source is None:
                raise click.UsageError(
                    f"trigger {name} is a {current.kind.value} trigger: --repository, --branch, "
                    "--path, --events and --filter change git and event triggers"
                )
        t = sdk.update_trigger(
            name,
            job=job,
            transform=transform,
            schedule=schedule,
            git=git,
            objects=objects,
            events=event_source,
            cooldown_s=cooldown,
            description=description,
            client=http,
        )
    emit(t.model_dump(mode="json"), as_json, lambda: _said(t))


def _schedule(
    current: Trigger, cron: str | None, rate: str | None, timezone: str | None
) -> dict[str, str | None]:
    """The schedule after an update: the current one with what was given changed."""
    if current.schedule is None:
        raise click.UsageError(
            f"trigger {current.name} is a {current.kind.value} trigger: --cron, --rate and "
            "--timezone change schedule triggers"
        )
    if cron and rate:
        raise click.UsageError("give one of --cron and --rate")
    now = current.schedule
    if rate:
        if timezone is not None:
            raise click.UsageError("--timezone applies to a --cron schedule, not a --rate")
        return {"cron": None, "timezone": now.timezone, "rate": rate}
    if not cron and now.cron is None:
        raise click.UsageError(
            f"trigger {current.name} runs at a rate ({now.rate}): --timezone applies to a cron "
            "schedule (give --cron with it)"
        )
    return {"cron": cron or now.cron, "timezone": timezone or now.timezone, "rate": None}


@triggers.command()
@click.argument("name")
@yes_option
@json_option
@fail_on_error
def delete(name: str, yes: bool, as_json: bool) -> None:
    """Delete trigger NAME and its history (asks first; --yes does not)."""
    confirm(f"delete trigger {name} and its history", yes)
    sdk.delete_trigger(name, client=client())
    emit_done("deleted", "trigger", name, as_json, f"deleted {name}")


def _firing_row(f: Firing) -> list[object]:
    return [f.firing_id, f.status.value, f.cause_key, f.job or "-", format_time(f.created_time)]


@triggers.command()
@click.argument("name")
@click.option("--key", help="Fire once per key (a retry with the same key does nothing).")
@click.option("--cause", "fields", multiple=True, help="FIELD=VALUE passed on (repeatable).")
@json_option
@fail_on_error
def fire(name: str, key: str | None, fields: tuple[str, ...], as_json: bool) -> None:
    """Fire trigger NAME now."""
    cause: dict[str, str] = {}
    for item in fields:
        field, sep, value = item.partition("=")
        if not sep or not field:
            raise click.BadParameter(f"{item!r} is not FIELD=VALUE", param_hint="--cause")
        cause[field] = value
    f = sdk.fire_trigger(name, key=key, cause=cause, client=client())
    said = " ".join(x for x in (f"{name}: {f.status.value}", f.job, f.error) if x)
    emit(f.model_dump(mode="json"), as_json, lambda: said)
    if f.status is FiringStatus.FAILED:
        raise SystemExit(1)  # the work did not start: as a command that failed


@triggers.command()
@click.argument("name")
@click.option(
    "--limit",
    type=click.IntRange(1, LIMITS.log_page_max_results),
    default=50,
    show_default=True,
)
@json_option
@fail_on_error
def history(name: str, limit: int, as_json: bool) -> None:
    """The firings of trigger NAME, newest first."""
    found = sdk.trigger_history(name, limit=limit, client=client())
    emit(
        [f.model_dump(mode="json") for f in found],
        as_json,
        lambda: table(["id", "status", "cause", "job", "time"], [_firing_row(f) for f in found]),
    )
