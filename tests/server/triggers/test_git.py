"""Git push hooks over HTTP: GitHub's signature, GitLab's token, filters, the commit passed on."""

from __future__ import annotations

import hashlib
import hmac
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from tests.server.triggers.conftest import ROOT, training

from dockyard.server._services import Services

SHA = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"


def _github(branch: str = "main", paths: tuple[str, ...] = ("src/train.py",)) -> bytes:
    return orjson.dumps(
        {
            "ref": f"refs/heads/{branch}",
            "before": "0" * 39 + "1",
            "after": SHA,
            "repository": {"full_name": "acme/models", "html_url": "https://github.com/acme/x"},
            "pusher": {"name": "alice"},
            "compare": "https://github.com/acme/models/compare/a...b",
            "commits": [{"id": SHA, "added": [], "modified": list(paths), "removed": []}],
        }
    )


def _signed(secret: str, body: bytes) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-GitHub-Event": "push",
        "X-Hub-Signature-256": f"sha256={digest}",
        "Content-Type": "application/json",
    }


def _create(client: httpx.Client, data: Path, **git: Any) -> str:
    body = {
        "name": "on-push",
        "git": {"repository": "acme/models", **git},
        "target": training(data),
    }
    answer = client.post("/api/v1/triggers", json=body)
    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert made["hook_path"] == "/api/v1/hooks/triggers/on-push"
    assert client.get("/api/v1/triggers/on-push").json().get("secret") is None
    return str(made["secret"])


def test_a_signed_github_push_starts_a_job_with_its_commit(
    client: httpx.Client, services: Services, data: Path
) -> None:
    secret = _create(client, data, branches=["main", "release/*"], paths=["src/*"])
    body = _github()
    answer = client.post(
        "/api/v1/hooks/triggers/on-push", content=body, headers=_signed(secret, body)
    )
    assert answer.status_code == 200, answer.text
    fired = answer.json()["fired"]
    assert fired["status"] == "fired" and fired["cause"]["sha"] == SHA
    job = services.jobs.get(ROOT, fired["job"])
    env, tags = job.spec["environment"], job.spec["tags"]
    assert env["DOCKYARD_TRIGGER_SHA"] == SHA
    assert env["DOCKYARD_TRIGGER_BRANCH"] == "main"
    assert env["DOCKYARD_TRIGGER_REPOSITORY"] == "acme/models"
    assert orjson.loads(env["DOCKYARD_TRIGGER_PATHS"]) == ["src/train.py"]
    assert tags["dockyard.trigger.sha"] == SHA and tags["dockyard.trigger"] == "on-push"
    # GitHub redelivers: the same push fires once.
    again = client.post(
        "/api/v1/hooks/triggers/on-push", content=body, headers=_signed(secret, body)
    )
    assert again.json()["fired"]["firing_id"] == fired["firing_id"]
    history = client.get("/api/v1/triggers/on-push/firings").json()["firings"]
    assert len(history) == 1
    types = [e.type for e in services.events.read(types=["trigger.*"])]
    assert types == ["trigger.created", "trigger.fired"]


def test_a_bad_signature_is_401_and_an_audit_event(
    client: httpx.Client, services: Services, data: Path
) -> None:
    secret = _create(client, data)
    body = _github()
    forged = _signed("not-the-secret-at-all", body)
    answer = client.post("/api/v1/hooks/triggers/on-push", content=body, headers=forged)
    assert answer.status_code == 401
    assert "X-Hub-Signature-256" in answer.json()["error"]["message"]
    tampered = _signed(secret, body)
    answer = client.post("/api/v1/hooks/triggers/on-push", content=body + b" ", headers=tampered)
    assert answer.status_code == 401
    unsigned = client.post(
        "/api/v1/hooks/triggers/on-push",
        content=body,
        headers={"X-GitHub-Event": "push", "Content-Type": "application/json"},
    )
    assert unsigned.status_code == 401
    nobody = client.post("/api/v1/hooks/triggers/nope", content=body, headers=tampered)
    assert nobody.status_code == 401
    denied = services.events.read(types=["trigger.hook_denied"])
    assert [(e.resource_id, e.outcome) for e in denied] == [
        ("on-push", "denied"),
        ("on-push", "denied"),
        ("on-push", "denied"),
        ("nope", "denied"),
    ]
    assert services.triggers.history(ROOT, "on-push") == []


def test_a_flood_of_refused_hooks_is_recorded_a_few_times_a_second_at_most(
    client: httpx.Client, services: Services, data: Path
) -> None:
    """Hooks are open to anyone: each refused post must not cost a row in the event log."""
    _create(client, data)
    body = _github()
    forged = _signed("not-the-secret-at-all", body)
    started = time.monotonic()
    for i in range(60):
        name = "on-push" if i % 2 else f"nope-{i}"
        answer = client.post(f"/api/v1/hooks/triggers/{name}", content=body, headers=forged)
        assert answer.status_code == 401
    elapsed = time.monotonic() - started
    denied = services.events.read(types=["trigger.hook_denied"], limit=1000)
    assert 5 <= len(denied) <= 5 + 5 * elapsed + 1, (len(denied), elapsed)


@pytest.mark.parametrize(
    ("branch", "paths", "why"),
    [
        ("feature/x", ("src/train.py",), "branch feature/x matches none"),
        ("main", ("docs/index.md",), "no changed file matches"),
    ],
)
def test_branch_and_path_filters(
    client: httpx.Client,
    services: Services,
    data: Path,
    branch: str,
    paths: tuple[str, ...],
    why: str,
) -> None:
    secret = _create(client, data, branches=["main", "release/*"], paths=["src/*"])
    body = _github(branch, paths)
    answer = client.post(
        "/api/v1/hooks/triggers/on-push", content=body, headers=_signed(secret, body)
    )
    assert answer.status_code == 200
    assert answer.json()["fired"] is None and why in answer.json()["ignored"]
    assert services.triggers.history(ROOT, "on-push") == []
    released = _github("release/2", paths=("src/model.py",))
    fired = client.post(
        "/api/v1/hooks/triggers/on-push", content=released, headers=_signed(secret, released)
    )
    assert fired.json()["fired"]["cause"]["branch"] == "release/2"


def test_a_gitlab_push_with_its_token(client: httpx.Client, services: Services, data: Path) -> None:
    secret = _create(client, data)
    body = orjson.dumps(
        {
            "object_kind": "push",
            "ref": "refs/heads/main",
            "before": "a" * 40,
            "after": SHA,
            "checkout_sha": SHA,
            "user_username": "bob",
            "project": {"path_with_namespace": "acme/models", "web_url": "https://gitlab/x"},
            "commits": [{"id": SHA, "added": ["train.py"], "modified": [], "removed": []}],
        }
    )
    headers = {"X-Gitlab-Event": "Push Hook", "Content-Type": "application/json"}
    wrong = client.post(
        "/api/v1/hooks/triggers/on-push",
        content=body,
        headers={**headers, "X-Gitlab-Token": "guess-guess-guess"},
    )
    assert wrong.status_code == 401
    answer = client.post(
        "/api/v1/hooks/triggers/on-push",
        content=body,
        headers={**headers, "X-Gitlab-Token": secret},
    )
    assert answer.status_code == 200, answer.text
    cause = answer.json()["fired"]["cause"]
    assert (cause["provider"], cause["sha"], cause["pusher"]) == ("gitlab", SHA, "bob")


def test_a_ping_and_a_malformed_push(client: httpx.Client, data: Path) -> None:
    secret = _create(client, data)
    ping = b'{"zen": "Keep it logically awesome."}'
    headers = {**_signed(secret, ping), "X-GitHub-Event": "ping"}
    answer = client.post("/api/v1/hooks/triggers/on-push", content=ping, headers=headers)
    assert answer.status_code == 200 and "not a push" in answer.json()["ignored"]
    bad = b'{"ref": 3}'
    answer = client.post(
        "/api/v1/hooks/triggers/on-push", content=bad, headers=_signed(secret, bad)
    )
    assert answer.status_code == 400 and answer.json()["error"]["field"] == "body"
    # Commits and a pusher in shapes no provider sends: a push without paths, not a 500
    for odd in (
        {"commits": 5},
        {"commits": [{"added": 5, "modified": {"a": 1}, "removed": [None, 3]}]},
        {"pusher": "alice"},
    ):
        body = orjson.dumps({**orjson.loads(_github()), **odd})
        answer = client.post(
            "/api/v1/hooks/triggers/on-push", content=body, headers=_signed(secret, body)
        )
        assert answer.status_code == 200, (odd, answer.text)
    form = client.post(
        "/api/v1/hooks/triggers/on-push",
        content=b"payload=x",
        headers={
            **_signed(secret, b"payload=x"),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert form.status_code == 400  # a form is taken (GitHub's option), its payload not JSON
    assert "not JSON" in form.json()["error"]["message"]
    huge = b'{"ref": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    answer = client.post(
        "/api/v1/hooks/triggers/on-push", content=huge, headers=_signed(secret, huge)
    )
    assert answer.status_code == 413 and answer.json()["error"]["field"] == "body"


def test_a_github_push_sent_as_a_form_starts_a_job(
    client: httpx.Client, services: Services, data: Path
) -> None:
    from urllib.parse import urlencode

    secret = _create(client, data, branches=["main"])
    form = urlencode({"payload": _github().decode()}).encode()
    headers = {
        **_signed(secret, form),  # GitHub signs the form as sent
        "Content-Type": "application/x-www-form-urlencoded",
    }
    answer = client.post("/api/v1/hooks/triggers/on-push", content=form, headers=headers)
    assert answer.status_code == 200, answer.text
    fired = answer.json()["fired"]
    assert fired["status"] == "fired" and fired["cause"]["sha"] == SHA
    assert services.jobs.get(ROOT, fired["job"]).spec["environment"]["DOCKYARD_TRIGGER_SHA"] == SHA
    unsigned = {**headers, "X-Hub-Signature-256": _signed(secret, _github())["X-Hub-Signature-256"]}
    forged = client.post("/api/v1/hooks/triggers/on-push", content=form, headers=unsigned)
    assert forged.status_code == 401  # the JSON's signature does not cover the form
    junk = urlencode({"other": "1"}).encode()
    bad = client.post(
        "/api/v1/hooks/triggers/on-push",
        content=junk,
        headers={**_signed(secret, junk), "Content-Type": headers["Content-Type"]},
    )
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "payload"
