"""The authentication layer: hosts, cross-site browsers, credentials, sessions, refusals logged.

Each attack from the security review is reproduced here and must now do no harm.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.types import Message

from dockyard.errors import (
    DeadlineExceeded,
    DockyardError,
    PayloadTooLarge,
    Unauthenticated,
    Unavailable,
)
from dockyard.server import Services, create_app
from dockyard.server._auth import Credentials, send_error
from dockyard.server._inprocess import InProcessTransport
from dockyard.server.actor import Actor, ActorKind, Role
from dockyard.settings import Settings

PASSWORD = "correct horse battery"
HOST = "dockyard.test"


def _basic(user: str, password: str = PASSWORD) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def _client(services: Services) -> httpx.Client:
    transport = InProcessTransport(create_app(services=services), local=False)
    return httpx.Client(transport=transport, base_url=f"http://{HOST}")


@pytest.fixture
def open_server(tmp_path: Path) -> Iterator[tuple[httpx.Client, Services]]:
    """A server with no accounts yet: open to local clients, closed to web pages."""
    services = Services.from_settings(Settings(home=tmp_path / "home", allowed_hosts=[HOST]))
    with _client(services) as client:
        yield client, services
    services.close()


@pytest.fixture
def accounts(tmp_path: Path) -> Iterator[tuple[httpx.Client, Services]]:
    """A server with an admin (alice) and a member (bob); sign-in is required."""
    services = Services.from_settings(Settings(home=tmp_path / "home", allowed_hosts=[HOST]))
    with _client(services) as client:
        made = client.post(
            "/api/v1/users", json={"name": "alice", "role": "admin", "password": PASSWORD}
        )
        assert made.status_code == 201, made.text
        client.post(
            "/api/v1/users", json={"name": "bob", "password": PASSWORD}, headers=_basic("alice")
        ).raise_for_status()
        yield client, services
    services.close()


@pytest.fixture
def team(accounts: tuple[httpx.Client, Services]) -> tuple[httpx.Client, dict[str, str]]:
    """The same server, and bob's token."""
    client, _ = accounts
    token = client.post("/api/v1/tokens", json={"name": "ci"}, headers=_basic("bob"))
    return client, {"Authorization": f"Bearer {token.json()['token']}"}


# -- the attacks of the security review -------------------------------------------------------


def test_a_cross_site_text_plain_post_deletes_nothing(
    open_server: tuple[httpx.Client, Services],
) -> None:
    client, _ = open_server
    experiment = client.post("/api/v1/experiments", json={"name": "precious"}).json()
    body = f'{{"experiment_id": "{experiment["experiment_id"]}"}}'
    for headers in (
        {"Content-Type": "text/plain", "Origin": "http://evil.example"},
        {"Content-Type": "text/plain"},  # even without Origin: a form body is refused
        {"Content-Type": "application/json", "Origin": "http://evil.example"},
        {"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"},
    ):
        answer = client.post("/api/2.0/mlflow/experiments/delete", content=body, headers=headers)
        assert answer.status_code in (403, 415), answer.text
        assert answer.json()["error_code"] in ("PERMISSION_DENIED", "INVALID_PARAMETER_VALUE")
    still = client.get(f"/api/v1/experiments/{experiment['experiment_id']}").json()
    assert still["lifecycle_stage"] == "active"
    same_site = client.post(
        "/api/2.0/mlflow/experiments/delete",
        content=body,
        headers={"Content-Type": "application/json", "Origin": f"http://{HOST}"},
    )
    assert same_site.status_code == 200


def test_a_foreign_host_header_reaches_nothing(
    open_server: tuple[httpx.Client, Services],
) -> None:
    """DNS rebinding: a page on attacker.example resolving to 127.0.0.1 sends that Host."""
    client, _ = open_server
    for path in ("/api/v1/jobs", "/api/v1/experiments", "/metrics"):
        answer = client.get(path, headers={"Host": "attacker.example:5050"})
        assert answer.status_code == 400 and "Host" in answer.json()["error"]["message"]
    submitted = client.post(
        "/api/v1/jobs/training",
        json={"entry_point": "train.py"},
        headers={"Host": "attacker.example:5050"},
    )
    assert submitted.status_code == 400


def test_without_credentials_nothing_uploads_or_runs(
    team: tuple[httpx.Client, dict[str, str]],
) -> None:
    client, _ = team
    upload = client.put("/api/v1/data/x/train.py", content=b"import os; os.system('id')")
    assert upload.status_code == 401
    assert upload.headers["www-authenticate"].startswith("Bearer")
    job = client.post(
        "/api/v1/jobs/training", json={"entry_point": "train.py", "source_dir": "/tmp"}
    )
    assert job.status_code == 401
    for method, path in (
        ("DELETE", "/api/v1/registered-models/wine"),
        ("GET", "/api/v1/experiments"),
        ("GET", "/metrics"),
        ("GET", "/api/v1/openapi.json"),
        ("POST", "/api/2.0/mlflow/experiments/delete"),
    ):
        assert client.request(method, path, json={}).status_code == 401, path
    assert client.get("/healthz").status_code == 200


# -- credentials ------------------------------------------------------------------------------


def test_tokens_basic_auth_and_their_failures(team: tuple[httpx.Client, dict[str, str]]) -> None:
    client, bob = team
    assert client.get("/api/v1/whoami", headers=bob).json()["name"] == "bob"
    assert client.get("/api/v1/whoami", headers=_basic("bob")).json()["role"] == "member"
    for headers in (
        _basic("bob", "wrong password"),
        _basic("nobody"),
        {"Authorization": "Bearer dyt_000000000000_" + "x" * 43},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Negotiate abc"},
        {"Authorization": "Basic !!!"},
    ):
        answer = client.get("/api/v1/whoami", headers=headers)
        assert answer.status_code == 401, headers
        assert answer.json()["error"]["code"] == "unauthenticated"
    # MLflow's paths answer in MLflow's shape.
    mlflow = client.get("/api/2.0/mlflow/experiments/search", headers=_basic("bob", "nope"))
    assert mlflow.status_code == 401 and mlflow.json()["error_code"] == "UNAUTHENTICATED"


def test_revoked_and_read_only_tokens(team: tuple[httpx.Client, dict[str, str]]) -> None:
    client, bob = team
    reader = client.post("/api/v1/tokens", json={"name": "r", "read_only": True}, headers=bob)
    read_only = {"Authorization": f"Bearer {reader.json()['token']}"}
    assert client.get("/api/v1/experiments", headers=read_only).status_code == 200
    refused = client.post("/api/v1/experiments", json={"name": "x"}, headers=read_only)
    assert refused.status_code == 403 and "read-only" in refused.json()["error"]["message"]
    client.delete(f"/api/v1/tokens/{reader.json()['token_id']}", headers=bob).raise_for_status()
    assert client.get("/api/v1/experiments", headers=read_only).status_code == 401
    listed = client.get("/api/v1/tokens", headers=bob).json()["tokens"]
    assert {t["name"] for t in listed} == {"ci", "r"} and all("token" not in t for t in listed)


def test_a_read_only_token_revokes_itself_but_no_other_credential(
    team: tuple[httpx.Client, dict[str, str]],
) -> None:
    client, bob = team
    reader = client.post("/api/v1/tokens", json={"name": "r", "read_only": True}, headers=bob)
    read_only = {"Authorization": f"Bearer {reader.json()['token']}"}
    tokens = client.get("/api/v1/tokens", headers=bob).json()["tokens"]
    ci = next(t["token_id"] for t in tokens if t["name"] == "ci")
    key = client.post("/api/v1/access-keys", json={}, headers=bob).json()["access_key_id"]
    for path in (f"/api/v1/tokens/{ci}", f"/api/v1/access-keys/{key}"):
        refused = client.delete(path, headers=read_only)
        assert refused.status_code == 403, path
        assert "read-only" in refused.json()["error"]["message"]
    assert client.get("/api/v1/whoami", headers=bob).status_code == 200
    assert (
        client.get("/api/v1/access-keys", headers=bob).json()["access_keys"][0]["revoked_time"]
        is None
    )
    client.delete(
        f"/api/v1/tokens/{reader.json()['token_id']}", headers=read_only
    ).raise_for_status()
    assert client.get("/api/v1/whoami", headers=read_only).status_code == 401


def test_repeated_wrong_passwords_are_throttled(team: tuple[httpx.Client, dict[str, str]]) -> None:
    client, _ = team
    statuses = [
        client.get("/api/v1/whoami", headers=_basic("bob", f"guess {i}")).status_code
        for i in range(12)
    ]
    assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429]
    # The right password is refused too while throttled: guessing gains nothing.
    assert client.get("/api/v1/whoami", headers=_basic("bob")).status_code == 429


def test_browser_session_needs_its_csrf_token(team: tuple[httpx.Client, dict[str, str]]) -> None:
    client, _ = team
    login = client.post("/api/v1/session", json={"username": "bob", "password": PASSWORD})
    assert login.status_code == 200, login.text
    csrf = login.json()["csrf_token"]
    cookie = login.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert client.get("/api/v1/whoami").json()["name"] == "bob"  # the cookie signs reads in
    without = client.post("/api/v1/experiments", json={"name": "s1"})
    assert without.status_code == 403 and "X-CSRF-Token" in without.json()["error"]["message"]
    wrong = client.post("/api/v1/experiments", json={"name": "s1"}, headers={"X-CSRF-Token": "x"})
    assert wrong.status_code == 403
    made = client.post("/api/v1/experiments", json={"name": "s1"}, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201
    client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf}).raise_for_status()
    assert client.get("/api/v1/whoami").status_code == 401
    bad = client.post("/api/v1/session", json={"username": "bob", "password": "nope"})
    assert bad.status_code == 401


def test_answers_for_a_credential_are_not_kept_by_caches(
    team: tuple[httpx.Client, dict[str, str]],
) -> None:
    # Without a Cache-Control, a browser may keep an answer on disk (a new token's secret, a
    # session's CSRF token) for whoever uses it after a sign-out.
    client, bearer = team
    login = client.post("/api/v1/session", json={"username": "bob", "password": PASSWORD})
    made = client.post("/api/v1/tokens", json={"name": "t2"}, headers=bearer)
    read = client.get("/api/v1/whoami", headers=bearer)
    mlflow = client.get("/api/2.0/mlflow/experiments/search?max_results=1", headers=bearer)
    for answer in (login, made, read, mlflow):
        assert answer.status_code in (200, 201), answer.text
        assert answer.headers["cache-control"] == "no-store", answer.request.url
    # The web UI's files say how they may be kept, and keep that.
    assert client.get("/").headers["cache-control"] == "no-cache"


def test_the_session_state_answers_a_browser_that_has_not_signed_in(
    team: tuple[httpx.Client, dict[str, str]],
) -> None:
    client, _ = team
    fresh = client.get("/api/v1/session")  # what the web UI asks first: no 401 to log
    assert fresh.status_code == 200, fresh.text
    assert fresh.json() == {"signed_in": False, "auth_required": True, "whoami": None}
    assert client.get("/api/v1/whoami").status_code == 401  # the rest stays shut
    login = client.post("/api/v1/session", json={"username": "bob", "password": PASSWORD})
    csrf = login.json()["csrf_token"]
    signed = client.get("/api/v1/session").json()
    assert signed["signed_in"] and signed["whoami"]["name"] == "bob"
    assert signed["whoami"]["role"] == "member"
    client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf}).raise_for_status()
    # An ended session's cookie, sent again, is told it is signed out (not refused).
    cookie = {"Cookie": f"dockyard_session={login.cookies['dockyard_session']}"}
    ended = client.get("/api/v1/session", headers=cookie)
    assert ended.status_code == 200 and ended.json()["signed_in"] is False
    assert client.get("/api/v1/session", headers=team[1]).json()["whoami"]["name"] == "bob"


def test_without_accounts_the_session_state_is_signed_in(tmp_path: Path) -> None:
    services = Services.from_settings(Settings(home=tmp_path / "open"))
    with httpx.Client(
        transport=InProcessTransport(create_app(services=services)), base_url="http://localhost"
    ) as client:
        state = client.get("/api/v1/session").json()
    services.close()
    assert state["signed_in"] and not state["auth_required"]
    assert state["whoami"]["kind"] == "local"


def test_cors_answers_only_allowed_origins(tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path / "h", allowed_hosts=[HOST], cors_allowed_origins=["https://ui.example"]
    )
    services = Services.from_settings(settings)
    with _client(services) as client:
        preflight = {"Access-Control-Request-Method": "POST"}
        allowed = client.options(
            "/api/v1/experiments", headers={**preflight, "Origin": "https://ui.example"}
        )
        assert allowed.status_code == 204
        assert allowed.headers["access-control-allow-origin"] == "https://ui.example"
        other = client.options(
            "/api/v1/experiments", headers={**preflight, "Origin": "https://evil.example"}
        )
        assert other.status_code == 403 and "access-control-allow-origin" not in other.headers
        made = client.post(
            "/api/v1/experiments", json={"name": "c"}, headers={"Origin": "https://ui.example"}
        )
        assert made.status_code == 201
        assert made.headers["access-control-allow-origin"] == "https://ui.example"
    services.close()


# -- accounts ---------------------------------------------------------------------------------


def test_the_first_account_must_be_an_admin_and_turns_sign_in_on(
    open_server: tuple[httpx.Client, Services],
) -> None:
    client, _ = open_server
    assert client.get("/api/v1/whoami").json() == {
        "name": "anonymous",
        "kind": "anonymous",
        "role": "admin",
        "read_only": False,
        "job": None,
        "auth_required": False,
    }
    member = client.post("/api/v1/users", json={"name": "bob", "password": PASSWORD})
    assert member.status_code == 400 and member.json()["error"]["field"] == "role"
    admin = {"name": "root", "role": "admin", "password": PASSWORD}
    assert client.post("/api/v1/users", json=admin).status_code == 201
    assert client.get("/api/v1/experiments").status_code == 401
    second = client.post("/api/v1/users", json={"name": "eve", "role": "admin"})
    assert second.status_code == 401  # nobody creates accounts anonymously any more


def test_the_last_admin_stays(team: tuple[httpx.Client, dict[str, str]]) -> None:
    client, _ = team
    alice = _basic("alice")
    demote = client.patch("/api/v1/users/alice", json={"role": "member"}, headers=alice)
    assert demote.status_code == 400 and "last admin" in demote.json()["error"]["message"]
    assert client.delete("/api/v1/users/alice", headers=alice).status_code == 400
    disabled = client.patch("/api/v1/users/bob", json={"disabled": True}, headers=alice)
    assert disabled.json()["disabled"] is True
    assert client.get("/api/v1/whoami", headers=_basic("bob")).status_code == 401


# -- the audit trail --------------------------------------------------------------------------


def test_changes_and_refusals_are_in_the_event_log(
    team: tuple[httpx.Client, dict[str, str]],
) -> None:
    client, bob = team
    experiment = client.post("/api/v1/experiments", json={"name": "audited"}, headers=bob).json()
    client.delete(f"/api/v1/experiments/{experiment['experiment_id']}")  # anonymous: 401
    alice = _basic("alice")
    events = client.get("/api/v1/events", params={"limit": 1000}, headers=alice).json()["events"]
    created = [e for e in events if e["type"] == "experiment.created"]
    assert [(e["actor"], e["resource_id"], e["body"]) for e in created] == [
        ("bob", experiment["experiment_id"], {"name": "audited"})
    ]
    denied = [e for e in events if e["outcome"] == "denied"]
    assert denied and denied[-1]["resource_id"].startswith("DELETE /api/v1/experiments/")
    assert {"user.created", "token.created"} <= {e["type"] for e in events}
    # A member sees events about what they may read and their own, not other accounts'.
    mine = client.get("/api/v1/events", params={"limit": 1000}, headers=bob).json()["events"]
    assert "experiment.created" in {e["type"] for e in mine}
    assert not any(e["type"] == "user.created" and e["actor"] != "bob" for e in mine)
    only_denied = client.get("/api/v1/events", params={"outcome": "denied"}, headers=alice)
    assert {e["outcome"] for e in only_denied.json()["events"]} == {"denied"}


def test_the_access_log_names_the_actor(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(home=tmp_path / "h", allowed_hosts=[HOST], access_log=True)
    services = Services.from_settings(settings)
    access = logging.getLogger("dockyard.access")  # it does not propagate: capture it directly
    with _client(services) as client:
        access.addHandler(caplog.handler)
        try:
            client.get("/api/v1/experiments")
            client.get("/api/v1/nothing-here")
        finally:
            access.removeHandler(caplog.handler)
    services.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "dockyard.access"]
    assert lines[0].startswith("127.0.0.1 anonymous GET /api/v1/experiments 200 ")
    assert " GET /api/v1/nothing-here 404 " in lines[1]


def test_refusals_by_the_routes_are_logged_with_their_message(
    team: tuple[httpx.Client, dict[str, str]],
) -> None:
    client, bob = team
    alice = _basic("alice")
    client.post(
        "/api/v1/users",
        json={"name": "carol", "role": "viewer", "password": PASSWORD},
        headers=alice,
    ).raise_for_status()
    carol = _basic("carol")
    experiment = client.post("/api/v1/experiments", json={"name": "kept"}, headers=bob).json()
    refused = client.post(
        "/api/2.0/mlflow/experiments/delete",
        json={"experiment_id": experiment["experiment_id"]},
        headers=carol,
    )
    assert refused.status_code == 403, refused.text
    # The AWS JSON protocol answers a refusal with 400 and AccessDeniedException.
    aws = client.post(
        "/",
        content=b'{"name": "sm", "definition": "{}", "roleArn": "arn:aws:iam::1:role/r"}',
        headers={
            **carol,
            "X-Amz-Target": "AWSStepFunctions.CreateStateMachine",
            "Content-Type": "application/x-amz-json-1.0",
        },
    )
    assert aws.status_code == 400 and aws.json()["__type"] == "AccessDeniedException", aws.text
    events = client.get(
        "/api/v1/events", params={"outcome": "denied", "actor": "carol"}, headers=alice
    ).json()["events"]
    assert [(e["resource_id"], e["body"]["status"], e["body"]["message"]) for e in events] == [
        ("POST /api/2.0/mlflow/experiments/delete", 403, refused.json()["message"]),
        ("POST /", 400, aws.json()["message"]),
    ]
    assert all(e["body"]["message"] for e in events)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (
            Unavailable("metadata database unavailable: connection refused"),
            "TEMPORARILY_UNAVAILABLE",
        ),
        (DeadlineExceeded("took too long"), "DEADLINE_EXCEEDED"),
        (DockyardError("a bug"), "INTERNAL_ERROR"),
        (Unauthenticated("sign in"), "UNAUTHENTICATED"),
        (PayloadTooLarge("request body over the 1 MB limit"), "INVALID_PARAMETER_VALUE"),
    ],
)
def test_what_the_layer_refuses_an_mlflow_client_reads_in_mlflows_codes(
    error: DockyardError, code: str
) -> None:
    # The layer answers before any route: a database down while it looks up a token is
    # TEMPORARILY_UNAVAILABLE to the MLflow client, not a bad parameter.
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/2.0/mlflow/runs/create", "headers": []}
    asyncio.run(send_error(send, scope, error))
    assert sent[0]["status"] == error.status_code
    assert json.loads(sent[1]["body"]) == {"error_code": code, "message": error.message}


def test_each_event_names_the_credential_that_signed_its_actor_in(
    team: tuple[httpx.Client, dict[str, str]],
) -> None:
    """One account may hold many tokens and keys: the log says which one acted, so the one
    that leaked can be revoked."""
    client, bob = team
    alice = _basic("alice")
    tokens = client.get("/api/v1/tokens", headers=bob).json()["tokens"]
    (ci,) = [t for t in tokens if t["name"] == "ci"]
    client.post("/api/v1/experiments", json={"name": "by-token"}, headers=bob).raise_for_status()
    client.post("/api/v1/experiments", json={"name": "by-password"}, headers=_basic("bob"))
    events = client.get("/api/v1/events", params={"limit": 1000}, headers=alice).json()["events"]
    made = {e["body"]["name"]: e for e in events if e["type"] == "experiment.created"}
    assert made["by-token"]["actor"] == "bob"
    assert made["by-token"]["credential"] == f"token {ci['token_id']}"
    assert made["by-password"]["credential"] == "password"
    created = {e["resource_id"]: e["credential"] for e in events if e["type"] == "user.created"}
    assert created == {"alice": "", "bob": "password"}  # the first account: no credential yet


def test_digits_that_are_no_numbers_are_refused_not_a_500(
    team: tuple[httpx.Client, dict[str, str]],
) -> None:
    client, bob = team
    # str.isdigit() takes "²", which int() refuses: a grant on experiment "²" and an event
    # stream resumed from Last-Event-ID "²" (a header's latin-1 byte) were 500s.
    body = {"kind": "experiment", "resource": "²", "user": "bob", "level": "read"}
    granted = client.put("/api/v1/grants", json=body, headers=bob)
    assert granted.status_code == 404, granted.text
    stream = client.get(
        "/api/v1/events/stream",
        params={"duration_s": 0.1},
        headers={**bob, "Last-Event-ID": "²".encode("latin-1")},  # type: ignore[dict-item]
    )
    assert stream.status_code == 200, stream.text


def test_an_event_stream_ends_once_its_readers_token_is_revoked(
    accounts: tuple[httpx.Client, Services],
) -> None:
    """A stream went on for its whole duration (up to 25 s) after the token that opened it was
    revoked, delivering every event its reader could have seen. It now looks at its reader's
    credentials again every few seconds and ends, and the reconnection is refused."""
    client, services = accounts
    tokens = [
        client.post("/api/v1/tokens", json={"name": n}, headers=_basic("bob")).json()
        for n in ("reader", "writer")
    ]
    reader, writer = ({"Authorization": f"Bearer {t['token']}"} for t in tokens)
    ended = threading.Event()
    made: list[str] = []

    def revoke_then_keep_making() -> None:
        deadline = time.monotonic() + 10
        while not services.events._waiters and time.monotonic() < deadline:
            time.sleep(0.01)  # polls the condition: the stream is waiting for an append
        revoked = client.delete(f"/api/v1/tokens/{tokens[0]['token_id']}", headers=writer)
        assert revoked.status_code == 204, revoked.text
        # Bob's other token goes on making experiments (events bob may read) for at most
        # 15 s, less than the stream's 20: it stops early only if the stream ends first.
        for i in range(150):
            if ended.is_set():
                return
            body = {"name": f"after-{i}"}
            client.post("/api/v1/experiments", json=body, headers=writer).raise_for_status()
            made.append(body["name"])
            ended.wait(0.1)

    thread = threading.Thread(target=revoke_then_keep_making)
    thread.start()
    try:
        answer = client.get(
            "/api/v1/events/stream",
            params={"type": "experiment.created", "duration_s": 20},
            headers=reader,
        )
    finally:
        ended.set()
        thread.join()
    assert answer.status_code == 200, answer.text
    again = client.get("/api/v1/events/stream", params={"duration_s": 1}, headers=reader)
    assert len(made) < 150, "the stream went on after its token was revoked"
    assert again.status_code == 401 and "revoked" in again.json()["error"]["message"]


def test_a_read_only_access_keys_stream_keeps_its_scope_until_the_key_is_revoked(
    accounts: tuple[httpx.Client, Services],
) -> None:
    """What a stream asks again every few seconds: a signed request's access key as it is
    now (not the account alone, which would have made a read-only key's reader look changed
    and ended its stream at each look)."""
    client, services = accounts
    made = client.post(
        "/api/v1/access-keys", json={"read_only": True}, headers=_basic("bob")
    ).json()
    key_id = made["access_key_id"]
    authorization = (
        f"AWS4-HMAC-SHA256 Credential={key_id}/20261207/us-east-1/sagemaker/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64
    )
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/api/v1/events/stream",
        "headers": [(b"authorization", authorization.encode())],
        "client": ("127.0.0.1", 50000),
    }
    bob_id = services.auth.by_password("bob", PASSWORD, "127.0.0.1").user_id
    opened = Actor(ActorKind.USER, "bob", Role.MEMBER, user_id=bob_id, read_only=True)
    credentials = Credentials(services.auth)
    now = asyncio.run(credentials.again(scope, opened))
    assert (now.user_id, now.role, now.read_only) == (bob_id, Role.MEMBER, True)
    revoked = client.delete(f"/api/v1/access-keys/{key_id}", headers=_basic("bob"))
    assert revoked.status_code == 204, revoked.text
    with pytest.raises(Unauthenticated, match="revoked"):
        asyncio.run(credentials.again(scope, opened))


def test_an_own_password_changes_only_with_the_current_one_and_ends_sessions(
    team: tuple[httpx.Client, dict[str, str]],
) -> None:
    """A session or token someone else got hold of could set a new password and take the
    account over; a browser session signed in before the change went on working."""
    client, bob = team
    session = client.post("/api/v1/session", json={"username": "bob", "password": PASSWORD})
    cookie = {"Cookie": f"dockyard_session={session.cookies['dockyard_session']}"}
    client.cookies.clear()  # the session is sent only where the test says
    assert client.get("/api/v1/whoami", headers=cookie).json()["name"] == "bob"
    new = "a new horse battery"
    missing = client.patch("/api/v1/users/bob", json={"password": new}, headers=bob)
    assert missing.status_code == 400
    assert missing.json()["error"]["field"] == "current_password"
    wrong = client.patch(
        "/api/v1/users/bob", json={"password": new, "current_password": "guess"}, headers=bob
    )
    assert wrong.status_code == 403 and wrong.json()["error"]["field"] == "current_password"
    changed = client.patch(
        "/api/v1/users/bob", json={"password": new, "current_password": PASSWORD}, headers=bob
    )
    assert changed.status_code == 200, changed.text
    assert client.get("/api/v1/whoami", headers=cookie).status_code == 401  # signed out
    assert client.get("/api/v1/whoami", headers=_basic("bob", new)).status_code == 200
    # An admin sets another account's password without knowing it.
    reset = client.patch("/api/v1/users/bob", json={"password": PASSWORD}, headers=_basic("alice"))
    assert reset.status_code == 200, reset.text
