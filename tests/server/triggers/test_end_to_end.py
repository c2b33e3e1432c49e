"""Triggers against a real server process: a git push starts a job with its commit, the
server is killed and restarted while that job runs, and the work still happens once; a
schedule runs a job; each job's completion reaches a webhook."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from tests.server.notifications._receiver import Receiver, until
from tests.services.server_process import ServerProcess

from dockyard.client.http import Client

pytestmark = pytest.mark.slow

SHA = "9fceb02d0ae598e95dc970b74767f19372d61af8"
SECRET = "end-to-end-push-secret"
# The job: it notes that it ran (one line per run), then, for a push, waits for the test to
# open the gate, so the server can be restarted while it runs.
SCRIPT = """\
import os, pathlib, time
gate = pathlib.Path(os.environ["GATE"])
cause = os.environ.get("DOCKYARD_TRIGGER_SHA", "schedule")
with open(gate / "runs.log", "a") as log:
    log.write(cause + "\\n")
while cause != "schedule" and not (gate / "open").exists():
    time.sleep(0.05)
"""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver().start()
    yield made
    made.stop()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    env = {
        "DOCKYARD_DATA_ROOTS": str(tmp_path),
        "DOCKYARD_EXECUTOR_CPUS": "2",
        "DOCKYARD_WEBHOOK_ALLOW_PRIVATE": "true",
        "DOCKYARD_TRIGGER_SCHEDULE_INTERVAL_S": "0.5",
    }
    proc = ServerProcess(tmp_path / "home", env=env)
    proc.start()
    yield proc
    proc.stop()


def _job(client: Client, name: str, timeout: float = 90) -> dict[str, Any]:
    def ended() -> dict[str, Any] | None:
        job: dict[str, Any] = client.request("GET", f"/api/v1/jobs/{name}")
        return job if job["status"] in ("Completed", "Failed", "Stopped") else None

    found: dict[str, Any] = until(ended, timeout, f"job {name} ending")
    return found


def _completions(receiver: Receiver) -> list[str]:
    """The jobs whose completion the webhook was told of."""
    done = []
    for r in receiver.ok():
        event = orjson.loads(r.body)["event"]
        if event["type"] == "job.status_changed" and event["body"]["status"] == "Completed":
            done.append(event["resource_id"])
    return done


def test_push_restart_schedule_webhook(
    server: ServerProcess, receiver: Receiver, tmp_path: Path
) -> None:
    scripts, gate = tmp_path / "scripts", tmp_path / "gate"
    scripts.mkdir()
    gate.mkdir()
    (scripts / "gate.py").write_text(SCRIPT)
    spec = {
        "entry_point": "gate.py",
        "source_dir": str(scripts),
        "environment": {"GATE": str(gate)},
        "tags": {"commit": "{{trigger.sha}}"},
    }
    client = Client(server.url, retry_for=30)
    client.request(
        "POST",
        "/api/v1/subscriptions",
        json={
            "events": ["job.status_changed"],
            "endpoint": receiver.url,
            "skip_confirmation": True,
        },
    )
    client.request(
        "POST",
        "/api/v1/triggers",
        json={
            "name": "on-push",
            "git": {"repository": "acme/models", "branches": ["main"]},
            "target": {"kind": "training", "spec": spec},
            "secret": SECRET,
        },
    )
    # Every minute: its first slot comes within a minute, while the push's job runs.
    scheduled = {**spec, "tags": {"slot": "{{trigger.slot}}"}}
    client.request(
        "POST",
        "/api/v1/triggers",
        json={
            "name": "minutely",
            "schedule": {"cron": "* * * * *"},
            "target": {"kind": "training", "spec": scheduled},
        },
    )
    push = orjson.dumps(
        {
            "ref": "refs/heads/main",
            "before": "0" * 39 + "1",
            "after": SHA,
            "repository": {"full_name": "acme/models"},
            "pusher": {"name": "alice"},
            "commits": [{"id": SHA, "added": [], "modified": ["train.py"], "removed": []}],
        }
    )
    signature = "sha256=" + hmac.new(SECRET.encode(), push, hashlib.sha256).hexdigest()
    headers = {
        "X-GitHub-Event": "push",
        "X-Hub-Signature-256": signature,
        "Content-Type": "application/json",
    }
    answer = httpx.post(
        f"{server.url}/api/v1/hooks/triggers/on-push", content=push, headers=headers
    )
    assert answer.status_code == 200, answer.text
    job = answer.json()["fired"]["job"]
    until((gate / "runs.log").exists, 60, "the pushed job starting")
    server.kill()  # a crash while the job runs
    server.start()
    redelivered = httpx.post(  # GitHub redelivers the push it saw no answer to
        f"{server.url}/api/v1/hooks/triggers/on-push", content=push, headers=headers
    )
    assert redelivered.json()["fired"]["job"] == job
    (gate / "open").touch()
    ended = _job(client, job)
    assert ended["status"] == "Completed", ended["failure_reason"]
    assert ended["spec"]["tags"]["commit"] == SHA
    assert ended["spec"]["environment"]["DOCKYARD_TRIGGER_SHA"] == SHA
    firings = client.request("GET", "/api/v1/triggers/on-push/firings")["firings"]
    assert [(f["status"], f["job"]) for f in firings] == [("fired", job)]

    def scheduled_job() -> str | None:
        fired = client.request("GET", "/api/v1/triggers/minutely/firings")["firings"]
        return next((f["job"] for f in reversed(fired) if f["status"] == "fired"), None)

    slot_job = until(scheduled_job, 75, "the first slot firing")
    slot_ended = _job(client, slot_job)
    assert slot_ended["status"] == "Completed", slot_ended["failure_reason"]
    assert slot_ended["spec"]["tags"]["slot"].endswith(":00+00:00")
    until(lambda: {job, slot_job} <= set(_completions(receiver)), 30, "both completions")
    runs = (gate / "runs.log").read_text().split()
    assert runs.count(SHA) == 1  # the pushed work ran once, across the restart
    assert _completions(receiver).count(job) == 1
    client.request("PATCH", "/api/v1/triggers/minutely", json={"enabled": False})
    client.close()
