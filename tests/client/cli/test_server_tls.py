"""``dockyard server --ssl-certfile`` runs jobs: its own processes reach it on a loopback-only
plain-HTTP listener that signs in, limits and audits like the public port."""

from __future__ import annotations

import base64
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest
from tests.server.jobs.conftest import behaviour, data_roots
from tests.services.server_process import ServerProcess, free_port, serve_until_it_exits
from tests.services.tls import SelfSigned, self_signed

PASSWORD = "correct horse battery"
_STDIN = ("--password-stdin",)

# A training script as users write them: the mlflow client and the Dockyard SDK, configured by
# nothing but the environment the job gives it.
TRAIN = """\
import mlflow

import dockyard

dockyard.log_metric("sdk_loss", 0.5)
with mlflow.start_run():
    mlflow.log_metric("mlflow_loss", 0.25)
print("trained", flush=True)
"""


@dataclass
class Secured:
    server: ServerProcess
    local: int  # the local listener's port
    api: httpx.Client  # the public HTTPS address, signed in as the admin
    token: str


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    root = tmp_path_factory.mktemp("tls")
    home = root / "home"
    made = subprocess.run(
        [sys.executable, "-m", "dockyard", "users", "create", "root", "--role", "admin", *_STDIN],
        input=PASSWORD + "\n",
        env={"PATH": "/usr/bin:/bin", "DOCKYARD_HOME": str(home)},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    (root / "code").mkdir()
    (root / "code" / "train.py").write_text(TRAIN)
    local = free_port()
    server = ServerProcess(
        home,
        tls=self_signed(root / "tls"),
        env={
            "DOCKYARD_DATA_ROOTS": str(root / "code"),
            "DOCKYARD_LOCAL_PORT": str(local),
            # Only the certificate's name: the local listener still answers to 127.0.0.1.
            "DOCKYARD_ALLOWED_HOSTS": "localhost",
        },
    )
    server.start()
    basic = base64.b64encode(f"root:{PASSWORD}".encode()).decode()
    with httpx.Client(base_url=server.url, verify=server.verify, timeout=30) as signing_in:
        made_token = signing_in.post(
            "/api/v1/tokens", json={"name": "t"}, headers={"Authorization": f"Basic {basic}"}
        )
    made_token.raise_for_status()
    token = made_token.json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.url, verify=server.verify, headers=headers) as api:
        yield Secured(server, local, api, token)
    server.stop()


def _ended(api: httpx.Client, name: str, timeout: float = 120) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while True:
        job = api.get(f"/api/v1/jobs/{name}").json()
        if job["status"] in ("Completed", "Failed", "Stopped"):
            return job  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, f"job {name} did not end in {timeout} s: {job}"
        time.sleep(0.2)


def test_a_training_job_logs_through_mlflow_and_the_sdk(secured: Secured, tmp_path: Path) -> None:
    spec = {
        "name": "tls-train",
        "entry_point": "train.py",
        "source_dir": str(secured.server.home.parent / "code"),
    }
    secured.api.post("/api/v1/jobs/training", json=spec).raise_for_status()
    job = _ended(secured.api, "tls-train")
    log = secured.api.get("/api/v1/jobs/tls-train/logs").text
    assert job["status"] == "Completed", (job, log)
    assert "trained" in log
    for metric, value in (("sdk_loss", 0.5), ("mlflow_loss", 0.25)):
        found = secured.api.get(f"/api/v1/runs/{job['run_id']}/metrics/{metric}")
        assert [m["value"] for m in found.json()["metrics"]] == [value], found.text


def test_the_local_listener_is_on_loopback_only(secured: Secured) -> None:
    listening = [
        c.laddr
        for c in psutil.net_connections("tcp")
        if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == secured.local
    ]
    assert listening and {address.ip for address in listening} == {"127.0.0.1"}, listening


def test_the_local_listener_signs_in_and_audits_like_the_public_port(secured: Secured) -> None:
    local = f"http://127.0.0.1:{secured.local}"
    assert httpx.get(f"{local}/api/v1/experiments").status_code == 401
    refused = httpx.post(f"{local}/api/v1/experiments", json={"name": "sneaky"})
    assert refused.status_code == 401
    bearer = {"Authorization": f"Bearer {secured.token}"}
    assert httpx.get(f"{local}/api/v1/experiments", headers=bearer).status_code == 200
    # A rebinding page's name is still refused there.
    rebound = httpx.get(f"{local}/healthz", headers={"Host": "attacker.example"})
    assert rebound.status_code == 400
    denied = secured.api.get("/api/v1/events", params={"type": "auth.denied", "limit": 100})
    assert "POST /api/v1/experiments" in {e["resource_id"] for e in denied.json()["events"]}


def test_every_worker_serves_the_local_listener(tmp_path: Path) -> None:
    local = free_port()
    server = ServerProcess(
        tmp_path / "home",
        tls=self_signed(tmp_path / "tls"),
        env={"DOCKYARD_WORKERS": "2", "DOCKYARD_LOCAL_PORT": str(local)},
    )
    server.start()
    try:
        # Each request on a new connection: the workers take turns accepting them.
        for _ in range(20):
            assert httpx.get(f"http://127.0.0.1:{local}/healthz").status_code == 200
    finally:
        server.stop()


def test_a_local_port_in_use_is_one_line(tmp_path: Path) -> None:
    tls: SelfSigned = self_signed(tmp_path / "tls")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ended = serve_until_it_exits(
            tmp_path / "home",
            {
                "DOCKYARD_SSL_CERTFILE": str(tls.cert),
                "DOCKYARD_SSL_KEYFILE": str(tls.key),
                "DOCKYARD_LOCAL_PORT": str(port),
            },
        )
    assert ended.returncode != 0
    lines = ended.stderr.strip().splitlines()
    assert lines[-1].startswith(f"Error: the local listener for jobs cannot bind 127.0.0.1:{port}")
    assert "DOCKYARD_LOCAL_PORT" in lines[-1]


@pytest.mark.slow
def test_a_job_outliving_a_restart_reaches_the_restarted_server(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    server = ServerProcess(
        tmp_path / "home",
        tls=self_signed(tmp_path / "tls"),
        env={"DOCKYARD_DATA_ROOTS": data_roots(tmp_path_factory)},
    )
    server.start()
    try:
        with httpx.Client(base_url=server.url, verify=server.verify) as api:
            api.post("/api/v1/jobs/training", json=behaviour("long", "ok", seconds=3))
            deadline = time.monotonic() + 60
            while api.get("/api/v1/jobs/long").json()["secondary_status"] != "Training":
                assert time.monotonic() < deadline, "the job never began training"
                time.sleep(0.1)
            server.kill()  # the runner lives on, reporting to the local listener's port
            server.start()
            job = _ended(api, "long")
        assert job["status"] == "Completed", job["failure_reason"]
    finally:
        server.stop()


def test_the_cli_and_the_sdk_trust_the_authority_named_in_ssl_cert_file(
    secured: Secured, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert = str(secured.server.tls.cert) if secured.server.tls else ""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(secured.server.home.parent),
        "DOCKYARD_URI": secured.server.url,
        "DOCKYARD_TOKEN": secured.token,
    }
    dockyard = str(Path(sys.executable).parent / "dockyard")

    def whoami(extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [dockyard, "whoami", "--json"],
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    trusted = whoami({"SSL_CERT_FILE": cert})
    assert trusted.returncode == 0, trusted.stderr
    assert '"root"' in trusted.stdout
    refused = whoami({})  # not trusted: said at once, with what to do, not retried for minutes
    assert refused.returncode != 0
    assert "is not trusted" in refused.stderr and "SSL_CERT_FILE" in refused.stderr

    from dockyard.client.sdk._connect import connect
    from dockyard.settings import Settings

    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("SSL_CERT_FILE", cert)
    settings = Settings(home=secured.server.home.parent / "sdk", uri=secured.server.url)
    with connect(settings.model_copy(update={"token": secured.token})) as client:
        assert client.request("GET", "/api/v1/whoami")["name"] == "root"
