from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.runtime.serving.conftest import Launched, config, rows, running, split_body, variant

from dockyard.api.serving.client import WorkerAdmin
from dockyard.api.serving.config import WorkerConfig
from dockyard.runtime.serving.worker import Worker, bind_reuseport, main


def in_flight(admin_socket: str, variant_name: str) -> int:
    with WorkerAdmin(admin_socket) as admin:
        return int(admin.stats()["variants"].get(variant_name, {}).get("in_flight", 0))


def test_workers_share_a_port_and_sigterm_drains_one_without_closing_it(
    spawned: Callable[[WorkerConfig], Launched], packages: dict[str, Path], short_dir: Path
) -> None:
    variants = [variant("v", packages["xgboost"]), variant("slow", packages["sleeper"], weight=0)]
    with socket.socket() as holder:  # holds the port (bound, not listening) for both workers
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]
        both = [spawned(config(short_dir, variants, port=port)) for _ in "ab"]
        workers = [launched.ready() for launched in both]  # they start side by side
    assert [w.ready["port"] for w in workers] == [port, port]
    assert [w.ready["pid"] for w in workers] == [w.proc.pid for w in workers]
    url = f"http://127.0.0.1:{port}"
    fresh = httpx.Limits(max_keepalive_connections=0)  # a new connection per request
    with httpx.Client(base_url=url, limits=fresh) as client:
        prefixes = set()
        for _ in range(40):  # the kernel spreads new connections over both workers
            response = client.post("/invocations", json=split_body(rows(1)))
            assert response.status_code == 200
            prefixes.add(response.headers["x-request-id"].split("-")[0])
        assert len(prefixes) == 2

    answers: list[httpx.Response] = []
    body = {"instances": [{"x": 5.0}], "params": {"seconds": 0.6}}
    pin = {"x-dockyard-target-variant": "slow"}
    with httpx.Client(base_url=url, timeout=30) as keep_alive:
        slow = threading.Thread(
            target=lambda: answers.append(keep_alive.post("/invocations", json=body, headers=pin))
        )
        slow.start()
        deadline = time.monotonic() + 30
        busy: list[Any] = []
        while not busy and time.monotonic() < deadline:
            busy = [w for w in workers if in_flight(w.ready["admin_socket"], "slow")]
        assert busy, "the slow request never reached a worker"
        leaving = busy[0]
        assert leaving.stop() == 0  # SIGTERM: drain, then exit 0
        slow.join(30)
    assert answers[0].status_code == 200 and answers[0].json() == {"predictions": [5.0]}
    assert answers[0].headers["connection"] == "close"  # keep-alive clients are told to go
    assert not Path(leaving.ready["admin_socket"]).exists()
    with httpx.Client(base_url=url, limits=fresh) as client:
        for _ in range(20):  # the port never closed: the other worker takes every connection
            assert client.post("/invocations", json=split_body(rows(1))).status_code == 200


def test_an_inherited_listening_socket_is_served(
    packages: dict[str, Path], short_dir: Path
) -> None:
    sock = bind_reuseport("127.0.0.1", 0)
    port = sock.getsockname()[1]
    cfg = config(short_dir, [variant("v", packages["xgboost"])], port=port)
    with running(cfg, sock=sock) as w:
        assert w.worker.port == port
        assert w.client.post("/invocations", json=split_body(rows(1))).status_code == 200


def test_a_drain_requested_while_models_load_stops_before_binding(
    packages: dict[str, Path], short_dir: Path
) -> None:
    import uvloop

    cfg = config(short_dir, [variant("v", packages["xgboost"])])
    worker = Worker(cfg)
    worker.drain()  # e.g. SIGTERM while the models load
    ready: list[Worker] = []
    uvloop.run(worker.serve(ready.append))
    assert ready == [] and worker.port is None
    assert not Path(worker.admin_socket).exists()


def last_event(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    return event


def test_bad_config_exits_2_naming_the_field(
    short_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = short_dir / "bad.json"
    path.write_text(
        json.dumps(
            {"endpoint": "ep", "variants": [{"name": "v", "model_path": "/m", "weight": -1}]}
        )
    )
    assert main(["--config", str(path)]) == 2
    event = last_event(capsys)
    assert event["event"] == "error" and "variants.0.weight" in event["message"]
    assert main(["--config", str(short_dir / "absent.json")]) == 2
    assert "absent.json" in last_event(capsys)["message"]


def test_a_model_that_cannot_load_exits_1_before_binding(
    short_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = short_dir / "missing.json"
    path.write_text(
        config(short_dir, [variant("v", tmp_path / "missing")], port=port).model_dump_json()
    )
    assert main(["--config", str(path)]) == 1
    event = last_event(capsys)
    assert event["stage"] == "start" and "missing" in event["message"]
    with socket.socket() as again:
        again.bind(("127.0.0.1", port))  # never bound by the worker: the port is still free
