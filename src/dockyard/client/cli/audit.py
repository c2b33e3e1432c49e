"""``dockyard audit``: the event log, filtered, as a table, JSON, or followed live."""

from __future__ import annotations

import re
import time
from typing import Any

import click
import orjson

from dockyard.client.cli._client import client
from dockyard.client.cli._output import fail_on_error, format_time, table
from dockyard.client.http import routes
from dockyard.errors import InvalidArgument
from dockyard.limits import LIMITS

__all__ = ["audit"]

_SPAN = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d)$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _since(text: str | None) -> int | None:
    """Milliseconds since the epoch for ``30m``, ``2h``, ``7d`` ago (or an epoch-ms number)."""
    if text is None:
        return None
    if text.isdigit():
        return int(text)
    match = _SPAN.match(text.strip())
    if match is None:
        raise InvalidArgument(
            f"--since {text!r}: use a span like 30m, 2h or 7d, or milliseconds since the epoch",
            field="since",
        )
    span_ms = float(match.group(1)) * _UNIT_S[match.group(2)] * 1000
    now_ms = time.time() * 1000
    # A span reaching back before the epoch (or past what a float holds) means every event.
    return int(now_ms - span_ms) if span_ms < now_ms else 0


def _row(e: dict[str, Any]) -> list[Any]:
    body = e["body"]
    summary = ", ".join(f"{k}={v}" for k, v in body.items()) if body else ""
    return [
        e["id"],
        format_time(e["time"]),
        e["actor"],
        e.get("credential", ""),  # a server before credentials were logged has none
        e["type"],
        e["resource_id"],
        e["outcome"],
        e["source"],
        summary,
    ]


_HEADERS = ["id", "time", "actor", "via", "type", "resource", "outcome", "source", "details"]


@click.command()
@click.option("--type", "-t", "types", multiple=True, help="Event type; 'job.*' is a prefix.")
@click.option("--actor", default=None, help="Only what this actor did.")
@click.option("--resource-type", default=None, help="run, job, model_version, endpoint, ...")
@click.option("--resource-id", default=None, help="The resource's id or name.")
@click.option("--outcome", type=click.Choice(["ok", "denied"]), default=None)
@click.option("--since", default=None, help="30m, 2h, 7d, or epoch milliseconds.")
@click.option(
    "--after", type=int, default=None, help="Events after this id (default: the latest ones)."
)
@click.option(
    "--limit",
    type=click.IntRange(1, 100_000),
    default=100,
    show_default=True,
    help="At most this many: the first ones after --after or --since, else the latest.",
)
@click.option("--follow", "-f", is_flag=True, help="Keep printing new events as they come.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@fail_on_error
def audit(
    types: tuple[str, ...],
    actor: str | None,
    resource_type: str | None,
    resource_id: str | None,
    outcome: str | None,
    since: str | None,
    after: int | None,
    limit: int,
    follow: bool,
    as_json: bool,
) -> None:
    """Who changed what, when, from where: the event log (admins see everything).

    Without --after or --since, the latest --limit events, oldest first (then new ones, with
    --follow)."""
    params: dict[str, Any] = {"after": after or 0}
    for name, value in (
        ("type", list(types) or None),
        ("actor", actor),
        ("resource_type", resource_type),
        ("resource_id", resource_id),
        ("outcome", outcome),
        ("since", _since(since)),
    ):
        if value is not None:
            params[name] = value
    api = client()
    shown = 0
    header = not as_json

    def emit(events: list[dict[str, Any]]) -> None:
        nonlocal header
        if as_json:
            for event in events:
                click.echo(orjson.dumps(event).decode())
        else:
            text = table(_HEADERS, [_row(e) for e in events])
            click.echo(text if header else text.split("\n", 1)[1])
            header = False

    if after is None and since is None:
        # The latest events: read back from the end of the log, then show them in order.
        latest = _latest(api, params, limit)
        if latest:
            emit(latest)
            shown = len(latest)
            params["after"] = latest[-1]["id"]
        else:
            params["after"] = _end_of_log(api, params)
        if not follow:
            if shown == 0 and not as_json:
                click.echo("no events")
            return
    while True:
        page = LIMITS.page_max_results
        params["limit"] = min(page, limit - shown) if not follow else page
        page = api.call(routes.LIST_EVENTS(), params=params)
        events = page["events"]
        if events:
            emit(events)
            shown += len(events)
            params["after"] = page["next_after"]
        if not follow and (shown >= limit or len(events) < params["limit"]):
            break
        if follow and not events:
            time.sleep(1.0)  # polling the log; the server keeps no connection open for this
    if shown == 0 and not as_json:
        click.echo("no events")


_END = 2**63 - 1  # ``before`` this id: from the end of the log


def _latest(api: Any, params: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` events matching ``params``, oldest first."""
    found: list[dict[str, Any]] = []
    before: int | None = _END
    while before is not None and len(found) < limit:
        query = {
            **params,
            "before": before,
            "limit": min(LIMITS.page_max_results, limit - len(found)),
        }
        page = api.call(routes.LIST_EVENTS(), params=query)
        found += page["events"]
        before = page.get("next_before")
    return found[::-1]


def _end_of_log(api: Any, params: dict[str, Any]) -> int:
    """Where following begins when nothing matches yet: the newest event's id."""
    page = api.call(routes.LIST_EVENTS(), params={"before": _END, "limit": 1})
    return int(page.get("next_after") or params["after"])
