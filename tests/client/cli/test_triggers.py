"""``dockyard triggers`` in-process (click's runner) over the embedded default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dockyard.client.cli import cli


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DOCKYARD_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DOCKYARD_URI", raising=False)
    return CliRunner()


def _ok(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(cli, ["triggers", *args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def job(tmp_path: Path) -> Path:
    (tmp_path / "train.csv").write_text("1,2\n3,4\n")
    spec = tmp_path / "job.yaml"
    spec.write_text(
        "algorithm: xgboost\n"
        "hyperparameters: {num_round: '2', objective: 'reg:squarederror'}\n"
        "inputs: {train: {uri: train.csv, content_type: text/csv}}\n"
        "tags: {why: '{{trigger.why}}'}\n"
    )
    return spec


def test_create_list_fire_history_delete(runner: CliRunner, job: Path) -> None:
    made = _ok(
        runner,
        "create",
        "nightly",
        "--job",
        str(job),
        "--cron",
        "0 3 * * *",
        "--timezone",
        "Europe/Paris",
    )
    assert made.startswith("nightly: schedule 0 3 * * * Europe/Paris\nnext:")
    listed = _ok(runner, "list").splitlines()
    assert listed[0].split()[:3] == ["NAME", "SOURCE", "WORK"] and "nightly" in listed[1]
    shown = json.loads(_ok(runner, "get", "nightly", "--json"))
    assert shown["schedule"]["timezone"] == "Europe/Paris" and shown["next_time"]
    fired = json.loads(
        _ok(runner, "fire", "nightly", "--key", "k", "--cause", "why=test", "--json")
    )
    assert fired["status"] == "fired", fired
    again = json.loads(_ok(runner, "fire", "nightly", "--key", "k", "--json"))
    assert again["firing_id"] == fired["firing_id"]
    history = _ok(runner, "history", "nightly").splitlines()
    assert history[0].split() == ["ID", "STATUS", "CAUSE", "JOB", "TIME"]
    assert history[1].split()[1:3] == ["fired", "manual:k"] and len(history) == 2
    _ok(runner, "delete", "nightly", "--yes")
    missing = runner.invoke(cli, ["triggers", "get", "nightly"])
    assert missing.exit_code == 2 and "no trigger named nightly" in missing.output


def test_a_git_trigger_shows_its_hook_and_secret_once(runner: CliRunner, job: Path) -> None:
    made = _ok(
        runner,
        "create",
        "on-push",
        "--job",
        str(job),
        "--git",
        "--repository",
        "acme/models",
        "--branch",
        "main",
        "--path",
        "src/*",
    )
    assert "hook:   /api/v1/hooks/triggers/on-push" in made and "(shown once)" in made
    assert "secret" not in _ok(runner, "get", "on-push")


def test_bad_input_names_the_problem(runner: CliRunner, job: Path) -> None:
    both = runner.invoke(
        cli,
        [
            "triggers",
            "create",
            "x",
            "--job",
            str(job),
            "--cron",
            "@daily",
            "--rate",
            "rate(1 hour)",
        ],
    )
    assert both.exit_code == 2 and "exactly one of cron and rate" in both.output
    none = runner.invoke(cli, ["triggers", "create", "x", "--job", str(job)])
    assert none.exit_code == 2 and "exactly one source" in none.output
    zone = runner.invoke(
        cli,
        [
            "triggers",
            "create",
            "x",
            "--job",
            str(job),
            "--cron",
            "@daily",
            "--timezone",
            "Mars/Base",
        ],
    )
    assert zone.exit_code == 2 and "unknown time zone" in zone.output
    bad = runner.invoke(
        cli,
        ["triggers", "create", "x", "--job", str(job), "--events", "job.*", "--filter", "{nope"],
    )
    assert bad.exit_code == 2 and "--filter" in bad.output
    ignored = runner.invoke(
        cli,
        ["triggers", "create", "x", "--job", str(job), "--cron", "@daily", "--filter", "{}"],
    )
    assert ignored.exit_code == 0, ignored.output  # an empty policy filters nothing
    runner.invoke(cli, ["triggers", "delete", "x", "--yes"])
    ignored = runner.invoke(
        cli,
        [
            "triggers",
            "create",
            "x",
            "--job",
            str(job),
            "--cron",
            "@daily",
            "--filter",
            '{"a": [1]}',
        ],
    )
    assert ignored.exit_code == 2
    assert "filter applies to an events trigger: give events too" in ignored.output


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--cron", "99 * * * *"], "--cron"),
        (["--rate", "rate(0 minutes)"], "--rate"),
        (["--cron", "@daily", "--timezone", "Mars/Base"], "--timezone"),
        (["--objects", "relative/prefix"], "--objects"),
        (["--cron", "@daily", "--cooldown", "1e12"], "--cooldown"),
        (["--events", "job.*", "--filter", "{nope"], "--filter"),
        (["--cron", "@daily", "--input", "{nope"], "--input"),
    ],
    ids=["cron", "rate", "timezone", "objects", "cooldown", "filter", "input"],
)
def test_a_bad_source_flag_is_named_as_typed(
    runner: CliRunner, job: Path, args: list[str], flag: str
) -> None:
    # The trigger's fields were named: schedule.cron, schedule.rate, objects.prefix...
    bad = runner.invoke(cli, ["triggers", "create", "x", "--job", str(job), *args])
    assert bad.exit_code == 2, bad.output
    # named once: at the start ("--cron: ..."), or after a message that says it otherwise
    assert bad.output.startswith(f"error: {flag}: ") or bad.output.rstrip().endswith(f"({flag})")
    assert "schedule." not in bad.output and "_s:" not in bad.output


def test_a_transform_whose_input_is_the_new_object(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKYARD_DATA_ROOTS", str(tmp_path))
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    spec = tmp_path / "score.yaml"
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "MLmodel").write_text("flavors: {}\n")
    spec.write_text("model_uri: model\ninput: {uri: '{{trigger.uri}}', content_type: text/csv}\n")
    made = json.loads(
        _ok(
            runner,
            "create",
            "new-data",
            "--transform",
            str(spec),
            "--objects",
            str(incoming),
            "--json",
        )
    )
    assert made["target"]["spec"]["input"]["uri"] == "{{trigger.uri}}"  # not taken for a path


def test_enable_disable_update(runner: CliRunner, job: Path) -> None:
    _ok(runner, "create", "nightly", "--job", str(job), "--cron", "0 3 * * *")
    assert _ok(runner, "disable", "nightly").startswith("nightly: disabled")
    assert "enabled:    no" in _ok(runner, "get", "nightly")
    refused = runner.invoke(cli, ["triggers", "fire", "nightly"])
    assert refused.exit_code != 0 and "disabled" in refused.output
    assert _ok(runner, "enable", "nightly").startswith("nightly: enabled")
    shown = json.loads(
        _ok(runner, "update", "nightly", "--cron", "0 4 * * *", "--cooldown", "60", "--json")
    )
    assert shown["schedule"]["cron"] == "0 4 * * *" and shown["cooldown_s"] == 60
    wrong = runner.invoke(cli, ["triggers", "update", "nightly", "--branch", "main"])
    assert wrong.exit_code == 2 and "schedule trigger" in wrong.output
    _ok(runner, "create", "on-push", "--job", str(job), "--git", "--repository", "acme/m")
    pushed = json.loads(_ok(runner, "update", "on-push", "--branch", "release/*", "--json"))
    assert pushed["git"] == {
        "provider": "any",
        "repository": "acme/m",  # kept: only the branches changed
        "branches": ["release/*"],
        "paths": [],
    }


def test_update_keeps_what_it_is_not_given(runner: CliRunner, job: Path) -> None:
    _ok(
        runner,
        "create",
        "nightly",
        "--job",
        str(job),
        "--cron",
        "0 3 * * *",
        "--timezone",
        "Europe/Paris",
    )
    shown = json.loads(_ok(runner, "update", "nightly", "--cron", "0 4 * * *", "--json"))
    assert shown["schedule"] == {"cron": "0 4 * * *", "timezone": "Europe/Paris", "rate": None}
    moved = json.loads(_ok(runner, "update", "nightly", "--timezone", "America/New_York", "--json"))
    assert moved["schedule"]["cron"] == "0 4 * * *"
    assert moved["schedule"]["timezone"] == "America/New_York"
    _ok(runner, "create", "hourly", "--job", str(job), "--rate", "rate(1 hour)")
    refused = runner.invoke(cli, ["triggers", "update", "hourly", "--timezone", "UTC"])
    assert refused.exit_code == 2 and "--timezone applies to a cron schedule" in refused.output


def test_event_patterns_are_a_comma_list_or_repeated(runner: CliRunner, job: Path) -> None:
    made = json.loads(
        _ok(
            runner,
            "create",
            "ev",
            "--job",
            str(job),
            "--events",
            "topic.alerts, job.*",
            "--events",
            "run.*",
            "--json",
        )
    )
    assert made["events"]["events"] == ["topic.alerts", "job.*", "run.*"]
    changed = json.loads(_ok(runner, "update", "ev", "--events", "a.*,b.*", "--json"))
    assert changed["events"]["events"] == ["a.*", "b.*"]


def test_a_failed_firing_exits_non_zero(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKYARD_DATA_ROOTS", str(tmp_path))
    data = tmp_path / "train.csv"
    data.write_text("1,2\n3,4\n")
    spec = tmp_path / "job.yaml"
    spec.write_text(
        "algorithm: xgboost\n"
        "hyperparameters: {num_round: '2', objective: 'reg:squarederror'}\n"
        f"inputs: {{train: {{uri: '{data.as_uri()}', content_type: text/csv}}}}\n"
    )
    _ok(runner, "create", "nightly", "--job", str(spec), "--cron", "0 3 * * *")
    data.unlink()  # the job's input is gone: its submission fails
    failed = runner.invoke(cli, ["triggers", "fire", "nightly", "--key", "k"])
    assert failed.exit_code == 1, failed.output
    assert failed.output.startswith("nightly: failed")
