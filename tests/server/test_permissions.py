"""The permission matrix: every route of the app, asked by every kind of caller.

The table below gives each route (method and path template) a rule; the test walks the app's
own route table, so a route added without a rule here fails. For every route, callers that the
rule refuses must get exactly 401 (no credentials) or 403 (signed in, not allowed), asked while
the resource still exists, so a 404 cannot hide a missing check; callers it allows must get
neither.

Callers: ``anonymous`` (no credentials); ``viewer`` (viewer role, granted edit everywhere: the
role caps it at read); ``outsider`` (member, no grants); ``reader``, ``editor`` (members with
read / edit grants on the seeded resources); ``owner`` (the member who created them) and
``admin``. The server runs with ``default_permission=none``, so nothing is readable by default.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.routing import BaseRoute

from dockyard.models import save_model
from dockyard.server import create_app
from dockyard.server._inprocess import InProcessTransport
from dockyard.server.params._secrets import new_key
from dockyard.settings import Settings

CALLERS = ("anonymous", "viewer", "outsider", "reader", "editor", "owner", "admin")
ALLOWED: dict[str, frozenset[str]] = {
    "public": frozenset(CALLERS),
    "signed_in": frozenset(CALLERS) - {"anonymous"},
    "member": frozenset({"outsider", "reader", "editor", "owner", "admin"}),
    "admin": frozenset({"admin"}),
    "read": frozenset({"viewer", "reader", "editor", "owner", "admin"}),
    "edit": frozenset({"editor", "owner", "admin"}),
    "manage": frozenset({"owner", "admin"}),
    "self": frozenset({"owner", "admin"}),  # the owner's own account or token
    # Creating something that serves a model: a member who may read that model.
    "member_reading": frozenset({"reader", "editor", "owner", "admin"}),
    # Deciding on a version's approval: edit permission, and not its author (the owner).
    "edit_not_author": frozenset({"editor", "admin"}),
    # What only a job's runner does, with the token it was started with: no account may.
    "runner": frozenset(),
}
PASSWORD = "correct horse battery"
NAP = '{"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 3600, "End": true}}}'
HOOK_SECRET = "a-trigger-secret-for-the-matrix"


@dataclass
class World:
    """Resources seeded for one route, named uniquely, owned by ``owner``."""

    experiment_id: str = ""
    experiment: str = ""
    run_id: str = ""
    model: str = ""
    endpoint: str = ""
    job: str = ""
    token_id: str = ""
    access_key_id: str = ""
    victim: str = ""
    data_uri: str = ""  # an upload: the owner's own area
    run_data_uri: str = ""  # a file in the run's artifacts, by its store URI
    param: str = ""  # a String parameter
    secret: str = ""  # a SecureString parameter
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    """How to ask a route: path (formatted with the world), query, JSON or raw body."""

    rule: str
    path: str
    params: Callable[[World], dict[str, Any]] | None = None
    json: Callable[[World], Any] | None = None
    content: bytes | None = None
    headers: dict[str, str] | None = None  # besides the caller's own credentials


def _q(**kw: Any) -> Callable[[World], dict[str, Any]]:
    return lambda w: {k: (v.format(w=w) if isinstance(v, str) else v) for k, v in kw.items()}


def _j(**kw: Any) -> Callable[[World], dict[str, Any]]:
    return _q(**kw)


RUN = "{w.run_id}"
MV = "/api/v1/registered-models/{w.model}"
MLF = "/api/2.0/mlflow"
ART = "/api/2.0/mlflow-artifacts/artifacts"
RUN_KEY = "{w.experiment_id}/{w.run_id}/artifacts"
LM = "{w.extra[logged_model]}"
MON = "/api/v1/monitoring-schedules/mon-{w.job}"

ROUTES: dict[tuple[str, str], Call] = {
    # -- open, or any signed-in caller ---------------------------------------------------------
    ("GET", "/healthz"): Call("public", "/healthz"),
    # The web UI's page and files hold no data: its sign-in form must load for anyone.
    ("GET", "/"): Call("public", "/"),
    ("GET", "/ui/{path:path}"): Call("public", "/ui/app.js"),
    ("POST", "/api/v1/session"): Call(
        "public", "/api/v1/session", json=_j(username="outsider", password=PASSWORD)
    ),
    ("GET", "/metrics"): Call("signed_in", "/metrics"),
    ("GET", "/api/v1/openapi.json"): Call("signed_in", "/api/v1/openapi.json"),
    ("GET", "/api/v1/docs"): Call("signed_in", "/api/v1/docs"),
    ("GET", "/api/v1/docs/assets/{name}"): Call(
        "signed_in", "/api/v1/docs/assets/swagger-ui-bundle.js"
    ),
    ("GET", "/api/v1/whoami"): Call("signed_in", "/api/v1/whoami"),
    # Whether one is signed in: answered to anyone (the sign-in page asks it first).
    ("GET", "/api/v1/session"): Call("public", "/api/v1/session"),
    ("POST", "/api/v1/specs/parse"): Call(
        "signed_in", "/api/v1/specs/parse", json=_j(text="name: x")
    ),
    ("DELETE", "/api/v1/session"): Call("signed_in", "/api/v1/session"),
    ("GET", "/api/v1/events"): Call("signed_in", "/api/v1/events"),
    ("GET", "/api/v1/events/stream"): Call(
        "signed_in", "/api/v1/events/stream", params=_q(after=0, duration_s=0.2)
    ),
    ("POST", "/api/v1/tokens"): Call("signed_in", "/api/v1/tokens", json=_j(name="t")),
    ("GET", "/api/v1/tokens"): Call("signed_in", "/api/v1/tokens"),
    ("DELETE", "/api/v1/tokens/{token_id}"): Call("self", "/api/v1/tokens/{w.token_id}"),
    ("POST", "/api/v1/access-keys"): Call("signed_in", "/api/v1/access-keys", json=_j(name="k")),
    ("GET", "/api/v1/access-keys"): Call("signed_in", "/api/v1/access-keys"),
    ("DELETE", "/api/v1/access-keys/{access_key_id}"): Call(
        "self", "/api/v1/access-keys/{w.access_key_id}"
    ),
    # -- accounts ------------------------------------------------------------------------------
    ("POST", "/api/v1/users"): Call("admin", "/api/v1/users", json=_j(name="new-{w.job}")),
    ("GET", "/api/v1/users"): Call("admin", "/api/v1/users"),
    ("GET", "/api/v1/users/{name}"): Call("self", "/api/v1/users/owner"),
    ("PATCH", "/api/v1/users/{name}"): Call(
        "self", "/api/v1/users/owner", json=_j(password=PASSWORD)
    ),
    ("DELETE", "/api/v1/users/{name}"): Call("admin", "/api/v1/users/{w.victim}"),
    ("PUT", "/api/v1/grants"): Call(
        "manage",
        "/api/v1/grants",
        json=_j(kind="experiment", resource="{w.experiment_id}", user="outsider", level="read"),
    ),
    ("GET", "/api/v1/grants"): Call(
        "read", "/api/v1/grants", params=_q(kind="experiment", resource="{w.experiment_id}")
    ),
    # -- experiments and runs ------------------------------------------------------------------
    ("POST", "/api/v1/experiments"): Call(
        "member", "/api/v1/experiments", json=_j(name="n-{w.job}")
    ),
    ("GET", "/api/v1/experiments"): Call("signed_in", "/api/v1/experiments"),
    ("GET", "/api/v1/experiments/by-name/{name:path}"): Call(
        "read", "/api/v1/experiments/by-name/{w.experiment}"
    ),
    # Get or create: the world's experiment exists, so reading it is what is asked.
    ("PUT", "/api/v1/experiments/by-name/{name:path}"): Call(
        "read", "/api/v1/experiments/by-name/{w.experiment}"
    ),
    ("GET", "/api/v1/experiments/{experiment_id}"): Call(
        "read", "/api/v1/experiments/{w.experiment_id}"
    ),
    ("PATCH", "/api/v1/experiments/{experiment_id}"): Call(
        "edit", "/api/v1/experiments/{w.experiment_id}", json=_j(name="{w.experiment}-2")
    ),
    ("DELETE", "/api/v1/experiments/{experiment_id}"): Call(
        "manage", "/api/v1/experiments/{w.experiment_id}"
    ),
    ("POST", "/api/v1/experiments/{experiment_id}/restore"): Call(
        "manage", "/api/v1/experiments/{w.experiment_id}/restore"
    ),
    ("PUT", "/api/v1/experiments/{experiment_id}/tags"): Call(
        "edit", "/api/v1/experiments/{w.experiment_id}/tags", json=_j(key="k", value="v")
    ),
    ("DELETE", "/api/v1/experiments/{experiment_id}/tags/{key:path}"): Call(
        "edit", "/api/v1/experiments/{w.experiment_id}/tags/k"
    ),
    ("POST", "/api/v1/runs"): Call(
        "edit", "/api/v1/runs", json=_j(experiment_id="{w.experiment_id}")
    ),
    ("POST", "/api/v1/runs/search"): Call(
        "read", "/api/v1/runs/search", json=lambda w: {"experiment_ids": [w.experiment_id]}
    ),
    ("POST", "/api/v1/runs/count"): Call(
        "read",
        "/api/v1/runs/count",
        json=lambda w: {"experiment_ids": [w.experiment_id], "group_by": "status"},
    ),
    ("GET", "/api/v1/runs/compare"): Call("read", "/api/v1/runs/compare", params=_q(run_ids=RUN)),
    ("GET", "/api/v1/runs/metric-series"): Call(
        "read", "/api/v1/runs/metric-series", params=_q(run_ids=RUN, key="m")
    ),
    ("GET", "/api/v1/runs/{run_id}"): Call("read", f"/api/v1/runs/{RUN}"),
    # Runs are their author's (owner here); editors may add runs but not change others'.
    ("PATCH", "/api/v1/runs/{run_id}"): Call(
        "manage", f"/api/v1/runs/{RUN}", json=_j(run_name="x")
    ),
    ("DELETE", "/api/v1/runs/{run_id}"): Call("manage", f"/api/v1/runs/{RUN}"),
    ("POST", "/api/v1/runs/{run_id}/restore"): Call("manage", f"/api/v1/runs/{RUN}/restore"),
    ("POST", "/api/v1/runs/{run_id}/batch"): Call(
        "manage",
        f"/api/v1/runs/{RUN}/batch",
        json=lambda w: {"metrics": [{"key": "m", "value": 1.0, "timestamp": 1}]},
    ),
    ("DELETE", "/api/v1/runs/{run_id}/tags/{key:path}"): Call(
        "manage", f"/api/v1/runs/{RUN}/tags/mlflow.runName"
    ),
    ("POST", "/api/v1/runs/{run_id}/inputs"): Call(
        "manage", f"/api/v1/runs/{RUN}/inputs", json=lambda w: {"datasets": []}
    ),
    ("GET", "/api/v1/runs/{run_id}/metrics/{key:path}"): Call(
        "read", f"/api/v1/runs/{RUN}/metrics/m"
    ),
    ("GET", "/api/v1/runs/{run_id}/metric-series/{key:path}"): Call(
        "read", f"/api/v1/runs/{RUN}/metric-series/m"
    ),
    ("GET", "/api/v1/runs/{run_id}/artifacts"): Call("read", f"/api/v1/runs/{RUN}/artifacts"),
    ("PUT", "/api/v1/runs/{run_id}/artifacts/{path:path}"): Call(
        "manage", f"/api/v1/runs/{RUN}/artifacts/notes.txt", content=b"hello"
    ),
    ("GET", "/api/v1/runs/{run_id}/artifacts/{path:path}"): Call(
        "read", f"/api/v1/runs/{RUN}/artifacts/model/MLmodel"
    ),
    ("PUT", "/api/v1/data/{path:path}"): Call(
        "member", "/api/v1/data/x/{w.job}.csv", content=b"1,2\n"
    ),
    ("GET", "/api/v1/data"): Call("member", "/api/v1/data", params=_q(prefix="x")),
    # -- jobs ----------------------------------------------------------------------------------
    ("POST", "/api/v1/jobs/training"): Call(
        "edit",
        "/api/v1/jobs/training",
        json=lambda w: {
            "algorithm": "xgboost",
            "experiment": w.experiment,
            "hyperparameters": {"num_round": "2", "objective": "reg:squarederror"},
            "inputs": {"train": {"uri": w.run_data_uri, "content_type": "text/csv"}},
        },
    ),
    ("POST", "/api/v1/jobs/transform"): Call(
        "edit",
        "/api/v1/jobs/transform",
        json=lambda w: {
            "model_uri": f"models:/{w.model}/1",
            "experiment": w.experiment,
            "input": {"uri": w.run_data_uri, "content_type": "text/csv"},
        },
    ),
    ("GET", "/api/v1/jobs"): Call("signed_in", "/api/v1/jobs"),
    ("GET", "/api/v1/jobs/{name}"): Call("read", "/api/v1/jobs/{w.job}"),
    ("GET", "/api/v1/jobs/{name}/logs"): Call("read", "/api/v1/jobs/{w.job}/logs"),
    ("GET", "/api/v1/jobs/{name}/outputs"): Call("read", "/api/v1/jobs/{w.job}/outputs"),
    ("GET", "/api/v1/jobs/{name}/outputs/{path:path}"): Call(
        "read", "/api/v1/jobs/{w.job}/outputs/x.csv.out"
    ),
    ("POST", "/api/v1/jobs/{name}/stop"): Call("manage", "/api/v1/jobs/{w.job}/stop"),
    ("POST", "/api/v1/jobs/{name}/resume"): Call("manage", "/api/v1/jobs/{w.job}/resume"),
    ("POST", "/api/v1/jobs/{name}/launch"): Call("runner", "/api/v1/jobs/{w.job}/launch"),
    ("POST", "/api/v1/jobs/{name}/reports"): Call(
        "runner", "/api/v1/jobs/{w.job}/reports", json=_j(events=[], next_offset=0)
    ),
    ("POST", "/api/v1/jobs/{name}/logs"): Call(
        "runner", "/api/v1/jobs/{w.job}/logs", params=_q(offset=0), content=b"forged"
    ),
    # -- notifications: members publish to their own topics, admins manage subscriptions ----
    ("GET", "/api/v1/topics"): Call("signed_in", "/api/v1/topics"),
    ("POST", "/api/v1/topics"): Call("member", "/api/v1/topics", json=_j(name="t-{w.job}")),
    ("DELETE", "/api/v1/topics/{name}"): Call("admin", "/api/v1/topics/none"),
    # A topic is its creator's: others, members included, may not speak in its name.
    ("POST", "/api/v1/topics/{name}/publish"): Call(
        "self", "/api/v1/topics/topic-{w.job}/publish", json=_j(message="m")
    ),
    ("POST", "/api/v1/subscriptions"): Call(
        "admin",
        "/api/v1/subscriptions",
        json=lambda w: {"events": ["job.*"], "endpoint": "https://hooks.example/x"},
    ),
    ("GET", "/api/v1/subscriptions"): Call("admin", "/api/v1/subscriptions"),
    ("GET", "/api/v1/subscriptions/{ident}"): Call("admin", "/api/v1/subscriptions/none"),
    ("DELETE", "/api/v1/subscriptions/{ident}"): Call("admin", "/api/v1/subscriptions/none"),
    ("GET", "/api/v1/subscriptions/{ident}/deliveries"): Call(
        "admin", "/api/v1/subscriptions/none/deliveries"
    ),
    ("GET", "/api/v1/subscriptions/{ident}/attempts"): Call(
        "admin", "/api/v1/subscriptions/none/attempts"
    ),
    ("POST", "/api/v1/subscriptions/{ident}/replay"): Call(
        "admin", "/api/v1/subscriptions/none/replay"
    ),
    ("POST", "/api/v1/subscriptions/{ident}/resend"): Call(
        "admin", "/api/v1/subscriptions/none/resend"
    ),
    # The link a confirmation message carries: its token is the credential, no account.
    ("GET", "/api/v1/confirm-subscription"): Call(
        "public", "/api/v1/confirm-subscription", params=_q(token="none.none")
    ),
    ("POST", "/api/v1/confirm-subscription"): Call(
        "public", "/api/v1/confirm-subscription", params=_q(token="none.none")
    ),
    # -- endpoints -----------------------------------------------------------------------------
    ("POST", "/api/v1/endpoints"): Call(
        "member_reading",
        "/api/v1/endpoints",
        json=lambda w: {
            "name": f"e-{w.job}"[:60],
            "variants": [{"name": "a", "model_uri": f"models:/{w.model}/1"}],
        },
    ),
    ("GET", "/api/v1/endpoints"): Call("signed_in", "/api/v1/endpoints"),
    ("GET", "/api/v1/endpoints/{name}"): Call("read", "/api/v1/endpoints/{w.endpoint}"),
    ("PUT", "/api/v1/endpoints/{name}"): Call(
        "edit",
        "/api/v1/endpoints/{w.endpoint}",
        json=lambda w: {
            "name": w.endpoint,
            "variants": [{"name": "b", "model_uri": f"models:/{w.model}/1"}],
        },
    ),
    ("DELETE", "/api/v1/endpoints/{name}"): Call("manage", "/api/v1/endpoints/{w.endpoint}"),
    # A key lets its holder call the endpoint: making or revoking one is granting access.
    ("POST", "/api/v1/endpoints/{name}/keys"): Call(
        "manage", "/api/v1/endpoints/{w.endpoint}/keys"
    ),
    ("GET", "/api/v1/endpoints/{name}/keys"): Call("read", "/api/v1/endpoints/{w.endpoint}/keys"),
    ("DELETE", "/api/v1/endpoints/{name}/keys/{key_id}"): Call(
        "manage", "/api/v1/endpoints/{w.endpoint}/keys/000000000000"
    ),
    ("GET", "/api/v1/endpoints/{name}/metrics"): Call(
        "read", "/api/v1/endpoints/{w.endpoint}/metrics"
    ),
    ("GET", "/api/v1/endpoints/{name}/capture"): Call(
        "read", "/api/v1/endpoints/{w.endpoint}/capture"
    ),
    ("GET", "/api/v1/endpoints/{name}/logs"): Call("read", "/api/v1/endpoints/{w.endpoint}/logs"),
    ("GET", "/api/v1/endpoints/{name}/capture/{path:path}"): Call(
        "read", "/api/v1/endpoints/{w.endpoint}/capture/a/2026/01/01/00/x.jsonl"
    ),
    # SageMaker Runtime's InvokeEndpoint, passed on to the endpoint: calling it is reading it.
    ("POST", "/endpoints/{name}/invocations"): Call(
        "read", "/endpoints/{w.endpoint}/invocations", content=b"1,2\n"
    ),
    # -- pipelines: their creator's; a task's token is its own credential ------------------------
    ("POST", "/api/v1/pipelines"): Call(
        "member", "/api/v1/pipelines", json=lambda w: {"name": f"p2-{w.job}", "definition": NAP}
    ),
    ("GET", "/api/v1/pipelines"): Call("signed_in", "/api/v1/pipelines"),
    ("POST", "/api/v1/pipelines/validate"): Call(
        "signed_in", "/api/v1/pipelines/validate", json=lambda w: {"definition": NAP}
    ),
    ("GET", "/api/v1/pipelines/{name}"): Call("self", "/api/v1/pipelines/pipe-{w.job}"),
    ("PATCH", "/api/v1/pipelines/{name}"): Call(
        "self", "/api/v1/pipelines/pipe-{w.job}", json=lambda w: {"description": "x"}
    ),
    ("DELETE", "/api/v1/pipelines/{name}"): Call("self", "/api/v1/pipelines/pipe-{w.job}"),
    ("GET", "/api/v1/pipelines/{name}/tags"): Call("self", "/api/v1/pipelines/pipe-{w.job}/tags"),
    ("PATCH", "/api/v1/pipelines/{name}/tags"): Call(
        "self", "/api/v1/pipelines/pipe-{w.job}/tags", json=lambda w: {"tags": {"k": "v"}}
    ),
    ("DELETE", "/api/v1/pipelines/{name}/tags"): Call(
        "self", "/api/v1/pipelines/pipe-{w.job}/tags?key=k"
    ),
    ("POST", "/api/v1/pipelines/{name}/executions"): Call(
        "self", "/api/v1/pipelines/pipe-{w.job}/executions", json=lambda w: {"input": "{}"}
    ),
    ("GET", "/api/v1/pipelines/{name}/executions"): Call(
        "self", "/api/v1/pipelines/pipe-{w.job}/executions"
    ),
    ("GET", "/api/v1/pipelines/{name}/executions/{execution}"): Call(
        "self", "/api/v1/pipelines/pipe-{w.job}/executions/run"
    ),
    ("GET", "/api/v1/pipelines/{name}/executions/{execution}/history"): Call(
        "self", "/api/v1/pipelines/pipe-{w.job}/executions/run/history"
    ),
    ("GET", "/api/v1/pipelines/{name}/executions/{execution}/definition"): Call(
        "self", "/api/v1/pipelines/pipe-{w.job}/executions/run/definition"
    ),
    ("POST", "/api/v1/pipelines/{name}/executions/{execution}/stop"): Call(
        "self", "/api/v1/pipelines/pipe-{w.job}/executions/run/stop"
    ),
    ("POST", "/api/v1/pipelines/{name}/executions/{execution}/redrive"): Call(
        "self", "/api/v1/pipelines/pipe-{w.job}/executions/run/redrive"
    ),
    ("POST", "/api/v1/pipelines/tasks/success"): Call(
        "signed_in",
        "/api/v1/pipelines/tasks/success",
        json=lambda w: {"task_token": "unknown", "output": "{}"},
    ),
    ("POST", "/api/v1/pipelines/tasks/failure"): Call(
        "signed_in", "/api/v1/pipelines/tasks/failure", json=lambda w: {"task_token": "unknown"}
    ),
    ("POST", "/api/v1/pipelines/tasks/heartbeat"): Call(
        "signed_in", "/api/v1/pipelines/tasks/heartbeat", json=lambda w: {"task_token": "unknown"}
    ),
    # The AWS JSON protocol (boto3's stepfunctions client): actions decide as the routes above.
    ("POST", "/"): Call(
        "signed_in",
        "/",
        content=b"{}",
        headers={
            "X-Amz-Target": "AWSStepFunctions.ListStateMachines",
            "Content-Type": "application/x-amz-json-1.0",
        },
    ),
    # -- triggers: their creator's; hooks answer to the trigger's secret, not to a token -------
    ("POST", "/api/v1/triggers"): Call(
        "member",
        "/api/v1/triggers",
        json=lambda w: {**w.extra["trigger"], "name": f"t-{w.job}"},
    ),
    ("GET", "/api/v1/triggers"): Call("signed_in", "/api/v1/triggers"),
    ("GET", "/api/v1/triggers/{name}"): Call("self", "/api/v1/triggers/trig-{w.job}"),
    ("PATCH", "/api/v1/triggers/{name}"): Call(
        "self", "/api/v1/triggers/trig-{w.job}", json=lambda w: {"cooldown_s": 1}
    ),
    ("DELETE", "/api/v1/triggers/{name}"): Call("self", "/api/v1/triggers/trig-{w.job}"),
    ("POST", "/api/v1/triggers/{name}/fire"): Call("self", "/api/v1/triggers/trig-{w.job}/fire"),
    ("GET", "/api/v1/triggers/{name}/firings"): Call(
        "self", "/api/v1/triggers/trig-{w.job}/firings"
    ),
    ("POST", "/api/v1/hooks/triggers/{name}"): Call(
        "public",
        "/api/v1/hooks/triggers/trig-{w.job}",
        content=b'{"ref": "refs/heads/main", "after": "ab", "project": {}}',
        headers={
            "X-Gitlab-Event": "Push Hook",
            "X-Gitlab-Token": HOOK_SECRET,
            "Content-Type": "application/json",
        },
    ),
    # -- tuning jobs: their experiment's; stopping one is its creator's or a manager's --------
    ("POST", "/api/v1/tuning-jobs"): Call(
        "edit",
        "/api/v1/tuning-jobs",
        json=lambda w: {
            **w.extra["tuning"],
            "name": f"t-{w.job}",
            "training_job": {
                **w.extra["tuning"]["training_job"],
                "inputs": {"train": {"uri": w.run_data_uri, "content_type": "text/csv"}},
            },
        },
    ),
    ("GET", "/api/v1/tuning-jobs"): Call("signed_in", "/api/v1/tuning-jobs"),
    ("GET", "/api/v1/tuning-jobs/{name}"): Call("read", "/api/v1/tuning-jobs/tune-{w.job}"),
    ("GET", "/api/v1/tuning-jobs/{name}/trials"): Call(
        "read", "/api/v1/tuning-jobs/tune-{w.job}/trials"
    ),
    ("GET", "/api/v1/tuning-jobs/{name}/importance"): Call(
        "read", "/api/v1/tuning-jobs/tune-{w.job}/importance"
    ),
    ("POST", "/api/v1/tuning-jobs/{name}/stop"): Call(
        "manage", "/api/v1/tuning-jobs/tune-{w.job}/stop"
    ),
    # -- monitoring schedules: their experiment's; creating one reads its endpoint ------------
    ("POST", "/api/v1/monitoring-schedules"): Call(
        "edit",
        "/api/v1/monitoring-schedules",
        json=lambda w: {**w.extra["monitoring"], "name": f"m-{w.job}"},
    ),
    ("GET", "/api/v1/monitoring-schedules"): Call("signed_in", "/api/v1/monitoring-schedules"),
    ("GET", "/api/v1/monitoring-schedules/{name}"): Call("read", MON),
    ("PATCH", "/api/v1/monitoring-schedules/{name}"): Call(
        "manage", MON, json=_j(schedule="0 * * * *")
    ),
    ("DELETE", "/api/v1/monitoring-schedules/{name}"): Call("manage", MON),
    ("POST", "/api/v1/monitoring-schedules/{name}/run"): Call("edit", MON + "/run", json=_j()),
    ("GET", "/api/v1/monitoring-schedules/{name}/executions"): Call("read", MON + "/executions"),
    ("GET", "/api/v1/monitoring-schedules/{name}/executions/{execution_id}"): Call(
        "read", MON + "/executions/{w.extra[execution]}"
    ),
    ("GET", "/api/v1/monitoring-schedules/{name}/executions/{execution_id}/report"): Call(
        "read", MON + "/executions/{w.extra[execution]}/report"
    ),
    ("GET", "/api/v1/monitoring-schedules/{name}/violations"): Call("read", MON + "/violations"),
    ("POST", "/api/v1/monitoring-schedules/{name}/ground-truth"): Call(
        "edit", MON + "/ground-truth", content=b'{"inference_id": "r1", "label": 1}\n'
    ),
    # -- parameters ----------------------------------------------------------------------------
    ("POST", "/api/v1/params"): Call(
        "edit", "/api/v1/params", json=_j(name="{w.param}", value="2", overwrite=True)
    ),
    ("GET", "/api/v1/params"): Call("signed_in", "/api/v1/params", params=_q(path="/")),
    ("GET", "/api/v1/params/value"): Call(
        "read", "/api/v1/params/value", params=_q(name="{w.param}")
    ),
    ("GET", "/api/v1/params/history"): Call(
        "read", "/api/v1/params/history", params=_q(name="{w.param}")
    ),
    ("POST", "/api/v1/params/labels"): Call(
        "edit", "/api/v1/params/labels", json=lambda w: {"name": w.param, "labels": ["prod"]}
    ),
    ("DELETE", "/api/v1/params"): Call("manage", "/api/v1/params", params=_q(name="{w.param}")),
    # -- registry ------------------------------------------------------------------------------
    ("POST", "/api/v1/registered-models"): Call(
        "member", "/api/v1/registered-models", json=_j(name="m-{w.job}")
    ),
    ("GET", "/api/v1/registered-models"): Call("signed_in", "/api/v1/registered-models"),
    ("GET", "/api/v1/registered-models/{name}"): Call("read", MV),
    ("PATCH", "/api/v1/registered-models/{name}"): Call("edit", MV, json=_j(description="d")),
    ("DELETE", "/api/v1/registered-models/{name}"): Call("manage", MV),
    ("PUT", "/api/v1/registered-models/{name}/tags/{key:path}"): Call(
        "edit", MV + "/tags/k", json=_j(value="v")
    ),
    ("DELETE", "/api/v1/registered-models/{name}/tags/{key:path}"): Call("edit", MV + "/tags/team"),
    ("POST", "/api/v1/registered-models/{name}/versions"): Call(
        "edit", MV + "/versions", json=_j(source="runs:/{w.run_id}/model")
    ),
    ("GET", "/api/v1/registered-models/{name}/versions"): Call("read", MV + "/versions"),
    ("GET", "/api/v1/registered-models/{name}/versions/{version}"): Call(
        "read", MV + "/versions/1"
    ),
    ("PATCH", "/api/v1/registered-models/{name}/versions/{version}"): Call(
        "edit", MV + "/versions/1", json=_j(description="d")
    ),
    ("DELETE", "/api/v1/registered-models/{name}/versions/{version}"): Call(
        "manage", MV + "/versions/1"
    ),
    ("PUT", "/api/v1/registered-models/{name}/versions/{version}/tags/{key:path}"): Call(
        "edit", MV + "/versions/1/tags/k", json=_j(value="v")
    ),
    ("DELETE", "/api/v1/registered-models/{name}/versions/{version}/tags/{key:path}"): Call(
        "edit", MV + "/versions/1/tags/gate"
    ),
    # The owner registered version 1: approving it is for someone else with edit permission.
    ("POST", "/api/v1/registered-models/{name}/versions/{version}/approval"): Call(
        "edit_not_author", MV + "/versions/1/approval", json=_j(status="Approved")
    ),
    ("GET", "/api/v1/registered-models/{name}/versions/{version}/approvals"): Call(
        "read", MV + "/versions/1/approvals"
    ),
    ("GET", "/api/v1/registered-models/{name}/versions/{version}/lineage"): Call(
        "read", MV + "/versions/1/lineage"
    ),
    ("GET", "/api/v1/registered-models/{name}/versions/{version}/files"): Call(
        "read", MV + "/versions/1/files"
    ),
    ("GET", "/api/v1/registered-models/{name}/versions/{version}/files/{path:path}"): Call(
        "read", MV + "/versions/1/files/MLmodel"
    ),
    ("GET", "/api/v1/registered-models/{name}/aliases/{alias}"): Call("read", MV + "/aliases/prod"),
    ("PUT", "/api/v1/registered-models/{name}/aliases/{alias}"): Call(
        "edit", MV + "/aliases/champion", json=_j(version=1)
    ),
    ("DELETE", "/api/v1/registered-models/{name}/aliases/{alias}"): Call(
        "edit", MV + "/aliases/prod"
    ),
    ("GET", "/api/v1/model-uris"): Call(
        "read", "/api/v1/model-uris", params=_q(uri="models:/{w.model}/1")
    ),
    # -- MLflow's tracking API -----------------------------------------------------------------
    ("POST", f"{MLF}/experiments/create"): Call(
        "member", f"{MLF}/experiments/create", json=_j(name="n-{w.job}")
    ),
    ("GET", f"{MLF}/experiments/get"): Call(
        "read", f"{MLF}/experiments/get", params=_q(experiment_id="{w.experiment_id}")
    ),
    ("GET", f"{MLF}/experiments/get-by-name"): Call(
        "read", f"{MLF}/experiments/get-by-name", params=_q(experiment_name="{w.experiment}")
    ),
    ("GET", f"{MLF}/experiments/search"): Call("signed_in", f"{MLF}/experiments/search"),
    ("POST", f"{MLF}/experiments/search"): Call(
        "signed_in", f"{MLF}/experiments/search", json=_j()
    ),
    ("POST", f"{MLF}/experiments/update"): Call(
        "edit",
        f"{MLF}/experiments/update",
        json=_j(experiment_id="{w.experiment_id}", new_name="{w.experiment}-x"),
    ),
    ("POST", f"{MLF}/experiments/delete"): Call(
        "manage", f"{MLF}/experiments/delete", json=_j(experiment_id="{w.experiment_id}")
    ),
    ("POST", f"{MLF}/experiments/restore"): Call(
        "manage", f"{MLF}/experiments/restore", json=_j(experiment_id="{w.experiment_id}")
    ),
    ("POST", f"{MLF}/experiments/set-experiment-tag"): Call(
        "edit",
        f"{MLF}/experiments/set-experiment-tag",
        json=_j(experiment_id="{w.experiment_id}", key="k", value="v"),
    ),
    ("POST", f"{MLF}/experiments/delete-experiment-tag"): Call(
        "edit",
        f"{MLF}/experiments/delete-experiment-tag",
        json=_j(experiment_id="{w.experiment_id}", key="k"),
    ),
    ("POST", f"{MLF}/runs/create"): Call(
        "edit", f"{MLF}/runs/create", json=_j(experiment_id="{w.experiment_id}")
    ),
    ("GET", f"{MLF}/runs/get"): Call("read", f"{MLF}/runs/get", params=_q(run_id=RUN)),
    ("POST", f"{MLF}/runs/update"): Call(
        "manage", f"{MLF}/runs/update", json=_j(run_id=RUN, status="FINISHED")
    ),
    ("POST", f"{MLF}/runs/delete"): Call("manage", f"{MLF}/runs/delete", json=_j(run_id=RUN)),
    ("POST", f"{MLF}/runs/restore"): Call("manage", f"{MLF}/runs/restore", json=_j(run_id=RUN)),
    ("POST", f"{MLF}/runs/log-metric"): Call(
        "manage", f"{MLF}/runs/log-metric", json=_j(run_id=RUN, key="m", value=1.0, timestamp=1)
    ),
    ("POST", f"{MLF}/runs/log-parameter"): Call(
        "manage", f"{MLF}/runs/log-parameter", json=_j(run_id=RUN, key="p", value="1")
    ),
    ("POST", f"{MLF}/runs/set-tag"): Call(
        "manage", f"{MLF}/runs/set-tag", json=_j(run_id=RUN, key="t", value="1")
    ),
    ("POST", f"{MLF}/runs/delete-tag"): Call(
        "manage", f"{MLF}/runs/delete-tag", json=_j(run_id=RUN, key="mlflow.runName")
    ),
    ("POST", f"{MLF}/runs/log-batch"): Call("manage", f"{MLF}/runs/log-batch", json=_j(run_id=RUN)),
    ("POST", f"{MLF}/runs/log-inputs"): Call(
        "manage", f"{MLF}/runs/log-inputs", json=_j(run_id=RUN)
    ),
    ("GET", f"{MLF}/runs/search"): Call(
        "read", f"{MLF}/runs/search", params=_q(experiment_ids="{w.experiment_id}")
    ),
    ("POST", f"{MLF}/runs/search"): Call(
        "read", f"{MLF}/runs/search", json=lambda w: {"experiment_ids": [w.experiment_id]}
    ),
    ("GET", f"{MLF}/metrics/get-history"): Call(
        "read", f"{MLF}/metrics/get-history", params=_q(run_id=RUN, metric_key="m")
    ),
    ("POST", f"{MLF}/runs/outputs"): Call(
        "manage",
        f"{MLF}/runs/outputs",
        json=lambda w: {"run_id": w.run_id, "models": [{"model_id": w.extra["logged_model"]}]},
    ),
    ("GET", f"{MLF}/artifacts/list"): Call("read", f"{MLF}/artifacts/list", params=_q(run_id=RUN)),
    # -- MLflow 3's logged models: created with edit, changed by their creator or a manager ------
    ("POST", f"{MLF}/logged-models"): Call(
        "edit", f"{MLF}/logged-models", json=_j(experiment_id="{w.experiment_id}")
    ),
    ("POST", f"{MLF}/logged-models/search"): Call(
        "read", f"{MLF}/logged-models/search", json=lambda w: {"experiment_ids": [w.experiment_id]}
    ),
    ("GET", f"{MLF}/logged-models/{{model_id}}"): Call("read", f"{MLF}/logged-models/{LM}"),
    ("GET", "/api/v1/runs/{run_id}/logged-models"): Call(
        "read", f"/api/v1/runs/{RUN}/logged-models"
    ),
    ("GET", "/api/v1/logged-models/{model_id}"): Call("read", f"/api/v1/logged-models/{LM}"),
    ("GET", "/api/v1/logged-models/{model_id}/artifacts"): Call(
        "read", f"/api/v1/logged-models/{LM}/artifacts"
    ),
    ("GET", "/api/v1/logged-models/{model_id}/artifacts/{path:path}"): Call(
        "read", f"/api/v1/logged-models/{LM}/artifacts/MLmodel"
    ),
    ("PATCH", f"{MLF}/logged-models/{{model_id}}"): Call(
        "manage", f"{MLF}/logged-models/{LM}", json=_j(status="LOGGED_MODEL_READY")
    ),
    ("DELETE", f"{MLF}/logged-models/{{model_id}}"): Call("manage", f"{MLF}/logged-models/{LM}"),
    ("POST", f"{MLF}/logged-models/{{model_id}}/params"): Call(
        "manage",
        f"{MLF}/logged-models/{LM}/params",
        json=lambda w: {"params": [{"key": "p", "value": "1"}]},
    ),
    ("PATCH", f"{MLF}/logged-models/{{model_id}}/tags"): Call(
        "manage",
        f"{MLF}/logged-models/{LM}/tags",
        json=lambda w: {"tags": [{"key": "t", "value": "1"}]},
    ),
    ("DELETE", f"{MLF}/logged-models/{{model_id}}/tags/{{tag_key:path}}"): Call(
        "manage", f"{MLF}/logged-models/{LM}/tags/k"
    ),
    ("GET", f"{MLF}/logged-models/{{model_id}}/artifacts/directories"): Call(
        "read", f"{MLF}/logged-models/{LM}/artifacts/directories"
    ),
    # -- MLflow's registry API -----------------------------------------------------------------
    ("POST", f"{MLF}/registered-models/create"): Call(
        "member", f"{MLF}/registered-models/create", json=_j(name="m-{w.job}")
    ),
    ("POST", f"{MLF}/registered-models/rename"): Call(
        "manage",
        f"{MLF}/registered-models/rename",
        json=_j(name="{w.model}", new_name="{w.model}-2"),
    ),
    ("PATCH", f"{MLF}/registered-models/update"): Call(
        "edit", f"{MLF}/registered-models/update", json=_j(name="{w.model}", description="d")
    ),
    ("DELETE", f"{MLF}/registered-models/delete"): Call(
        "manage", f"{MLF}/registered-models/delete", json=_j(name="{w.model}")
    ),
    ("GET", f"{MLF}/registered-models/get"): Call(
        "read", f"{MLF}/registered-models/get", params=_q(name="{w.model}")
    ),
    ("GET", f"{MLF}/registered-models/search"): Call(
        "signed_in", f"{MLF}/registered-models/search"
    ),
    ("POST", f"{MLF}/registered-models/get-latest-versions"): Call(
        "read", f"{MLF}/registered-models/get-latest-versions", json=_j(name="{w.model}")
    ),
    ("GET", f"{MLF}/registered-models/get-latest-versions"): Call(
        "read", f"{MLF}/registered-models/get-latest-versions", params=_q(name="{w.model}")
    ),
    ("POST", f"{MLF}/registered-models/set-tag"): Call(
        "edit", f"{MLF}/registered-models/set-tag", json=_j(name="{w.model}", key="k", value="v")
    ),
    ("DELETE", f"{MLF}/registered-models/delete-tag"): Call(
        "edit", f"{MLF}/registered-models/delete-tag", json=_j(name="{w.model}", key="team")
    ),
    ("POST", f"{MLF}/registered-models/alias"): Call(
        "edit", f"{MLF}/registered-models/alias", json=_j(name="{w.model}", alias="a", version="1")
    ),
    ("DELETE", f"{MLF}/registered-models/alias"): Call(
        "edit", f"{MLF}/registered-models/alias", json=_j(name="{w.model}", alias="prod")
    ),
    ("GET", f"{MLF}/registered-models/alias"): Call(
        "read", f"{MLF}/registered-models/alias", params=_q(name="{w.model}", alias="prod")
    ),
    ("POST", f"{MLF}/model-versions/create"): Call(
        "edit",
        f"{MLF}/model-versions/create",
        json=_j(name="{w.model}", source="runs:/{w.run_id}/model"),
    ),
    ("PATCH", f"{MLF}/model-versions/update"): Call(
        "edit",
        f"{MLF}/model-versions/update",
        json=_j(name="{w.model}", version="1", description="d"),
    ),
    ("DELETE", f"{MLF}/model-versions/delete"): Call(
        "manage", f"{MLF}/model-versions/delete", json=_j(name="{w.model}", version="1")
    ),
    ("GET", f"{MLF}/model-versions/get"): Call(
        "read", f"{MLF}/model-versions/get", params=_q(name="{w.model}", version="1")
    ),
    # A search lists only the versions the caller may read (none, for an outsider).
    ("GET", f"{MLF}/model-versions/search"): Call(
        "signed_in", f"{MLF}/model-versions/search", params=_q(filter="name='{w.model}'")
    ),
    ("GET", f"{MLF}/model-versions/get-download-uri"): Call(
        "read", f"{MLF}/model-versions/get-download-uri", params=_q(name="{w.model}", version="1")
    ),
    ("POST", f"{MLF}/model-versions/transition-stage"): Call(
        "edit",
        f"{MLF}/model-versions/transition-stage",
        json=_j(name="{w.model}", version="1", stage="Staging"),
    ),
    ("POST", f"{MLF}/model-versions/set-tag"): Call(
        "edit",
        f"{MLF}/model-versions/set-tag",
        json=_j(name="{w.model}", version="1", key="k", value="v"),
    ),
    ("DELETE", f"{MLF}/model-versions/delete-tag"): Call(
        "edit",
        f"{MLF}/model-versions/delete-tag",
        json=_j(name="{w.model}", version="1", key="gate"),
    ),
    # -- MLflow's artifact proxy ---------------------------------------------------------------
    ("GET", ART): Call("read", ART, params=_q(path=RUN_KEY)),
    ("GET", f"{ART}/registry/{{path:path}}"): Call(
        "read", ART + "/{w.extra[registry_key]}/MLmodel"
    ),
    ("GET", f"{ART}/{{path:path}}"): Call("read", f"{ART}/{RUN_KEY}/model/MLmodel"),
    ("PUT", f"{ART}/{{path:path}}"): Call("manage", f"{ART}/{RUN_KEY}/notes.txt", content=b"x"),
    ("DELETE", f"{ART}/{{path:path}}"): Call("manage", f"{ART}/{RUN_KEY}/model/MLmodel"),
    # Unknown MLflow endpoints answer ENDPOINT_NOT_FOUND, after signing in.
    ("GET", f"{MLF}/{{rest:path}}"): Call("signed_in", f"{MLF}/traces/get"),
    ("GET", "/api/2.0/mlflow-artifacts/{rest:path}"): Call(
        "signed_in", "/api/2.0/mlflow-artifacts/x"
    ),
    ("GET", "/api/3.0/mlflow/{rest:path}"): Call("signed_in", "/api/3.0/mlflow/traces/get"),
}


def _routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    def walk(routes: list[BaseRoute]) -> Iterator[BaseRoute]:
        for route in routes:
            if hasattr(route, "path"):
                yield route
            else:  # an included router
                yield from walk(route.original_router.routes)  # type: ignore[attr-defined]

    for route in walk(app.routes):
        methods = sorted(getattr(route, "methods", None) or ["GET"])
        path: str = route.path  # type: ignore[attr-defined]
        for method in methods:
            if method in ("HEAD", "OPTIONS"):
                continue
            if path.endswith("{rest:path}") and method != "GET":
                continue  # catch-alls answer every method the same way
            yield method, path.replace("/ajax-api/", "/api/", 1)


# -- the server and its callers -------------------------------------------------------------------


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    frame = pd.DataFrame({"a": np.arange(6.0), "b": np.arange(6.0) % 2})
    path = tmp_path_factory.mktemp("pkg") / "model"
    save_model(LinearRegression().fit(frame, frame["a"]), path, input_example=frame.head(2))
    return path


@dataclass
class Server:
    client: httpx.Client
    headers: dict[str, dict[str, str]]
    package: Path
    app: FastAPI
    count: int = 0
    read_world: World | None = None


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, package: Path) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("matrix")
    settings = Settings(
        home=home,
        default_permission="none",
        allowed_hosts=["dockyard.test"],
        params_key=new_key(),
    )
    app = create_app(settings)
    transport = InProcessTransport(app, local=False)  # a network client's view of the app
    with httpx.Client(transport=transport, base_url="http://dockyard.test") as client:
        roles = {
            "admin": "admin",
            "viewer": "viewer",
            "outsider": "member",
            "reader": "member",
            "editor": "member",
            "owner": "member",
        }
        headers: dict[str, dict[str, str]] = {"anonymous": {}}
        for name, role in roles.items():  # the first account (admin) turns sign-in on
            auth = headers.get("admin", {})
            body = {"name": name, "role": role, "password": PASSWORD}
            answer = client.post("/api/v1/users", json=body, headers=auth)
            assert answer.status_code == 201, answer.text
            basic = base64.b64encode(f"{name}:{PASSWORD}".encode()).decode()
            made = client.post(
                "/api/v1/tokens", json={"name": "t"}, headers={"Authorization": f"Basic {basic}"}
            )
            assert made.status_code == 201, made.text
            headers[name] = {"Authorization": f"Bearer {made.json()['token']}"}
        yield Server(client, headers, package, app=app)
    transport.close()


def _ok(answer: Any) -> Any:
    assert answer.status_code < 300, answer.text
    return answer.json() if answer.content else None


def _seed(server: Server) -> World:
    """Fresh resources owned by ``owner``, with grants for the other callers."""
    server.count += 1
    c, owner, admin = server.client, server.headers["owner"], server.headers["admin"]
    n = server.count
    w = World(experiment=f"exp-{n}", model=f"model-{n}", endpoint=f"ep-{n}", job=f"job-{n}")
    w.experiment_id = _ok(
        c.post("/api/v1/experiments", json={"name": w.experiment}, headers=owner)
    )["experiment_id"]
    run = _ok(c.post("/api/v1/runs", json={"experiment_id": w.experiment_id}, headers=owner))
    w.run_id = run["info"]["run_id"]
    logged = {
        "experiment_id": w.experiment_id,
        "source_run_id": w.run_id,
        "tags": [{"key": "k", "value": "v"}],
    }
    w.extra["logged_model"] = _ok(c.post(f"{MLF}/logged-models", json=logged, headers=owner))[
        "model"
    ]["info"]["model_id"]
    for file in sorted(server.package.rglob("*")):
        if file.is_file():
            rel = file.relative_to(server.package).as_posix()
            url = f"/api/v1/runs/{w.run_id}/artifacts/model/{rel}"
            _ok(c.put(url, content=file.read_bytes(), headers=owner))
    c.post(
        f"/api/v1/runs/{w.run_id}/batch",
        json={"metrics": [{"key": "m", "value": 1, "timestamp": 1}]},
        headers=owner,
    )
    _ok(
        c.post(
            "/api/v1/registered-models",
            json={"name": w.model, "tags": [{"key": "team", "value": "a"}]},
            headers=owner,
        )
    )
    version = _ok(
        c.post(
            f"{MV.format(w=w)}/versions",
            json={"source": f"runs:/{w.run_id}/model", "tags": [{"key": "gate", "value": "ok"}]},
            headers=owner,
        )
    )
    w.extra["registry_key"] = version["storage_location"]
    _ok(c.put(f"{MV.format(w=w)}/aliases/prod", json={"version": 1}, headers=owner))
    data = _ok(c.put(f"/api/v1/data/seed/{n}.csv", content=b"1,2\n3,4\n", headers=owner))
    w.data_uri = data["uri"]
    _ok(
        c.put(
            f"/api/v1/runs/{w.run_id}/artifacts/data/train.csv",
            content=b"1,2\n3,4\n",
            headers=owner,
        )
    )
    store = data["uri"].split("/data/users/")[0]
    w.run_data_uri = f"{store}/{w.experiment_id}/{w.run_id}/artifacts/data/train.csv"
    endpoint = {
        "name": w.endpoint,
        "variants": [{"name": "a", "model_uri": f"models:/{w.model}/1"}],
    }
    _ok(c.post("/api/v1/endpoints", json=endpoint, headers=owner))
    job = {
        "name": w.job,
        "algorithm": "xgboost",
        "experiment": w.experiment,
        "hyperparameters": {"num_round": "2", "objective": "reg:squarederror"},
        "inputs": {"train": {"uri": w.data_uri, "content_type": "text/csv"}},
    }
    _ok(c.post("/api/v1/jobs/training", json=job, headers=owner))
    w.extra["trigger"] = {
        "name": f"trig-{w.job}",
        "git": {"branches": ["main"]},
        "secret": HOOK_SECRET,
        "target": {"kind": "training", "spec": job},
    }
    _ok(c.post("/api/v1/triggers", json=w.extra["trigger"], headers=owner))
    _ok(c.post("/api/v1/topics", json={"name": f"topic-{w.job}"}, headers=owner))
    pipeline = {"name": f"pipe-{w.job}", "definition": NAP}
    _ok(c.post("/api/v1/pipelines", json=pipeline, headers=owner))
    url = f"/api/v1/pipelines/pipe-{w.job}/executions"
    _ok(c.post(url, json={"name": "run"}, headers=owner))
    w.extra["tuning"] = {
        "name": f"tune-{w.job}",
        "experiment": w.experiment,
        "config": {
            "strategy": "Random",
            "objective": {"type": "Minimize", "metric_name": "validation:rmse"},
            "resource_limits": {"max_jobs": 1},
            "parameter_ranges": {
                "integer": [{"name": "max_depth", "min_value": 2, "max_value": 3}]
            },
        },
        "training_job": {k: v for k, v in job.items() if k != "name"},
    }
    _ok(c.post("/api/v1/tuning-jobs", json=w.extra["tuning"], headers=owner))
    captured = {**endpoint, "name": f"cap-{n}", "capture": {"enabled": True}}
    _ok(c.post("/api/v1/endpoints", json=captured, headers=owner))
    # In the experiment's run: a baseline is read as its schedule's creator may read.
    for name in ("statistics.json", "constraints.json"):
        empty = b'{"version": 0.0, "features": []}'  # a baseline is parsed when it is given
        put = c.put(
            f"/api/v1/runs/{w.run_id}/artifacts/baseline/{name}", content=empty, headers=owner
        )
        _ok(put)
    baseline = f"{store}/{w.experiment_id}/{w.run_id}/artifacts/baseline"
    w.extra["monitoring"] = {
        "name": f"mon-{w.job}",
        "target": {"endpoint": captured["name"]},
        "baseline": {"uri": baseline},
        "experiment": w.experiment,
    }
    _ok(c.post("/api/v1/monitoring-schedules", json=w.extra["monitoring"], headers=owner))
    run_now = _ok(c.post(f"/api/v1/monitoring-schedules/mon-{w.job}/run", json={}, headers=owner))
    w.extra["execution"] = run_now["execution_id"]
    w.param, w.secret = f"/seed/{n}/plain", f"/seed/{n}/secret"
    _ok(c.post("/api/v1/params", json={"name": w.param, "value": "1"}, headers=owner))
    secret = {"name": w.secret, "value": "s3cr3t", "type": "SecureString"}
    _ok(c.post("/api/v1/params", json=secret, headers=owner))
    for who, level in (("viewer", "edit"), ("reader", "read"), ("editor", "edit")):
        for kind, resource in (
            ("experiment", w.experiment_id),
            ("registered_model", w.model),
            ("endpoint", w.endpoint),
            ("endpoint", f"cap-{n}"),
            ("parameter", w.param),
            ("parameter", w.secret),
        ):
            body = {"kind": kind, "resource": resource, "user": who, "level": level}
            _ok(c.put("/api/v1/grants", json=body, headers=owner))
    w.token_id = _ok(c.post("/api/v1/tokens", json={"name": "spare"}, headers=owner))["token_id"]
    made = _ok(c.post("/api/v1/access-keys", json={"name": "spare"}, headers=owner))
    w.access_key_id = made["access_key_id"]
    w.victim = f"victim-{n}"
    _ok(c.post("/api/v1/users", json={"name": w.victim}, headers=admin))
    return w


def _read_world(server: Server) -> World:
    """One world that every GET route shares: a read changes nothing, so it need not have a
    fresh one (seeding one is ~40 requests)."""
    if server.read_world is None:
        server.read_world = _seed(server)
    return server.read_world


def _ask(server: Server, call: Call, world: World, caller: str, method: str, ajax: bool) -> int:
    url = call.path.format(w=world)
    if ajax:  # MLflow's UI calls the same API under /ajax-api
        url = url.replace("/api/", "/ajax-api/", 1)
    server.client.cookies.clear()  # a session cookie set by signing in must not stick
    kwargs: dict[str, Any] = {"headers": {**server.headers[caller], **(call.headers or {})}}
    if call.params is not None:
        kwargs["params"] = call.params(world)
    if call.json is not None:
        kwargs["json"] = call.json(world)
    elif call.content is not None:
        kwargs["content"] = call.content
    return server.client.request(method, url, **kwargs).status_code


def test_every_route_has_a_rule(server: Server) -> None:
    missing = sorted({r for r in _routes(server.app) if r not in ROUTES})
    assert missing == [], f"routes without a permission rule: {missing}"


CASES = [(*route, False) for route in sorted(ROUTES)] + [
    (*route, True) for route in sorted(ROUTES) if route[1].startswith(("/api/2.0/", "/api/3.0/"))
]


@pytest.mark.parametrize(
    "case",
    CASES,
    ids=lambda c: f"{c[0]} {c[1].replace('/api/', '/ajax-api/', 1) if c[2] else c[1]}",
)
def test_route_admits_exactly_its_callers(server: Server, case: tuple[str, str, bool]) -> None:
    method, path, ajax = case
    call = ROUTES[(method, path)]
    allowed = ALLOWED[call.rule]
    world = _read_world(server) if method == "GET" else _seed(server)
    refused = [c for c in CALLERS if c not in allowed]
    wrong: dict[str, int] = {}
    for caller in refused:  # while the resource still exists, so a 404 cannot hide a gap
        status = _ask(server, call, world, caller, method, ajax)
        if status != (401 if caller == "anonymous" else 403):
            wrong[caller] = status
    for caller in [c for c in CALLERS if c in allowed]:
        status = _ask(server, call, world, caller, method, ajax)
        if status in (401, 403):
            wrong[caller] = status
    assert wrong == {}, f"{call.rule}: unexpected answers {wrong}"


def test_searches_list_only_what_the_caller_may_read(server: Server) -> None:
    world = _seed(server)
    url = f"{MLF}/model-versions/search"
    found = {}
    for caller in ("outsider", "reader"):
        answer = server.client.get(
            url, params={"filter": f"name='{world.model}'"}, headers=server.headers[caller]
        )
        assert answer.status_code == 200, answer.text
        found[caller] = [v["version"] for v in answer.json().get("model_versions", [])]
    assert found == {"outsider": [], "reader": ["1"]}


def test_a_logged_models_files_are_its_creators_to_change(server: Server) -> None:
    world = _seed(server)
    folder = f"{ART}/{world.experiment_id}/models/{world.extra['logged_model']}/artifacts"
    answers = {}
    for caller in ("editor", "owner", "admin"):
        url = f"{folder}/{caller}.txt"
        answers[caller] = server.client.put(
            url, content=b"x", headers=server.headers[caller]
        ).status_code
    reads = {
        caller: server.client.get(f"{folder}/owner.txt", headers=server.headers[caller]).status_code
        for caller in ("outsider", "reader")
    }
    # edit permission is not enough to change a model someone else logged; manage is.
    assert answers == {"editor": 403, "owner": 200, "admin": 200}
    assert reads == {"outsider": 403, "reader": 200}


def test_secure_strings_decrypt_only_for_explicit_grants(server: Server) -> None:
    world = _seed(server)
    answers = {}
    for caller in ("outsider", "viewer", "reader", "owner", "admin"):
        answer = server.client.get(
            "/api/v1/params/value",
            params={"name": world.secret, "with_decryption": True},
            headers=server.headers[caller],
        )
        answers[caller] = (answer.status_code, answer.json().get("value"))
    assert answers == {
        "outsider": (403, None),
        "viewer": (200, "s3cr3t"),  # an explicit grant, capped at read, still decrypts
        "reader": (200, "s3cr3t"),
        "owner": (200, "s3cr3t"),
        "admin": (200, "s3cr3t"),
    }
    # A grant on a path above the name covers it.
    n = world.param.split("/")[2]
    grant = {"kind": "parameter", "resource": f"/seed/{n}/", "user": "outsider", "level": "read"}
    assert server.client.put(
        "/api/v1/grants", json=grant, headers=server.headers["admin"]
    ).is_success
    answer = server.client.get(
        "/api/v1/params/value",
        params={"name": world.secret, "with_decryption": True},
        headers=server.headers["outsider"],
    )
    assert answer.json().get("value") == "s3cr3t"


def test_a_refusal_names_the_model_as_grants_take_it(server: Server) -> None:
    world = _seed(server)
    moved = server.client.put(
        f"{MV.format(w=world)}/aliases/champion",
        json={"version": 1},
        headers=server.headers["reader"],
    )
    assert moved.status_code == 403
    message = moved.json()["error"]["message"]
    # The model's name, which `dockyard grants set registered_model NAME ...` takes: not the
    # internal id its grants are kept under.
    assert message.endswith(f"edit permission on registered model {world.model!r}"), message
    grant = {"kind": "registered_model", "resource": world.model, "user": "reader", "level": "edit"}
    assert server.client.put(
        "/api/v1/grants", json=grant, headers=server.headers["owner"]
    ).is_success
    moved = server.client.put(
        f"{MV.format(w=world)}/aliases/champion",
        json={"version": 1},
        headers=server.headers["reader"],
    )
    assert moved.status_code == 200, moved.text
