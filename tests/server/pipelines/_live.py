"""A server in a thread of the test process (uvicorn), for the adapter's tests on the stand-in
core: boto3 needs a real HTTP server, and the stand-in core must be the server's."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import uvicorn
from botocore.config import Config
from tests.services.server_process import free_port

from dockyard.server import create_app
from dockyard.server._services import Services

__all__ = ["served", "stepfunctions"]


@contextmanager
def served(services: Services) -> Iterator[str]:
    """Serve ``services`` on a free loopback port; yields the URL."""
    port = free_port()
    config = uvicorn.Config(
        create_app(services=services), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(20)


def stepfunctions(url: str, token: str | None = None, read_timeout: float = 60) -> Any:
    """boto3's own client, pointed at ``url``."""
    return boto3.client(
        "stepfunctions",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="dockyard",
        aws_secret_access_key="dockyard",
        aws_session_token=token,
        # StartSyncExecution goes to the host "sync-<host>" unless told not to.
        config=Config(
            retries={"max_attempts": 1}, inject_host_prefix=False, read_timeout=read_timeout
        ),
    )
