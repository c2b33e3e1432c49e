"""``dockyard topics`` (list, create, publish, delete) and ``dockyard subscriptions`` (create, list,
describe, deliveries, replay, delete): notifications from the command line."""

from __future__ import annotations

from typing import Any

import click
import orjson

from dockyard.client.cli._client import client
from dockyard.client.cli._confirm import confirm, yes_option
from dockyard.client.cli._flags import FlagFields
from dockyard.client.cli._group import Group
from dockyard.client.cli._options import comma_list, json_arg
from dockyard.client.cli._output import (
    NUMBER,
    emit,
    emit_done,
    fail_on_error,
    format_time,
    json_option,
    table,
)
from dockyard.client.http import routes
from dockyard.errors import InvalidArgument
from dockyard.limits import LIMITS

__all__ = ["subscriptions", "topics"]


@click.group(cls=Group)
def topics() -> None:
    """Topics: built-in ones (one per resource kind) and custom ones you publish to."""


@topics.command("list")
@json_option
@fail_on_error
def list_topics(as_json: bool) -> None:
    """Every topic and the events it carries."""
    found = list(client().paginate(routes.LIST_TOPICS(), "topics"))
    emit(
        found,
        as_json,
        lambda: table(
            ["name", "events", "kind", "description"],
            [
                [t["name"], t["events"], "built-in" if t["builtin"] else "custom", t["description"]]
                for t in found
            ],
        ),
    )


@topics.command("create")
@click.argument("name")
@click.option("--description", default="", help="What the topic is for.")
@json_option
@fail_on_error
def create_topic(name: str, description: str, as_json: bool) -> None:
    """Create a custom topic."""
    from dockyard.api.notifications import TopicConfig
    from dockyard.client.sdk import build_request

    flags = FlagFields()
    flags.named("name", "NAME")
    data: dict[str, Any] = {"name": name}
    flags.set(data, "description", description, "--description")
    with flags.naming():
        made = client().call(routes.CREATE_TOPIC(), build_request(TopicConfig, data))
    emit(made, as_json, lambda: f"created topic {made['name']} (events: {made['events']})")


@topics.command("publish")
@click.argument("name")
@click.argument("message")
@click.option(
    "--attribute", "-a", "attributes", multiple=True, help="KEY=VALUE, for filter policies."
)
@json_option
@fail_on_error
def publish(name: str, message: str, attributes: tuple[str, ...], as_json: bool) -> None:
    """Publish MESSAGE to topic NAME (a JSON object is sent as one)."""
    from dockyard.api.notifications import PublishRequest
    from dockyard.client.sdk import build_request

    attrs: dict[str, Any] = {}
    for item in attributes:
        key, sep, value = item.partition("=")
        if not sep:
            raise InvalidArgument(f"--attribute {item!r}: expected KEY=VALUE", field="attribute")
        try:
            number = float(value)
            attrs[key] = int(number) if number.is_integer() and "." not in value else number
        except ValueError:
            attrs[key] = value
    text: Any = message
    if message.lstrip().startswith("{"):
        text = json_arg(message, "MESSAGE")
    body = build_request(PublishRequest, message=text, attributes=attrs)
    sent = client().call(routes.PUBLISH(name=name), body)
    emit(sent, as_json, lambda: f"published event {sent['event_id']} ({sent['type']})")


@topics.command("delete")
@click.argument("name")
@yes_option
@json_option
@fail_on_error
def delete_topic(name: str, yes: bool, as_json: bool) -> None:
    """Delete custom topic NAME, and the subscriptions that named only it (one that also names
    other events keeps those). Asks first (--yes does not)."""
    confirm(f"delete topic {name} and the subscriptions that name only it", yes)
    client().call(routes.DELETE_TOPIC(name=name))
    emit_done("deleted", "topic", name, as_json)


@click.group(cls=Group)
def subscriptions() -> None:
    """Subscriptions: where matching events are sent (webhooks, Slack, Teams, email)."""


def _summary(s: dict[str, Any]) -> list[Any]:
    return [
        s["name"],
        s["subscription_id"],
        ",".join(s["events"]),
        f"{s['protocol']}/{s['format']}",
        s["endpoint"],
        _STATES.get(s["state"], s["state"]),
        s["pending"],
        s["delivered"],
        s["dead"],
    ]


_HEADERS = ["name", "id", "events", "via", "endpoint", "state", "pending", "delivered", "dead"]
_STATES = {"pending_confirmation": "unconfirmed"}


def _confirmation_line(s: dict[str, Any]) -> str:
    if s["state"] == "confirmed":
        by = s.get("confirmed_by")
        skipped = f" (skipped by {by})" if by and by != "token" else ""
        when = format_time(s["confirmed_time"]) if s.get("confirmed_time") else "before upgrade"
        return f"confirmed {when}{skipped}"
    expires = s.get("confirmation_expires_time")
    until = f"; its token expires {format_time(expires)}" if expires else ""
    return f"pending: a confirmation message was sent to the endpoint{until}"


@subscriptions.command("create")
@click.option(
    "--events",
    required=True,
    multiple=True,
    help="Event patterns, comma-separated and/or repeated: job.*,run.*",
)
@click.option("--url", default=None, help="Webhook URL (http or https).")
@click.option("--email", default=None, help="Email address (instead of --url).")
@click.option("--secret", default=None, help="Signing secret; generated when omitted.")
@click.option("--format", "fmt", type=click.Choice(["json", "slack", "teams"]), default="json")
@click.option("--filter", "policy", default=None, help="SNS-style filter policy, as JSON.")
@click.option("--name", default=None, help="A name to refer to it by.")
@click.option("--retry-horizon", type=float, default=None, help="Seconds to retry (24 h).")
@click.option(
    "--skip-confirmation",
    is_flag=True,
    help="Vouch for the endpoint (admins): confirmed at once, recorded in the event log.",
)
@json_option
@fail_on_error
def create(
    events: tuple[str, ...],
    url: str | None,
    email: str | None,
    secret: str | None,
    fmt: str,
    policy: str | None,
    name: str | None,
    retry_horizon: float | None,
    skip_confirmation: bool,
    as_json: bool,
) -> None:
    """Send events matching --events to a webhook URL or an email address.

    The endpoint is sent a confirmation message first, and nothing else until its owner
    follows its link (or runs `dockyard subscriptions confirm TOKEN`)."""
    from dockyard.api.notifications import SubscriptionConfig
    from dockyard.client.sdk import build_request

    if (url is None) == (email is None):
        raise InvalidArgument("give one of --url or --email", field="--url")
    flags = FlagFields()
    body: dict[str, Any] = {"protocol": "webhook" if url else "email"}
    flags.set(body, "events", comma_list(events), "--events")
    flags.set(body, "endpoint", url or email, "--url" if url else "--email")
    flags.set(body, "format", fmt, "--format")
    flags.set(body, "filter", json_arg(policy, "--filter") or {}, "--filter")
    if skip_confirmation:
        flags.set(body, "skip_confirmation", True, "--skip-confirmation")
    for key, value, flag in (
        ("secret", secret, "--secret"),
        ("name", name, "--name"),
        ("retry_horizon_s", retry_horizon, "--retry-horizon"),
    ):
        if value is not None:
            flags.set(body, key, value, flag)
    with flags.naming():
        request = build_request(SubscriptionConfig, body)
        made = client().call(routes.CREATE_SUBSCRIPTION(), request)
    emit(
        made,
        as_json,
        lambda: (
            f"created subscription {made['name']} ({made['subscription_id']})\n"
            f"secret: {made['secret']}  (shown only now: keep it to verify signatures)\n"
            f"{_confirmation_line(made)}"
        ),
    )


@subscriptions.command("list")
@json_option
@fail_on_error
def list_subscriptions(as_json: bool) -> None:
    """Every subscription with its pending, delivered and dead deliveries."""
    found = list(client().paginate(routes.LIST_SUBSCRIPTIONS(), "subscriptions"))
    emit(found, as_json, lambda: table(_HEADERS, [_summary(s) for s in found]))


@subscriptions.command("describe")
@click.argument("subscription")
@json_option
@fail_on_error
def describe(subscription: str, as_json: bool) -> None:
    """One subscription (by name or id)."""
    s = client().call(routes.GET_SUBSCRIPTION(ident=subscription))

    def human() -> str:
        rows = [
            ("name", s["name"]),
            ("id", s["subscription_id"]),
            ("events", ", ".join(s["events"])),
            ("protocol", s["protocol"]),
            ("format", s["format"]),
            ("endpoint", s["endpoint"]),
            ("filter", orjson.dumps(s["filter"]).decode() if s["filter"] else "-"),
            ("retry horizon", f"{s['retry_horizon_s']:g} s"),
            ("created", f"{format_time(s['created_time'])} by {s['created_by']}"),
            ("state", _confirmation_line(s)),
            ("deliveries", f"{s['pending']} pending, {s['delivered']} delivered, {s['dead']} dead"),
        ]
        return "\n".join(f"{k + ':':<15}{v}" for k, v in rows)

    emit(s, as_json, human)


@subscriptions.command("deliveries")
@click.argument("subscription")
@click.option("--dead", is_flag=True, help="Only dead letters.")
@click.option("--attempts", "show_attempts", is_flag=True, help="The delivery log instead.")
@click.option(
    "--limit",
    type=click.IntRange(1, LIMITS.log_page_max_results),
    default=50,
    show_default=True,
)
@json_option
@fail_on_error
def deliveries(
    subscription: str, dead: bool, show_attempts: bool, limit: int, as_json: bool
) -> None:
    """A subscription's deliveries, newest first (or, with --attempts, every attempt)."""
    if dead and show_attempts:
        # The delivery log has every attempt, whatever became of its delivery.
        raise click.UsageError(
            "--dead lists dead deliveries and --attempts every attempt: not both"
        )
    api = client()
    if show_attempts:
        attempts = routes.LIST_ATTEMPTS(ident=subscription)
        found = api.call(attempts, params={"limit": limit})["attempts"]
        emit(
            found,
            as_json,
            lambda: table(
                ["time", "delivery", "event", "status", "latency ms", "error"],
                [
                    [
                        format_time(a["time"]),
                        a["delivery_id"],
                        a["event_id"],
                        a["status_code"],
                        round(a["latency_ms"], 1),
                        a["error"],
                    ]
                    for a in found
                ],
            ),
        )
        return
    params: dict[str, Any] = {"limit": limit}
    if dead:
        params["status"] = "dead"
    found = api.call(routes.LIST_DELIVERIES(ident=subscription), params=params)["deliveries"]
    emit(
        found,
        as_json,
        lambda: (
            table(
                ["id", "event", "type", "status", "attempts", "last code", "last error"],
                [
                    [
                        d["delivery_id"],
                        d["event_id"],
                        d["event_type"],
                        d["status"],
                        d["attempts"],
                        d["last_status_code"],
                        d["last_error"],
                    ]
                    for d in found
                ],
            )
            if found
            else "no deliveries"
        ),
    )


@subscriptions.command("replay")
@click.argument("subscription")
@click.option("--delivery", "ids", type=NUMBER, multiple=True, help="Only these (default: all).")
@json_option
@fail_on_error
def replay(subscription: str, ids: tuple[int, ...], as_json: bool) -> None:
    """Send a subscription's dead letters again."""
    from dockyard.api.notifications import ReplayRequest
    from dockyard.client.sdk import build_request

    body = build_request(ReplayRequest, {"delivery_ids": list(ids)} if ids else {})
    done = client().call(routes.REPLAY_DELIVERIES(ident=subscription), body)
    emit(done, as_json, lambda: f"queued {done['replayed']} dead deliveries again")


@subscriptions.command("delete")
@click.argument("subscription")
@yes_option
@json_option
@fail_on_error
def delete(subscription: str, yes: bool, as_json: bool) -> None:
    """Delete a subscription, its queue and its delivery log (asks first; --yes does not)."""
    confirm(f"delete subscription {subscription} with its queue and delivery log", yes)
    client().call(routes.DELETE_SUBSCRIPTION(ident=subscription))
    emit_done("deleted", "subscription", subscription, as_json)


@subscriptions.command("resend")
@click.argument("subscription")
@json_option
@fail_on_error
def resend(subscription: str, as_json: bool) -> None:
    """Send a pending subscription a new confirmation message (the earlier token stops
    working)."""
    sent = client().call(routes.RESEND_CONFIRMATION(ident=subscription))
    emit(
        sent,
        as_json,
        lambda: (
            f"sent subscription {sent['name']} a new confirmation message; its token expires "
            f"{format_time(sent['expires_time'])}"
        ),
    )


@subscriptions.command("confirm")
@click.argument("token")
@json_option
@fail_on_error
def confirm_subscription(token: str, as_json: bool) -> None:
    """Confirm a subscription with the token its confirmation message carried."""
    done = client().call(routes.CONFIRM_SUBSCRIPTION(), params={"token": token})
    emit(done, as_json, lambda: f"confirmed subscription {done['name']}")
