"""``dockyard endpoints``: create, update (with canary or linear rollouts), list, describe,
invoke, logs, delete, and ``keys create|list|delete`` for endpoints that require API keys."""

from __future__ import annotations

import contextlib
import json
import re
import sys
from pathlib import Path
from typing import Any

import click
import httpx

from dockyard.api.endpoints import EndpointStatus
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
from dockyard.client.cli._specs import endpoint_paths, load_spec, local_to_store
from dockyard.client.http import from_answer, routes
from dockyard.client.sdk import EndpointHandle, answering_variant, context, invocations
from dockyard.errors import InvalidArgument, NotFound

__all__ = ["endpoints"]


@click.group(cls=Group)
def endpoints() -> None:
    """Real-time endpoints: models behind HTTP, with variants and safe rollouts."""


def _percent(value: str) -> float:
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?)\s*%?\s*", value)
    if not match:
        raise InvalidArgument(f"{value!r} is not a percentage like 10%", field="--canary")
    return float(match.group(1))


def _seconds(value: str, field: str) -> float:
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?)\s*(ms|s|m|h)?\s*", value)
    if not match:
        raise InvalidArgument(f"{value!r} is not a duration like 60s or 5m", field=field)
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[match.group(2) or "s"]
    return float(match.group(1)) * scale


def _config(
    spec_file: Path | None, name: str | None, model: str | None, flags: FlagFields
) -> dict[str, Any]:
    """The endpoint config; local model folders are uploaded (paths in a spec file are
    relative to it, ``--model`` to the current directory). ``name`` is ``--name``'s."""
    client = context().server()
    if spec_file is not None:
        data = endpoint_paths(load_spec(spec_file), spec_file.parent, client)
        if name:
            flags.set(data, "name", name, "--name")
        return data
    if not (name and model):
        raise InvalidArgument("give a spec file, or --name and --model", field="spec")
    uri = local_to_store(client, model, Path.cwd(), "models", "--model")
    config: dict[str, Any] = {"variants": [{"name": "primary"}]}
    flags.set(config, "name", name, "--name")
    flags.set(config, "variants.0.model_uri", uri, "--model")
    return config


def _wait(name: str, as_json: bool) -> dict[str, Any]:
    """Wait until the endpoint settles; a failed endpoint or a rolled-back update exits 1
    (after printing, or with ``--json`` emitting, the description)."""
    endpoint = EndpointHandle(name, context().server()).wait()
    if not as_json:
        click.echo(f"endpoint {name}: {endpoint.status.value} at {endpoint.url}")
        if endpoint.failure_reason:
            click.echo(f"  {endpoint.failure_reason}")
    answer = endpoint.model_dump(mode="json")
    if endpoint.status is not EndpointStatus.IN_SERVICE or endpoint.failure_reason:
        if as_json:
            emit(answer, True, str)
        sys.exit(1)
    return answer


@endpoints.command()
@click.argument(
    "spec_file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--name", default=None, help="Endpoint name (overrides the spec's).")
@click.option("--model", default=None, help="Model URI for a one-variant endpoint.")
@click.option("--wait/--no-wait", default=True, show_default=True)
@json_option
@fail_on_error
def create(
    spec_file: Path | None, name: str | None, model: str | None, wait: bool, as_json: bool
) -> None:
    """Create an endpoint from a spec file, or from --name and --model."""
    from dockyard.api.endpoints import EndpointConfig
    from dockyard.client.sdk import spec_body

    # The server's own config model: a bad value fails here, naming the field as it would
    # (or the flag that set it).
    flags = FlagFields()
    with flags.naming():
        body = spec_body(EndpointConfig, _config(spec_file, name, model, flags))
        answer = context().server().call(routes.CREATE_ENDPOINT(), body)
    if not as_json:
        click.echo(f"creating endpoint {answer['name']} at {answer['url']}")
    if wait:
        answer = _wait(answer["name"], as_json)
    if as_json:
        emit(answer, True, str)


@endpoints.command()
@click.argument("name")
@click.argument(
    "spec_file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--model", default=None, help="Replace every variant with this model.")
@click.option("--canary", default=None, help="Send this share first, e.g. 10%.")
@click.option("--linear", type=int, default=None, help="Shift traffic in N equal steps.")
@click.option("--bake", default=None, help="Time to hold each partial step, e.g. 60s or 5m.")
@click.option("--final-bake", default=None, help="Time to hold 100% before completing (default 0).")
@click.option(
    "--max-bake", default=None, help="Longest a step waits for --min-requests (default 2x bake)."
)
@click.option(
    "--min-requests", type=int, default=None, help="Requests a step needs to pass (default 10)."
)
@click.option("--max-error-rate", type=float, default=None, help="Roll back above, e.g. 0.01.")
@click.option("--max-p99-ms", type=float, default=None, help="Roll back above this p99.")
@click.option("--wait/--no-wait", default=True, show_default=True)
@json_option
@fail_on_error
def update(
    name: str,
    spec_file: Path | None,
    model: str | None,
    canary: str | None,
    linear: int | None,
    bake: str | None,
    final_bake: str | None,
    max_bake: str | None,
    min_requests: int | None,
    max_error_rate: float | None,
    max_p99_ms: float | None,
    wait: bool,
    as_json: bool,
) -> None:
    """Roll out a new configuration (blue/green) with automatic rollback on breach."""
    from dockyard.api.endpoints import EndpointConfig
    from dockyard.client.sdk import build_request

    client = context().server()
    flags = FlagFields()
    with flags.naming():
        if spec_file is None and model is None:
            current = client.call(routes.GET_ENDPOINT(name=name))["config"]
            body = dict(current)
        else:
            body = _config(spec_file, name, model, flags)
            flags.named("name", "NAME")  # the argument, not --name
        body["rollout"] = rollout = dict(body.get("rollout") or {})
        rollout["thresholds"] = dict(rollout.get("thresholds") or {})
        if canary is not None:
            flags.set(body, "rollout.strategy", "canary", "--canary")
            flags.set(body, "rollout.canary_pct", _percent(canary), "--canary")
        if linear is not None:
            flags.set(body, "rollout.strategy", "linear", "--linear")
            flags.set(body, "rollout.linear_steps", linear, "--linear")
        for flag, field, given in (
            ("--bake", "bake_s", bake),
            ("--final-bake", "final_bake_s", final_bake),
            ("--max-bake", "max_bake_s", max_bake),
        ):
            if given is not None:
                flags.set(body, f"rollout.{field}", _seconds(given, flag), flag)
        for flag, field, value in (
            ("--min-requests", "min_requests", min_requests),
            ("--max-error-rate", "max_error_rate", max_error_rate),
            ("--max-p99-ms", "max_p99_ms", max_p99_ms),
        ):
            if value is not None:
                flags.set(body, f"rollout.thresholds.{field}", value, flag)
        if not rollout["thresholds"]:
            del rollout["thresholds"]
        # Only what is given is sent: the server keeps the rest of the current config.
        request = build_request(EndpointConfig, body)
        answer = client.call(routes.UPDATE_ENDPOINT(name=name), request)
    if not as_json:
        events = answer.get("events") or [{}]
        click.echo(f"updating endpoint {name}: {events[-1].get('message') or 'requested'}")
    if wait:
        answer = _wait(name, as_json)
    if as_json:
        emit(answer, True, str)


def _reachable(endpoint: dict[str, Any], server: Any) -> str | None:
    """The endpoint's URL as this machine reaches it: its own port, or, where that listens on
    the server machine's loopback and this machine reaches the server over the network, the
    server's route that passes predictions on (see :func:`invocations`)."""
    url = endpoint.get("url")
    if not url:
        return None
    target, _ = invocations(str(endpoint.get("name")), str(url), server)
    return str(url) if target == f"{str(url).rstrip('/')}/invocations" else target


@endpoints.command("list")
@json_option
@fail_on_error
def list_(as_json: bool) -> None:
    """List endpoints."""
    server = context().server()
    items = server.call(routes.LIST_ENDPOINTS())["endpoints"]
    emit(
        items,
        as_json,
        lambda: table(
            ["name", "status", "url", "traffic", "updated"],
            [
                [
                    e.get("name"),
                    e.get("status"),
                    _reachable(e, server),
                    " ".join(f"{k}={_share(v)}" for k, v in (e.get("traffic") or {}).items()),
                    format_time(e.get("updated_time")),
                ]
                for e in items
            ],
            whole=["url"],
        ),
    )


@endpoints.command()
@click.argument("name")
@click.option("--stats", is_flag=True, help="Include live counters per variant.")
@json_option
@fail_on_error
def describe(name: str, stats: bool, as_json: bool) -> None:
    """Show an endpoint: URL, its settings (update policy, capture, scaling, API keys),
    variants, traffic, workers, history."""
    client = context().server()
    e = client.call(routes.GET_ENDPOINT(name=name), params={"stats": stats})
    keys = None if as_json else len(client.call(routes.LIST_ENDPOINT_KEYS(name=name))["keys"])

    def human() -> str:
        workers = e.get("workers") or 0
        lines = [
            f"endpoint {e.get('name', name)}: {e.get('status') or '-'} at "
            f"{_reachable(e, client) or '-'} "
            f"({workers} worker{'' if workers == 1 else 's'})"
        ]
        if e.get("failure_reason"):
            lines.append(f"  note: {e['failure_reason']}")
        rollout = e.get("rollout")
        if isinstance(rollout, dict):
            lines.append(f"  rollout: {_rollout_line(rollout)}")
        lines.extend(_settings_lines(e.get("config") or {}, keys))
        traffic = e.get("traffic") or {}
        variants = (e.get("config") or {}).get("variants") or []
        lines.append(
            table(
                ["variant", "model", "traffic"],
                [[v.get("name"), _model(v), _share(traffic.get(v.get("name")))] for v in variants],
            )
        )
        pending = (e.get("pending_config") or {}).get("variants") or []
        if pending:
            lines.append("rolling out:")
            config = e.get("config") or {}
            names = {v.get("name") for v in variants} | {(config.get("shadow") or {}).get("name")}
            lines.append(
                table(
                    ["variant", "model", "traffic"],
                    [
                        [
                            v.get("name"),
                            _model(v),
                            # A name the old config uses serves as NAME.next meanwhile.
                            _share(
                                traffic.get(
                                    f"{v.get('name')}.next"
                                    if v.get("name") in names
                                    else v.get("name")
                                )
                            ),
                        ]
                        for v in pending
                    ],
                )
            )
        if stats:
            lines.append(_stats_table(e.get("stats") or {}))
        lines.extend(_history_lines(e.get("events") or []))
        return "\n".join(lines)

    emit(e, as_json, human)


#: The most recent status changes ``describe`` shows (``--json`` has them all).
HISTORY_SHOWN = 15


def _history_lines(events: list[dict[str, Any]]) -> list[str]:
    """The endpoint's latest status changes, oldest first; how many earlier ones are left out."""
    shown = events[-HISTORY_SHOWN:]
    earlier = len(events) - len(shown)
    head = f"history ({earlier} earlier left out; --json has them all):" if earlier else "history:"
    rows = [[format_time(ev.get("time")), ev.get("status"), ev.get("message")] for ev in shown]
    return [head, table(["time", "status", "message"], rows)]


def _settings_lines(config: dict[str, Any], keys: int | None) -> list[str]:
    """The configuration an update leaves as it is unless it names it: the policy the next
    update rolls out with, data capture, scaling and API keys (none from a server whose
    config this client cannot read)."""
    from pydantic import ValidationError

    from dockyard.api.endpoints import EndpointConfig

    try:
        c = from_answer(EndpointConfig, config)
    except ValidationError:
        return []
    limits = c.rollout.thresholds
    capture = c.capture
    where = f" to {capture.destination}" if capture.destination else ""
    scaling = c.scaling
    size = (
        f"{scaling.min_workers} worker(s)"
        if scaling.min_workers == scaling.max_workers
        else f"{scaling.min_workers} to {scaling.max_workers} workers, "
        f"{scaling.target_in_flight:g} in flight each, cooldown {scaling.cooldown_s:g} s"
    )
    made = "" if keys is None else f" ({keys} key{'' if keys == 1 else 's'})"
    return [
        f"  update policy: {c.rollout.describe()}; rolled back above "
        f"{limits.max_error_rate * 100:g}% errors or a p99 of {limits.max_p99_ms:g} ms, each held "
        "step needs "
        f"{limits.min_requests} request(s)",
        f"  capture: {capture.sampling_pct:g}% of requests ({capture.mode}){where}"
        if capture.enabled
        else "  capture: off",
        f"  scaling: {size}",
        f"  API keys: {'required' if c.require_api_key else 'not required'}{made}",
    ]


def _model(variant: dict[str, Any]) -> str:
    """The URI given, and the version it was pinned to when that is not plain from it."""
    uri = str(variant.get("model_uri") or "-")
    pinned = variant.get("model_version")
    if pinned is None or uri.endswith(f"/{pinned}"):
        return uri
    return f"{uri} (v{pinned})"


def _share(value: Any) -> str:
    return f"{value:.0%}" if isinstance(value, (int, float)) else "-"


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def _rollout_line(r: dict[str, Any]) -> str:
    """``step 1 of 2: 10% on the new configuration, baking, 4m 10s left (37/10 requests)``."""
    where = f"step {r.get('step', '?')} of {r.get('steps', '?')}: {_share(r.get('share'))} of "
    where += "traffic on the new configuration"
    left = _duration(float(r.get("time_left_s") or 0))
    counted = f"{r.get('requests', 0)} of the {r.get('min_requests', 0)} requests it needs"
    if r.get("phase") == "waiting_for_traffic":
        return f"{where}, waiting for traffic ({counted}); rolled back in {left} without it"
    return f"{where}, baking, {left} left ({counted})"


def _stats_table(stats: dict[str, Any]) -> str:
    """Live counters per worker and variant; a fresh endpoint has answered nothing yet."""
    rows = []
    for worker in stats.get("workers") or []:
        who = worker.get("worker") or {}
        where = (
            f"{who['host']}:{who['port']} node {str(who['node'])[:8]}" if who.get("node") else ""
        )
        for vname, s in (worker.get("variants") or {}).items():
            p99 = (s.get("latency_s") or {}).get("p99")
            rate = s.get("error_rate")
            rows.append(
                [
                    who.get("id") or who.get("pid") or worker.get("pid"),
                    where,
                    vname,
                    s.get("requests", 0),
                    f"{rate:.2%}" if isinstance(rate, (int, float)) else "-",
                    f"{p99 * 1000:.1f} ms" if isinstance(p99, (int, float)) else "-",
                    s.get("in_flight", 0),
                ]
            )
    if not rows:
        return "stats: no worker is serving"
    return table(["worker", "where", "variant", "requests", "errors", "p99", "in flight"], rows)


@endpoints.command()
@click.argument("name")
@click.option("-d", "--data", required=True, help="The body, or @file to read it from a file.")
@click.option("--content-type", default="application/json", show_default=True)
@click.option("--accept", default="application/json", show_default=True)
@click.option("--variant", default=None, help="Pin a production variant.")
@click.option(
    "--api-key",
    default=None,
    envvar="DOCKYARD_ENDPOINT_API_KEY",
    help="Key of an endpoint that requires one (or DOCKYARD_ENDPOINT_API_KEY).",
)
@json_option
@fail_on_error
def invoke(
    name: str,
    data: str,
    content_type: str,
    accept: str,
    variant: str | None,
    api_key: str | None,
    as_json: bool,
) -> None:
    """Send one request to the endpoint's /invocations and print the answer (the variant that
    answered on stderr); with --json, one JSON object: the endpoint, the variant, the request
    id, the answer's status and content type, and its body (parsed when it is JSON)."""
    body = data.encode()
    if data.startswith("@"):
        try:
            body = Path(data[1:]).read_bytes()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise click.BadParameter(
                f"cannot read {data[1:]}: {reason}", param_hint="--data"
            ) from None
    server = context().server()
    endpoint = EndpointHandle(name, server).describe()
    if endpoint.status is EndpointStatus.FAILED:
        # No worker accepts on its port: the request would wait out its timeout for nothing.
        reason = f": {endpoint.failure_reason}" if endpoint.failure_reason else ""
        click.echo(f"error: endpoint {name} is Failed, nothing serves it{reason}", err=True)
        sys.exit(1)
    url, via = invocations(name, endpoint.url, server)
    headers = {"content-type": content_type, "accept": accept}
    if variant:
        headers["x-dockyard-target-variant"] = variant
        headers["x-amzn-sagemaker-target-variant"] = variant  # through the server
    if api_key and not via:
        headers["authorization"] = f"Bearer {api_key}"
    headers |= via  # through the server: signed in as this command is, not with the key
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=60)
    except httpx.TransportError as exc:
        click.echo(
            f"error: endpoint {name} is not answering at {url} ({exc or type(exc).__name__}): "
            f"see dockyard endpoints describe {name}",
            err=True,
        )
        sys.exit(1)
    if not as_json:
        click.echo(f"variant: {answering_variant(response.headers) or '-'}", err=True)
    if response.status_code >= 400:
        click.echo(_invoke_error(response, content_type), err=True)
        sys.exit(2 if response.status_code < 500 else 1)
    if as_json:
        emit(_invoke_answer(name, response), True, str)
        return
    sys.stdout.write(response.text + ("\n" if not response.text.endswith("\n") else ""))


def _invoke_answer(name: str, response: httpx.Response) -> dict[str, Any]:
    """What ``invoke --json`` prints: the answer with what a script needs to know of it. The
    body is parsed when the answer says it is JSON, else kept as text (CSV, JSON Lines)."""
    answered_as = response.headers.get("content-type", "")
    body: Any = response.text
    if answered_as.split(";", 1)[0].strip().lower() == _JSON_TYPE:
        with contextlib.suppress(ValueError):  # said JSON and was not: the text as it came
            body = response.json()
    return {
        "endpoint": name,
        "variant": answering_variant(response.headers),
        "request_id": response.headers.get("x-request-id"),
        "status_code": response.status_code,
        "content_type": answered_as or None,
        "body": body,
    }


_JSON_TYPE = "application/json"
#: The request headers the options set, as the options are called.
_OPTIONS = {"X-Dockyard-Target-Variant": "--variant", "Content-Type": "--content-type"}


def _invoke_error(response: httpx.Response, content_type: str) -> str:
    """An endpoint's error answer as one line: its message, the option at fault, the request."""
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or not isinstance(answer.get("message"), str):
        return f"error: HTTP {response.status_code}: {response.text.strip()[:500]}"
    message: str = answer["message"]
    field = answer.get("field")
    for header, option in _OPTIONS.items():
        message = message.replace(header, option)
        field = option if field == header else field
    where = f" ({field})" if isinstance(field, str) and field and field not in message else ""
    if message.startswith("the request body is not valid JSON") and content_type == _JSON_TYPE:
        where += f"; the body was sent as {_JSON_TYPE}: give --content-type for another format"
    request = f" [request {answer['request_id']}]" if answer.get("request_id") else ""
    return f"error: {message}{where}{request}"


@endpoints.command()
@click.argument("name")
@click.option("--worker", help="Only this worker's log (an id the lines are prefixed with).")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines (and new workers').")
@json_option
@fail_on_error
def logs(name: str, worker: str | None, follow: bool, as_json: bool) -> None:
    """Print the logs of endpoint NAME's workers (access log, warnings, errors), each worker's
    lines prefixed with its id; with --json, one JSON object per page read."""
    handle = EndpointHandle(name, context().server())
    at_start: dict[str, bool] = {}
    try:
        for page in handle.iter_logs(worker=worker, follow=follow):
            if as_json:
                data = page.model_dump(mode="json", exclude={"workers"})
                sys.stdout.write(json.dumps(data) + "\n")
            elif worker is not None:
                sys.stdout.write(page.text)
            else:
                sys.stdout.write(_prefixed(page.text, page.worker, at_start))
            sys.stdout.flush()
    except NotFound:
        if not follow:
            raise
        # The endpoint was deleted while followed: its logs went with it.


def _prefixed(text: str, worker: str, at_start: dict[str, bool]) -> str:
    """``text`` with each line starting ``<worker> | `` (a line begun on an earlier page
    carries on without one)."""
    out = []
    for line in text.splitlines(keepends=True):
        if at_start.get(worker, True):
            out.append(f"{worker} | ")
        out.append(line)
        at_start[worker] = line.endswith("\n")
    return "".join(out)


@endpoints.command()
@click.argument("name")
@yes_option
@json_option
@fail_on_error
def delete(name: str, yes: bool, as_json: bool) -> None:
    """Drain and delete an endpoint (asks first; --yes does not). It is gone once its workers
    have drained: --json gives the ``status`` it has until then."""
    confirm(f"delete endpoint {name} (its URL stops answering)", yes)
    found = context().server().call(routes.DELETE_ENDPOINT(name=name))
    said = f"deleting endpoint {name}"
    emit_done("deleted", "endpoint", name, as_json, said, status=found.get("status"))


@endpoints.group()
def keys() -> None:
    """API keys of endpoints whose config has require_api_key."""


@keys.command("create")
@click.argument("name")
@json_option
@fail_on_error
def create_key(name: str, as_json: bool) -> None:
    """Make a key for endpoint NAME and print it: it is shown this once."""
    made = EndpointHandle(name, context().server()).create_key()
    if as_json:
        emit(made.model_dump(mode="json"), True, str)
        return
    click.echo(f"key {made.key_id} for endpoint {name} (shown once; the server keeps a digest):")
    click.echo(made.key)


@keys.command("list")
@click.argument("name")
@json_option
@fail_on_error
def list_keys(name: str, as_json: bool) -> None:
    """List the keys of endpoint NAME (ids and creation times)."""
    items = [
        k.model_dump(mode="json") for k in EndpointHandle(name, context().server()).list_keys()
    ]
    emit(
        items,
        as_json,
        lambda: table(
            ["key id", "created"], [[k["key_id"], format_time(k["created_time"])] for k in items]
        ),
    )


@keys.command("delete")
@click.argument("name")
@click.argument("key_id")
@yes_option
@json_option
@fail_on_error
def delete_key(name: str, key_id: str, yes: bool, as_json: bool) -> None:
    """Revoke key KEY_ID of endpoint NAME; its workers refuse it within a second or so (asks
    first; --yes does not)."""
    confirm(f"revoke key {key_id} of endpoint {name}", yes)
    EndpointHandle(name, context().server()).delete_key(key_id)
    said = f"revoked key {key_id} of endpoint {name}"
    emit_done("revoked", "endpoint_key", key_id, as_json, said, endpoint=name)
