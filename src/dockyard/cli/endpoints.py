"""``dockyard endpoints``: create, update (with canary or linear rollouts), list, describe,
invoke, delete, and ``keys create|list|delete`` for endpoints that require API keys."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import click
import httpx

from dockyard.cli._output import emit, fail_on_error, format_time, json_option, table
from dockyard.cli.jobs import _load_spec, local_to_store
from dockyard.errors import InvalidArgument
from dockyard.sdk import context
from dockyard.sdk._endpoints import EndpointHandle

__all__ = ["endpoints"]


@click.group()
def endpoints() -> None:
    """Real-time endpoints: models behind HTTP, with variants and safe rollouts."""


def _percent(value: str) -> float:
    match = re.fullmatch(r"\s*([0-9.]+)\s*%?\s*", value)
    if not match:
        raise InvalidArgument(f"{value!r} is not a percentage like 10%", field="canary")
    return float(match.group(1))


def _seconds(value: str) -> float:
    match = re.fullmatch(r"\s*([0-9.]+)\s*(ms|s|m|h)?\s*", value)
    if not match:
        raise InvalidArgument(f"{value!r} is not a duration like 60s or 5m", field="bake")
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[match.group(2) or "s"]
    return float(match.group(1)) * scale


def _config(spec_file: Path | None, name: str | None, model: str | None) -> dict[str, Any]:
    """The endpoint config; a local model folder (relative to the spec file) is uploaded."""
    client = context().server()
    if spec_file is not None:
        data = _load_spec(spec_file)
        for i, variant in enumerate(data.get("variants", [])):
            if isinstance(variant, dict) and "model_uri" in variant:
                field = f"variants.{i}.model_uri"
                uri = local_to_store(
                    client, variant["model_uri"], spec_file.parent, "models", field
                )
                variant["model_uri"] = uri
        shadow = data.get("shadow")
        if isinstance(shadow, dict) and "model_uri" in shadow:
            shadow["model_uri"] = local_to_store(
                client, shadow["model_uri"], spec_file.parent, "models", "shadow.model_uri"
            )
        if name:
            data["name"] = name
        return data
    if not (name and model):
        raise InvalidArgument("give a spec file, or --name and --model", field="spec")
    uri = local_to_store(client, model, Path.cwd(), "models", "model")
    return {"name": name, "variants": [{"name": "primary", "model_uri": uri}]}


def _wait(name: str, as_json: bool) -> dict[str, Any]:
    endpoint = EndpointHandle(name, context().server()).wait()
    if not as_json:
        click.echo(f"endpoint {name}: {endpoint.status.value} at {endpoint.url}")
        if endpoint.failure_reason:
            click.echo(f"  {endpoint.failure_reason}")
    return endpoint.model_dump(mode="json")


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
    body = _config(spec_file, name, model)
    answer = context().server().request("POST", "/api/v1/endpoints", json=body)
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
@click.option("--bake", default=None, help="Time to watch each step, e.g. 60s.")
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
    max_error_rate: float | None,
    max_p99_ms: float | None,
    wait: bool,
    as_json: bool,
) -> None:
    """Roll out a new configuration (blue/green) with automatic rollback on breach."""
    client = context().server()
    if spec_file is None and model is None:
        current = client.request("GET", f"/api/v1/endpoints/{name}")["config"]
        body = dict(current)
    else:
        body = _config(spec_file, name, model)
    rollout: dict[str, Any] = dict(body.get("rollout") or {})
    if canary is not None:
        rollout.update(strategy="canary", canary_pct=_percent(canary))
    if linear is not None:
        rollout.update(strategy="linear", linear_steps=linear)
    if bake is not None:
        rollout["bake_s"] = _seconds(bake)
    thresholds = dict(rollout.get("thresholds") or {})
    if max_error_rate is not None:
        thresholds["max_error_rate"] = max_error_rate
    if max_p99_ms is not None:
        thresholds["max_p99_ms"] = max_p99_ms
    if thresholds:
        rollout["thresholds"] = thresholds
    body["rollout"] = rollout
    answer = client.request("PUT", f"/api/v1/endpoints/{name}", json=body)
    if not as_json:
        click.echo(f"updating endpoint {name}: {answer['events'][-1]['message']}")
    if wait:
        answer = _wait(name, as_json)
    if as_json:
        emit(answer, True, str)


@endpoints.command("list")
@json_option
@fail_on_error
def list_(as_json: bool) -> None:
    """List endpoints."""
    items = context().server().request("GET", "/api/v1/endpoints")["endpoints"]
    emit(
        items,
        as_json,
        lambda: table(
            ["name", "status", "url", "traffic", "updated"],
            [
                [
                    e["name"],
                    e["status"],
                    e["url"],
                    " ".join(f"{k}={v:.0%}" for k, v in e["traffic"].items()),
                    format_time(e["updated_time"]),
                ]
                for e in items
            ],
        ),
    )


@endpoints.command()
@click.argument("name")
@click.option("--stats", is_flag=True, help="Include live counters per variant.")
@json_option
@fail_on_error
def describe(name: str, stats: bool, as_json: bool) -> None:
    """Show an endpoint: URL, variants, traffic, workers, history."""
    e = context().server().request("GET", f"/api/v1/endpoints/{name}", params={"stats": stats})

    def human() -> str:
        lines = [f"endpoint {e['name']}: {e['status']} at {e['url']} ({e['workers']} workers)"]
        if e.get("failure_reason"):
            lines.append(f"  note: {e['failure_reason']}")
        lines.append(
            table(
                ["variant", "model", "traffic"],
                [
                    [v["name"], v["model_uri"], f"{e['traffic'].get(v['name'], 0):.0%}"]
                    for v in e["config"]["variants"]
                ],
            )
        )
        if stats and e.get("stats"):
            rows = []
            for worker in e["stats"]["workers"]:
                for vname, s in worker["variants"].items():
                    rows.append(
                        [
                            worker["pid"],
                            vname,
                            s["requests"],
                            f"{s['error_rate']:.2%}",
                            f"{s['latency_s']['p99'] * 1000:.1f} ms",
                            s["in_flight"],
                        ]
                    )
            lines.append(
                table(["worker", "variant", "requests", "errors", "p99", "in flight"], rows)
            )
        lines.append("history:")
        lines.append(
            table(
                ["time", "status", "message"],
                [[format_time(ev["time"]), ev["status"], ev["message"]] for ev in e["events"]],
            )
        )
        return "\n".join(lines)

    emit(e, as_json, human)


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
@fail_on_error
def invoke(
    name: str, data: str, content_type: str, accept: str, variant: str | None, api_key: str | None
) -> None:
    """Send one request to the endpoint's /invocations and print the answer."""
    body = Path(data[1:]).read_bytes() if data.startswith("@") else data.encode()
    url = EndpointHandle(name, context().server()).url
    headers = {"content-type": content_type, "accept": accept}
    if variant:
        headers["x-dockyard-target-variant"] = variant
    if api_key:
        headers["authorization"] = f"Bearer {api_key}"
    response = httpx.post(f"{url}/invocations", content=body, headers=headers, timeout=60)
    click.echo(f"variant: {response.headers.get('x-dockyard-variant', '-')}", err=True)
    sys.stdout.write(response.text + ("\n" if not response.text.endswith("\n") else ""))
    if response.status_code >= 400:
        sys.exit(2 if response.status_code < 500 else 1)


@endpoints.command()
@click.argument("name")
@fail_on_error
def delete(name: str) -> None:
    """Drain and delete an endpoint."""
    context().server().request("DELETE", f"/api/v1/endpoints/{name}")
    click.echo(f"deleting endpoint {name}")


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
@fail_on_error
def delete_key(name: str, key_id: str) -> None:
    """Revoke key KEY_ID of endpoint NAME; its workers refuse it within a second or so."""
    EndpointHandle(name, context().server()).delete_key(key_id)
    click.echo(f"revoked key {key_id} of endpoint {name}")
