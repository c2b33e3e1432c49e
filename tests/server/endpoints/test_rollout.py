"""Rollouts against real endpoints: what a bake holds, the traffic a step needs, the progress
``describe`` shows, and what an update keeps."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from tests.server.endpoints.conftest import ROW, Load, wait_status
from tests.services.server_process import ServerProcess

from dockyard.client.cli import cli
from dockyard.client.http import Client
from dockyard.client.sdk import reset_context

pytestmark = pytest.mark.slow


def _create(client: Client, name: str, model: str, **extra: Any) -> dict[str, Any]:
    body = {"name": name, "variants": [{"name": "v1", "model_uri": model}], **extra}
    client.request("POST", "/api/v1/endpoints", json=body)
    return wait_status(client, name, "InService")


def _update(client: Client, name: str, model: str, rollout: dict[str, Any]) -> None:
    body = {"name": name, "variants": [{"name": "v2", "model_uri": model}], "rollout": rollout}
    client.request("PUT", f"/api/v1/endpoints/{name}", json=body)


def _event_time(endpoint: dict[str, Any], starts: str) -> int:
    """When the latest event whose message starts so happened."""
    return [e["time"] for e in endpoint["events"] if e["message"].startswith(starts)][-1]


def _while_updating(client: Client, name: str, timeout: float = 60) -> dict[str, Any]:
    """The endpoint's description once an update's step shows its progress."""
    deadline = time.monotonic() + timeout
    while True:
        endpoint = client.request("GET", f"/api/v1/endpoints/{name}")
        if endpoint["status"] == "Updating" and endpoint["rollout"] is not None:
            return endpoint  # type: ignore[no-any-return]
        assert endpoint["status"] in ("InService", "Updating"), endpoint["failure_reason"]
        assert time.monotonic() < deadline, endpoint["events"]
        time.sleep(0.1)


def test_a_canary_that_gets_no_traffic_is_rolled_back_saying_why(
    client: Client,
    server: ServerProcess,
    models,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _create(client, "quiet", models["one"])
    monkeypatch.setenv("DOCKYARD_URI", server.url)
    reset_context()
    updated = CliRunner().invoke(
        cli,
        [
            *("endpoints", "update", "quiet", "--model", models["ten"]),
            *("--canary", "10%", "--bake", "1s", "--max-bake", "2s"),
        ],
    )
    reset_context()
    reason = (
        "update rolled back: the new configuration answered 0 request(s) at 10% of traffic "
        "in 2 s; thresholds.min_requests needs 10"
    )
    assert updated.exit_code == 1, updated.output  # a rolled-back update is a failure
    assert reason in updated.output
    done = client.request("GET", "/api/v1/endpoints/quiet")
    assert done["status"] == "InService" and done["failure_reason"] == reason
    assert [v["model_uri"] for v in done["config"]["variants"]] == [models["one"]]
    assert done["traffic"] == {"v1": 1.0} and done["rollout"] is None
    messages = [e["message"] for e in done["events"]]
    assert any(
        m.startswith("step 1 of 2 baked 1 s but the new configuration answered 0 of the 10")
        for m in messages
    ), messages
    client.request("DELETE", "/api/v1/endpoints/quiet")


def test_describe_shows_the_step_and_time_left_and_the_bake_is_not_held_twice(
    client: Client,
    server: ServerProcess,
    models,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    endpoint = _create(client, "baked", models["one"])
    bake = 5.0
    with Load(endpoint["url"], clients=2):
        _update(
            client,
            "baked",
            models["ten"],
            {
                "strategy": "canary",
                "canary_pct": 50,
                "bake_s": bake,
                "thresholds": {"min_requests": 5},
            },
        )
        during = _while_updating(client, "baked")
        step = during["rollout"]
        assert (step["step"], step["steps"], step["share"], step["phase"]) == (1, 2, 0.5, "baking")
        assert 0 < step["time_left_s"] <= bake and step["min_requests"] == 5
        assert step["bake_until_time"] - step["started_time"] == bake * 1000
        assert step["give_up_time"] - step["started_time"] == 2 * bake * 1000
        monkeypatch.setenv("DOCKYARD_URI", server.url)
        reset_context()
        shown = CliRunner().invoke(cli, ["endpoints", "describe", "baked"])
        reset_context()
        assert shown.exit_code == 0, shown.output
        line = next(li for li in shown.output.splitlines() if li.startswith("  rollout: "))
        assert line.startswith(
            "  rollout: step 1 of 2: 50% of traffic on the new configuration, baking, "
        ), line
        assert "s left (" in line and "of the 5 requests it needs)" in line
        assert "rolling out:" in shown.output
        done = wait_status(client, "baked", "InService")
    assert done["failure_reason"] is None and done["traffic"] == {"v2": 1.0}
    assert done["rollout"] is None
    # The canary share is held `bake` seconds; 100% is not held again (final_bake_s is 0):
    # the step that moves all traffic says it holds nothing.
    held_ms = _event_time(done, "update complete") - _event_time(done, "50% of traffic")
    assert held_ms >= bake * 1000, held_ms
    messages = [e["message"] for e in done["events"]]
    last = next(m for m in messages if "(step 2 of 2" in m)
    assert "held" not in last, messages
    client.request("DELETE", "/api/v1/endpoints/baked")


def test_all_at_once_holds_100_percent_only_when_asked(
    client: Client,
    models,  # type: ignore[no-untyped-def]
) -> None:
    _create(client, "direct", models["one"])
    # The default rollout: all at once, bake_s 60 (which applies to partial steps only).
    client.request(
        "PUT",
        "/api/v1/endpoints/direct",
        json={"name": "direct", "variants": [{"name": "v2", "model_uri": models["ten"]}]},
    )
    done = wait_status(client, "direct", "InService")
    assert done["traffic"] == {"v2": 1.0} and done["failure_reason"] is None
    moved = [e["message"] for e in done["events"] if "(step 1 of 1" in e["message"]]
    assert moved and "held" not in moved[-1], moved  # all at once: nothing held at 100%
    _update(client, "direct", models["one"], {"final_bake_s": 2, "thresholds": {"min_requests": 0}})
    step = _while_updating(client, "direct")["rollout"]
    assert (step["step"], step["steps"], step["share"]) == (1, 1, 1.0)
    done = wait_status(client, "direct", "InService")
    assert done["failure_reason"] is None
    held_ms = _event_time(done, "update complete") - _event_time(
        done, "100% of traffic on the new configuration (step 1 of 1, held 2 s)"
    )
    assert held_ms >= 2000
    client.request("DELETE", "/api/v1/endpoints/direct")


def test_an_update_keeps_data_capture_unless_it_changes_it(
    client: Client,
    server: ServerProcess,
    models,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    capture = {"enabled": True, "sampling_pct": 100, "mode": "both"}
    _create(client, "kept", models["one"], capture=capture)
    monkeypatch.setenv("DOCKYARD_URI", server.url)
    reset_context()
    updated = CliRunner().invoke(cli, ["endpoints", "update", "kept", "--model", models["ten"]])
    reset_context()
    assert updated.exit_code == 0, updated.output
    described = client.request("GET", "/api/v1/endpoints/kept")
    assert described["config"]["capture"] == {**capture, "destination": None}
    assert described["config"]["variants"][0]["name"] == "primary"
    with httpx.Client(base_url=described["url"]) as http:
        for _ in range(5):
            assert http.post("/invocations", json=ROW).status_code == 200
    client.request("DELETE", "/api/v1/endpoints/kept")  # draining flushes capture
    deadline = time.monotonic() + 60
    while any(e["name"] == "kept" for e in client.request("GET", "/api/v1/endpoints")["endpoints"]):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    root = server.home / "artifacts" / "capture" / "kept" / "primary"
    records = [
        json.loads(line) for f in root.rglob("*.jsonl") for line in f.read_text().splitlines()
    ]
    assert len(records) == 5


def test_an_update_turns_capture_off_when_it_says_so(
    client: Client,
    models,  # type: ignore[no-untyped-def]
) -> None:
    _create(client, "unkept", models["one"], capture={"enabled": True})
    body = {
        "name": "unkept",
        "variants": [{"name": "v2", "model_uri": models["ten"]}],
        "capture": {"enabled": False},
    }
    client.request("PUT", "/api/v1/endpoints/unkept", json=body)
    done = wait_status(client, "unkept", "InService")
    assert done["config"]["capture"]["enabled"] is False
    client.request("DELETE", "/api/v1/endpoints/unkept")


def test_the_sdk_update_uploads_a_relative_model_folder(
    client: Client,
    server: ServerProcess,
    models,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pathlib import Path

    from dockyard.client.sdk import EndpointHandle

    _create(client, "relative", models["one"], capture={"enabled": True})
    monkeypatch.chdir(Path(models["ten"]).parent)
    done = EndpointHandle("relative", client).update(
        {"variants": [{"name": "v2", "model_uri": "ten"}]}  # relative to the current directory
    )
    assert done.status.value == "InService" and done.failure_reason is None
    uri = done.config.variants[0].model_uri
    assert Path(uri).is_relative_to(server.home / "artifacts" / "data" / "models"), uri
    assert done.config.capture.enabled is True
    client.request("DELETE", "/api/v1/endpoints/relative")


@pytest.mark.parametrize(
    "rollout", [("--canary", "10%", "--bake", "5s"), ()], ids=["canary", "all-at-once"]
)
def test_an_update_whose_model_cannot_load_is_rolled_back_saying_why(
    client: Client,
    server: ServerProcess,
    models,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
    rollout: tuple[str, ...],
) -> None:
    name = f"noload-{len(rollout)}"
    _create(client, name, models["one"])
    monkeypatch.setenv("DOCKYARD_URI", server.url)
    reset_context()
    updated = CliRunner().invoke(
        cli, ["endpoints", "update", name, "--model", models["broken"], *rollout]
    )
    reset_context()
    assert updated.exit_code == 1, updated.output  # a rolled-back update is a failure
    done = client.request("GET", f"/api/v1/endpoints/{name}")
    assert done["status"] == "InService" and done["pending_config"] is None, done["events"]
    reason = done["failure_reason"]
    match = re.fullmatch(
        r"update rolled back: variant primary \((\S+)\) failed to load: (.*)", reason, re.S
    )
    assert match is not None and "cannot load on purpose" in match[2], reason
    assert match[1] != models["one"]  # the new model's URI, as the update named it
    assert reason in updated.output
    assert [v["model_uri"] for v in done["config"]["variants"]] == [models["one"]]
    assert done["traffic"] == {"v1": 1.0} and done["rollout"] is None
    assert done["events"][-1]["message"] == (
        f"rolled back to the previous configuration: {reason.removeprefix('update rolled back: ')}"
    )
    assert "Failed" not in {e["status"] for e in done["events"]}
    with httpx.Client(base_url=done["url"]) as http:
        answered = http.post("/invocations", json=ROW)
    assert answered.status_code == 200 and answered.headers["x-dockyard-variant"] == "v1"
    client.request("DELETE", f"/api/v1/endpoints/{name}")


def test_a_created_endpoint_whose_model_cannot_load_fails_saying_why(
    client: Client,
    server: ServerProcess,
    models,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCKYARD_URI", server.url)
    reset_context()
    created = CliRunner().invoke(
        cli, ["endpoints", "create", "--name", "never", "--model", models["broken"]]
    )
    reset_context()
    assert created.exit_code == 1, created.output
    done = client.request("GET", "/api/v1/endpoints/never")
    assert done["status"] == "Failed" and "cannot load on purpose" in done["failure_reason"]
    assert done["failure_reason"] in created.output
    # Its own port answers at once, naming it and where to read why (the reason, an
    # exception's text, stays behind the server's authentication): no caller waits it out.
    said = (
        "endpoint never is Failed, nothing serves it (`dockyard endpoints describe never` says why)"
    )
    with httpx.Client(base_url=done["url"], timeout=5) as http:
        for path in ("/invocations", "/v2/models/never/infer"):
            answered = http.post(path, json=ROW)
            assert answered.status_code == 503, answered.text
            assert answered.json() == {
                "error": said,
                "code": "unavailable",
                "message": said,
                "endpoint": "never",
                "status": "Failed",
            }
            assert "cannot load on purpose" not in answered.text
        assert http.get("/ping").status_code == 503  # a health check sees it is not ready
        aws = http.post("/endpoints/never/invocations", content=b"1,2,3")  # as the server says
        assert aws.status_code == 400 and aws.headers["x-amzn-errortype"] == "ValidationError"
        assert aws.json()["message"].startswith(said)
    client.request("DELETE", "/api/v1/endpoints/never")


def test_a_rolled_back_update_keeps_the_whole_configuration_and_does_not_pass_for_done(
    client: Client,
    server: ServerProcess,
    models,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dockyard.client.sdk import EndpointHandle
    from dockyard.errors import JobFailed

    policy = {
        "strategy": "canary",
        "canary_pct": 10,
        "bake_s": 1,
        "thresholds": {"min_requests": 0},
    }
    _create(
        client,
        "keeps",
        models["one"],
        rollout=policy,
        capture={"enabled": True, "sampling_pct": 50, "mode": "input"},
        scaling={"min_workers": 1, "max_workers": 2, "cooldown_s": 5},
        require_api_key=True,
    )
    client.request("POST", "/api/v1/endpoints/keeps/keys")
    before = client.request("GET", "/api/v1/endpoints/keeps")["config"]
    handle = EndpointHandle("keeps", client)
    # An update with a policy of its own, whose model cannot load: it does not take.
    broken = {"variants": [{"name": "v2", "model_uri": models["broken"]}]}
    with pytest.raises(JobFailed) as failed:
        handle.update({**broken, "rollout": {"strategy": "all-at-once"}})
    done = client.request("GET", "/api/v1/endpoints/keeps")
    reason = done["failure_reason"]
    assert done["status"] == "InService" and reason.startswith("update rolled back: variant v2")
    assert reason in str(failed.value)
    assert done["config"] == before  # the policy included, not the update's
    monkeypatch.setenv("DOCKYARD_URI", server.url)
    reset_context()
    shown = CliRunner().invoke(cli, ["endpoints", "describe", "keeps"])
    reset_context()
    assert shown.exit_code == 0, shown.output
    settings = shown.output.splitlines()[2:6]
    assert settings == [
        "  update policy: canary: 10% for 1 s, then 100%; rolled back above 1% errors or a p99 "
        "of 1000 ms, each held step needs 0 request(s)",
        "  capture: 50% of requests (input)",
        "  scaling: 1 to 2 workers, 8 in flight each, cooldown 5 s",
        "  API keys: required (1 key)",
    ], shown.output
    # The next update names no policy: the endpoint's own rolls it out.
    updated = handle.update({"variants": [{"name": "v3", "model_uri": models["ten"]}]})
    assert updated.failure_reason is None and updated.traffic == {"v3": 1.0}
    assert updated.config.model_dump(mode="json", exclude={"variants"}) == {
        k: v for k, v in before.items() if k != "variants"
    }
    messages = [e.message for e in updated.events]
    assert messages.count("rolling out (canary: 10% for 1 s, then 100%)") == 1, messages
    assert "10% of traffic on the new configuration (step 1 of 2, held 1 s)" in messages
    client.request("DELETE", "/api/v1/endpoints/keeps")
