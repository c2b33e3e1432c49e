"""``dockyard experiments``: list, create, show, rename, delete, restore."""

from __future__ import annotations

import click

from dockyard.client.cli._client import client
from dockyard.client.cli._confirm import yes_option
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
from dockyard.client.http import routes

__all__ = ["experiments"]


@click.group(cls=Group)
def experiments() -> None:
    """Experiments: named groups of runs."""


def _rows(items: list[dict[str, object]]) -> str:
    return table(
        ["id", "name", "stage", "created"],
        [
            [e["experiment_id"], e["name"], e["lifecycle_stage"], format_time(e["creation_time"])]  # type: ignore[arg-type]
            for e in items
        ],
    )


@experiments.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include deleted experiments.")
@click.option("--name-like", default=None, help="SQL LIKE pattern on the name.")
@json_option
@fail_on_error
def list_(show_all: bool, name_like: str | None, as_json: bool) -> None:
    """List experiments."""
    params: dict[str, object] = {"view": "ALL" if show_all else "ACTIVE_ONLY"}
    if name_like:
        params["name_like"] = name_like
    items = list(client().paginate(routes.LIST_EXPERIMENTS(), "experiments", params=params))
    emit(items, as_json, lambda: _rows(items))


@experiments.command()
@click.argument("name")
@json_option
@fail_on_error
def create(name: str, as_json: bool) -> None:
    """Create an experiment."""
    with FlagFields({"name": "NAME"}).naming():
        experiment = client().call(routes.CREATE_EXPERIMENT(), {"name": name})
    emit(experiment, as_json, lambda: f"created experiment {experiment['experiment_id']} {name!r}")


def _resolve(ref: str) -> dict[str, object]:
    c = client()
    if ref.isdigit():
        return c.call(routes.GET_EXPERIMENT(experiment_id=ref))  # type: ignore[no-any-return]
    return c.call(routes.GET_EXPERIMENT_BY_NAME(name=ref))  # type: ignore[no-any-return]


@experiments.command()
@click.argument("experiment")
@json_option
@fail_on_error
def show(experiment: str, as_json: bool) -> None:
    """Show an experiment (by id or name)."""
    e = _resolve(experiment)

    def human() -> str:
        lines = [f"{k}: {e[k]}" for k in ("experiment_id", "name", "lifecycle_stage")]
        lines.append(f"created: {format_time(e['creation_time'])}")  # type: ignore[arg-type]
        lines += [f"tag {k}: {v}" for k, v in e["tags"].items()]  # type: ignore[attr-defined]
        return "\n".join(lines)

    emit(e, as_json, human)


@experiments.command()
@click.argument("experiment")
@click.argument("new_name")
@json_option
@fail_on_error
def rename(experiment: str, new_name: str, as_json: bool) -> None:
    """Rename an experiment; --json prints it as renamed."""
    e = _resolve(experiment)
    with FlagFields({"name": "NEW_NAME"}).naming():
        renamed = client().call(
            routes.UPDATE_EXPERIMENT(experiment_id=e["experiment_id"]), {"name": new_name}
        )
    said = f"renamed experiment {e['experiment_id']} to {new_name!r}"
    emit(renamed, as_json, lambda: said)


@experiments.command()
@click.argument("experiment")
@yes_option
@json_option
@fail_on_error
def delete(experiment: str, yes: bool, as_json: bool) -> None:
    """Soft-delete an experiment (restorable, so it does not ask; --yes is accepted, as by
    every delete)."""
    e = _resolve(experiment)
    ident = str(e["experiment_id"])
    client().call(routes.DELETE_EXPERIMENT(experiment_id=ident))
    said = f"deleted experiment {ident}"
    emit_done("deleted", "experiment", str(e["name"]), as_json, said, experiment_id=ident)


@experiments.command()
@click.argument("experiment")
@json_option
@fail_on_error
def restore(experiment: str, as_json: bool) -> None:
    """Restore a deleted experiment (by id or name, as it was deleted); --json prints it as
    restored."""
    e = _resolve(experiment)
    restored = client().call(routes.RESTORE_EXPERIMENT(experiment_id=e["experiment_id"]))
    emit(restored, as_json, lambda: f"restored experiment {e['experiment_id']}")
