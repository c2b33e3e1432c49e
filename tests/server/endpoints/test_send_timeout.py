"""Endpoint workers hold their connections to the server's ``DOCKYARD_SEND_TIMEOUT_S``."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from tests.server.endpoints.conftest import HERE, wait_status
from tests.services.server_process import ServerProcess

from dockyard.client.http import Client
from dockyard.models import save_model

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(
        tmp_path / "home",
        env={"DOCKYARD_DATA_ROOTS": str(tmp_path), "DOCKYARD_SEND_TIMEOUT_S": "1"},
    )
    proc.start()
    yield proc
    client = Client(proc.url, retry_for=5)
    client.request("DELETE", "/api/v1/endpoints/big")
    deadline = time.monotonic() + 30
    while client.request("GET", "/api/v1/endpoints")["endpoints"] and time.monotonic() < deadline:
        time.sleep(0.2)
    client.close()
    proc.stop()


def _tcp_state(sock: socket.socket) -> int:
    """The kernel's TCP state of ``sock``: 7 (``TCP_CLOSE``) once the peer reset it."""
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0]


def test_an_answer_left_unread_is_cut_off_after_the_servers_send_timeout(
    server: ServerProcess, tmp_path: Path
) -> None:
    """Workers were held to a fixed 60 s whatever ``DOCKYARD_SEND_TIMEOUT_S`` said, so a
    client leaving predictions unread kept a worker's connection for a minute."""
    from tests.server.endpoints.big_model import Big

    save_model(Big(), tmp_path / "big", code_paths=[HERE / "big_model.py"])
    variant = {"name": "main", "model_uri": str(tmp_path / "big")}
    with Client(server.url, retry_for=10) as client:
        client.request(
            "POST",
            "/api/v1/endpoints",
            json={"name": "big", "variants": [variant]},
        )
        endpoint = wait_status(client, "big", "InService")
    where = urlsplit(endpoint["url"])
    body = b'{"instances": [[1.0]]}'
    request = (
        b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    with socket.socket() as unread:
        # A fixed, small buffer (no autotuning): most of the ~8 MB answer stays unsent.
        unread.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        unread.connect((where.hostname, where.port))
        unread.sendall(request)
        deadline = time.monotonic() + 20  # well under the 60 s the workers used to hold
        while _tcp_state(unread) != 7:  # polled: the worker resets the connection
            assert time.monotonic() < deadline, "the unread answer was never cut off"
            time.sleep(0.05)
