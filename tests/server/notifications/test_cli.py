"""``dockyard topics`` and ``dockyard subscriptions`` in-process over the embedded default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dockyard.client.cli import cli

HOOK = "https://hooks.example/dockyard"


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DOCKYARD_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DOCKYARD_URI", raising=False)
    monkeypatch.delenv("DOCKYARD_WEBHOOK_ALLOW_PRIVATE", raising=False)
    return CliRunner()


def _ok(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_topics_create_list_publish(runner: CliRunner) -> None:
    assert "created topic alerts" in _ok(runner, "topics", "create", "alerts")
    listed = json.loads(_ok(runner, "topics", "list", "--json"))
    by_name = {t["name"]: t for t in listed}
    assert by_name["alerts"]["events"] == "topic.alerts" and not by_name["alerts"]["builtin"]
    assert by_name["job"]["events"] == "job.*" and by_name["job"]["builtin"]
    table = _ok(runner, "topics", "list")
    assert table.splitlines()[0].split() == ["NAME", "EVENTS", "KIND", "DESCRIPTION"]
    sent = json.loads(
        _ok(runner, "topics", "publish", "alerts", "disk full", "-a", "severity=high", "--json")
    )
    assert sent["type"] == "topic.alerts"
    audit = json.loads(_ok(runner, "audit", "--type", "topic.alerts", "--json"))
    assert audit["body"] == {"message": "disk full", "attributes": {"severity": "high"}}
    missing = runner.invoke(cli, ["topics", "publish", "nope", "x"])
    assert missing.exit_code != 0 and "no custom topic named nope" in missing.output


def test_subscriptions_create_list_describe_deliveries_delete(runner: CliRunner) -> None:
    made = _ok(
        runner,
        "subscriptions",
        "create",
        "--events",
        "job.*,topic.alerts",
        "--url",
        HOOK,
        "--secret",
        "a-long-secret",
        "--format",
        "slack",
        "--filter",
        '{"status": ["Failed"]}',
        "--name",
        "oncall",
    )
    assert "created subscription oncall" in made and "a-long-secret" in made
    assert "pending: a confirmation message was sent" in made
    listed = json.loads(_ok(runner, "subscriptions", "list", "--json"))
    assert [(s["name"], s["state"]) for s in listed] == [("oncall", "pending_confirmation")]
    assert "secret" not in listed[0]
    assert "unconfirmed" in _ok(runner, "subscriptions", "list")
    described = _ok(runner, "subscriptions", "describe", "oncall")
    assert "job.*, topic.alerts" in described and "slack" in described
    assert "a-long-secret" not in described and "pending" in described
    queued = json.loads(_ok(runner, "subscriptions", "deliveries", "oncall", "--json"))
    assert [d["event_type"] for d in queued] == ["subscription.confirmation_sent"]
    both = runner.invoke(cli, ["subscriptions", "deliveries", "oncall", "--dead", "--attempts"])
    assert both.exit_code == 2 and "not both" in both.output  # not --attempts, ignoring --dead
    assert "queued 0" in _ok(runner, "subscriptions", "replay", "oncall")
    _ok(runner, "subscriptions", "delete", "oncall", "--yes")
    assert json.loads(_ok(runner, "subscriptions", "list", "--json")) == []


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--url", "ftp://files.example/x"], "http:// or https://"),
        (["--url", "http://127.0.0.1:9/x"], "DOCKYARD_WEBHOOK_ALLOW_PRIVATE"),
        (["--url", "http://localhost/x"], "loopback or private"),
        (["--url", "http://10.1.2.3/x"], "loopback or private"),
        (["--url", HOOK, "--filter", "{nope"], "--filter is not JSON"),
        (["--url", HOOK, "--filter", '{"status": "x"}'], "filter policy key 'status'"),
        ([], "give one of --url or --email"),
    ],
)
def test_bad_subscriptions_are_refused_clearly(
    runner: CliRunner, args: list[str], words: str
) -> None:
    result = runner.invoke(cli, ["subscriptions", "create", "--events", "job.*", *args])
    assert result.exit_code != 0
    assert words in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--events", "job.*", "--url", "ftp://files.example/x"], "--url"),
        (["--events", "job.*", "--email", "bob"], "--email"),
        (["--events", "job.*", "--url", HOOK, "--retry-horizon", "-5"], "--retry-horizon"),
        (["--events", " ", "--url", HOOK], "--events"),
        (["--events", "job.*", "--url", HOOK, "--filter", "{nope"], "--filter"),
    ],
    ids=["url", "email", "retry-horizon", "events", "filter"],
)
def test_a_bad_subscription_flag_is_named_as_typed(
    runner: CliRunner, args: list[str], flag: str
) -> None:
    # The request's fields were named: endpoint, retry_horizon_s, filter.
    result = runner.invoke(cli, ["subscriptions", "create", *args])
    assert result.exit_code == 2, result.output
    out = result.output
    assert out.startswith(f"error: {flag}: ") or out.rstrip().endswith(f"({flag})"), out


def test_a_bad_topic_description_is_named_as_typed(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["topics", "create", "alerts", "--description", "x" * 600])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: --description: String should have at most")


def test_subscription_events_are_a_comma_list_or_repeated(runner: CliRunner) -> None:
    made = json.loads(
        _ok(
            runner,
            "subscriptions",
            "create",
            "--events",
            "job.*, topic.a",
            "--events",
            "run.*",
            "--url",
            HOOK,
            "--json",
        )
    )
    assert made["events"] == ["job.*", "topic.a", "run.*"]  # the last --events not alone


def test_topics_delete_asks_first_or_takes_yes(runner: CliRunner) -> None:
    _ok(runner, "topics", "create", "alerts")
    kept = runner.invoke(cli, ["topics", "delete", "alerts"])  # no terminal to ask on
    assert kept.exit_code == 2 and "give --yes" in kept.output
    assert "alerts" in _ok(runner, "topics", "list")
    assert "deleted topic alerts" in _ok(runner, "topics", "delete", "alerts", "--yes")
    assert "alerts" not in _ok(runner, "topics", "list")
    missing = runner.invoke(cli, ["topics", "delete", "alerts", "--yes"])
    assert missing.exit_code == 2 and "no custom topic named alerts" in missing.output


def test_subscriptions_resend_and_confirm(runner: CliRunner, tmp_path: Path) -> None:
    from sqlalchemy import create_engine, text

    made = json.loads(
        _ok(runner, "subscriptions", "create", "--events", "job.*", "--url", HOOK, "--json")
    )
    assert made["state"] == "pending_confirmation"
    sent = json.loads(_ok(runner, "subscriptions", "resend", made["name"], "--json"))
    assert sent["state"] == "pending_confirmation" and sent["expires_time"]
    assert "a new confirmation message" in _ok(runner, "subscriptions", "resend", made["name"])
    wrong = runner.invoke(cli, ["subscriptions", "confirm", made["subscription_id"] + ".nope"])
    assert wrong.exit_code != 0 and "no subscription waits for this token" in wrong.output
    engine = create_engine(f"sqlite:///{tmp_path / 'home' / 'dockyard.db'}")
    with engine.connect() as conn:  # what the confirmation message carried
        token = conn.execute(text("SELECT confirm_token FROM subscriptions")).scalar()
    engine.dispose()
    assert f"confirmed subscription {made['name']}" in _ok(
        runner, "subscriptions", "confirm", str(token)
    )
    listed = json.loads(_ok(runner, "subscriptions", "list", "--json"))
    assert [(s["state"], s["confirmed_by"]) for s in listed] == [("confirmed", "token")]
    used = runner.invoke(cli, ["subscriptions", "confirm", str(token)])
    assert used.exit_code != 0 and "was used already" in used.output
    done = runner.invoke(cli, ["subscriptions", "resend", made["name"]])
    assert done.exit_code != 0 and "confirmed already" in done.output


def test_subscriptions_create_may_skip_the_confirmation(runner: CliRunner) -> None:
    made = json.loads(
        _ok(
            runner,
            "subscriptions",
            "create",
            "--events",
            "job.*",
            "--url",
            HOOK,
            "--skip-confirmation",
            "--json",
        )
    )
    assert made["state"] == "confirmed" and made["confirmed_by"]
    assert "skipped by" in _ok(runner, "subscriptions", "describe", made["name"])
