"""``dockyard runs``: list, show, compare, delete, restore."""

from __future__ import annotations

from itertools import islice
from typing import Any

import click

from dockyard.client.cli._client import client
from dockyard.client.cli._confirm import yes_option
from dockyard.client.cli._flags import FlagFields
from dockyard.client.cli._group import Group
from dockyard.client.cli._output import (
    COUNT,
    emit,
    emit_done,
    fail_on_error,
    format_time,
    json_option,
    table,
)
from dockyard.client.http import routes
from dockyard.limits import LIMITS

__all__ = ["runs"]


@click.group(cls=Group)
def runs() -> None:
    """Runs: one execution of training code, with params, metrics, tags and artifacts."""


@runs.command("list")
@click.option("--experiment", "-e", "experiments", multiple=True, help="Experiment id or name.")
@click.option("--filter", "-f", "filter_", default="", help="MLflow filter syntax.")
@click.option("--order-by", "-o", multiple=True, help="e.g. 'metrics.rmse ASC'.")
@click.option("--max-results", "-n", type=COUNT, default=50, show_default=True)
@click.option("--all", "show_all", is_flag=True, help="Include deleted runs.")
@json_option
@fail_on_error
def list_(
    experiments: tuple[str, ...],
    filter_: str,
    order_by: tuple[str, ...],
    max_results: int,
    show_all: bool,
    as_json: bool,
) -> None:
    """Search runs."""
    c = client()
    ids = []
    with FlagFields({"name": "--experiment"}).naming():
        for ref in experiments or ("0",):
            if ref.isdigit():
                ids.append(ref)
            else:
                ids.append(c.call(routes.GET_EXPERIMENT_BY_NAME(name=ref))["experiment_id"])
    body = {
        "experiment_ids": ids,
        "filter": filter_,
        "order_by": list(order_by),
        "max_results": min(max_results, LIMITS.search_max_results),
        "run_view_type": "ALL" if show_all else "ACTIVE_ONLY",
    }
    # The server names the body's fields (``order_by.1``); the user typed flags.
    flags = {"filter": "--filter", "order_by": "--order-by"}
    flags.update({f"order_by.{i}": "--order-by" for i in range(len(order_by))})
    with FlagFields(flags).naming():
        found = list(islice(c.paginate(routes.SEARCH_RUNS(), "runs", body), max_results))
    metric_keys = sorted({k for r in found for k in r["metrics"]})[:4]

    def human() -> str:
        # With --all, deleted runs are listed too: a stage column tells them apart, as in
        # 'experiments list --all'.
        stage = ["stage"] if show_all else []
        headers = ["run_id", "name", "status", *stage, "started", *metric_keys]
        rows = [
            [
                r["info"]["run_id"],
                r["info"]["run_name"],
                r["info"]["status"],
                *([r["info"]["lifecycle_stage"]] if show_all else []),
                format_time(r["info"]["start_time"]),
                *[r["metrics"].get(k, {}).get("value") for k in metric_keys],
            ]
            for r in found
        ]
        return table(headers, rows, names_from=len(headers) - len(metric_keys))

    emit(found, as_json, human)
    if not found and not experiments:
        what = "no runs matching the filter" if filter_ else "no runs"
        click.echo(
            f"note: {what} in the Default experiment (id 0), the one searched when none is "
            "named: name others with -e (dockyard experiments list)",
            err=True,
        )


@runs.command()
@click.argument("run_id")
@json_option
@fail_on_error
def show(run_id: str, as_json: bool) -> None:
    """Show one run."""
    run: dict[str, Any] = client().call(routes.GET_RUN(run_id=run_id))

    def human() -> str:
        info = run["info"]
        lines = [
            f"run {info['run_id']} ({info['run_name']})",
            f"  experiment: {info['experiment_id']}   status: {info['status']}"
            + (
                "   (deleted: dockyard runs restore)"
                if info["lifecycle_stage"] == "deleted"
                else ""
            ),
            f"  started: {format_time(info['start_time'])}"
            f"   ended: {format_time(info['end_time'])}",
        ]
        if info.get("parent_run_id"):
            lines.append(f"  parent: {info['parent_run_id']}")
        for title, items in (
            ("params", run["params"]),
            ("metrics", {k: m["value"] for k, m in run["metrics"].items()}),
            ("tags", run["tags"]),
        ):
            if items:
                lines.append(f"{title}:")
                lines.append(table(["key", "value"], sorted(items.items())))
        for item in run.get("inputs", []):
            d = item["dataset"]
            lines.append(f"input: {d['name']} (digest {d['digest']})")
        return "\n".join(lines)

    emit(run, as_json, human)


@runs.command()
@click.argument("run_ids", nargs=-1, required=True)
@json_option
@fail_on_error
def compare(run_ids: tuple[str, ...], as_json: bool) -> None:
    """Compare runs side by side."""
    data: dict[str, Any] = client().call(routes.COMPARE_RUNS(), params={"run_ids": list(run_ids)})

    def human() -> str:
        headers = ["", *data["run_names"]]
        rows: list[list[Any]] = [["run_id", *[r[:8] for r in data["run_ids"]]]]
        rows += [["status", *data["attributes"]["status"]]]
        rows += [[f"params.{k}", *v] for k, v in data["params"].items()]
        rows += [[f"metrics.{k}", *v] for k, v in data["metrics"].items()]
        rows += [[f"tags.{k}", *v] for k, v in data["tags"].items()]
        return table(headers, rows, names_from=1)

    emit(data, as_json, human)


@runs.command()
@click.argument("run_id")
@yes_option
@json_option
@fail_on_error
def delete(run_id: str, yes: bool, as_json: bool) -> None:
    """Soft-delete a run (restorable, so it does not ask; --yes is accepted, as by every
    delete)."""
    client().call(routes.DELETE_RUN(run_id=run_id))
    emit_done("deleted", "run", run_id, as_json)


@runs.command()
@click.argument("run_id")
@json_option
@fail_on_error
def restore(run_id: str, as_json: bool) -> None:
    """Restore a deleted run; --json prints it as restored."""
    run = client().call(routes.RESTORE_RUN(run_id=run_id))
    emit(run, as_json, lambda: f"restored run {run_id}")
