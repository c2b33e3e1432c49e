from __future__ import annotations

import select
import shutil
import socket
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.runtime.serving.conftest import config, rows, split_body, variant, wait_in_flight

from dockyard.api.serving.client import WorkerAdmin
from dockyard.errors import DockyardError, InvalidArgument


class Load:
    """Clients sending requests back to back until stopped, recording every answer with when
    its request was sent (a client thread may append its answer long after others have)."""

    def __init__(self, url: str, clients: int = 4) -> None:
        self.url = url
        self.answers: list[tuple[int, str, float]] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run) for _ in range(clients)]

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            while not self._stop.is_set():
                sent = time.monotonic()
                try:
                    response = client.post("/invocations", json=split_body(rows(2)))
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))
                    continue
                self.answers.append(
                    (response.status_code, response.headers.get("x-dockyard-variant", ""), sent)
                )

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + 30
        target = len(self.answers) + count
        while len(self.answers) < target and time.monotonic() < deadline:
            time.sleep(0.01)


def test_config_swaps_under_load_fail_no_request(
    serve: Any, packages: dict[str, Path], short_dir: Path, tmp_path: Path
) -> None:
    second = tmp_path / "xgboost-copy"
    shutil.copytree(packages["xgboost"], second)
    cfg = config(short_dir, [variant("blue", packages["xgboost"])], access_log=False)
    with serve(cfg) as w, WorkerAdmin(w.admin_socket) as admin, Load(w.url) as load:
        load.wait_for(50)
        canary = cfg.model_copy(
            update={
                "variants": (
                    cfg.variants[0].model_copy(update={"weight": 9}),
                    *config(short_dir, [variant("green", second, weight=1)]).variants,
                )
            }
        )
        summary = admin.update_config(canary)
        assert summary == {"version": 2, "loaded": ["green"], "kept": ["blue"], "retired": []}
        load.wait_for(200)
        flipped = canary.model_copy(
            update={"variants": (canary.variants[1].model_copy(update={"weight": 1}),)}
        )
        summary = admin.update_config(flipped)
        assert summary == {"version": 3, "loaded": [], "kept": ["green"], "retired": ["blue"]}
        swapped = time.monotonic()
        load.wait_for(100)
        # Requests sent before the swap answered may be blue's; none sent after it.
        after = Counter(name for _, name, sent in list(load.answers) if sent > swapped)
        # Retired, blue's statistics end once its last requests are answered (polled).
        deadline = time.monotonic() + 30
        while "blue" in (stats := admin.stats())["variants"]:
            assert time.monotonic() < deadline, "the retired variant's statistics stayed"
            time.sleep(0.05)
    assert load.failures == []
    statuses = Counter(status for status, _, _ in load.answers)
    assert set(statuses) == {200}, statuses
    seen = Counter(name for _, name, _ in load.answers)
    assert seen["blue"] > 0 and seen["green"] > 0
    assert set(after) == {"green"}
    assert set(stats["variants"]) == {"green"}
    assert stats["variants"]["green"]["serving"]["model_path"] == str(second)
    assert stats["worker"]["config_version"] == 3


def test_bad_configs_are_refused_and_the_old_one_keeps_serving(
    serve: Any, packages: dict[str, Path], short_dir: Path, tmp_path: Path
) -> None:
    cfg = config(short_dir, [variant("blue", packages["xgboost"])])
    with serve(cfg) as w, WorkerAdmin(w.admin_socket) as admin:
        missing = cfg.model_copy(
            update={
                "variants": (
                    cfg.variants[0].model_copy(update={"model_path": str(tmp_path / "none")}),
                )
            }
        )
        with pytest.raises(DockyardError) as caught:
            admin.update_config(missing)
        assert str(tmp_path / "none") in str(caught.value)
        assert caught.value.details["variant"] == "blue"  # whoever rolls back can say which
        with pytest.raises(InvalidArgument, match="port cannot change") as fixed:
            admin.update_config(cfg.model_copy(update={"port": 1}))
        assert fixed.value.field == "port"
        raw = httpx.Client(transport=httpx.HTTPTransport(uds=w.admin_socket), base_url="http://w")
        with raw:
            invalid = raw.put("/config", content=b'{"endpoint": "ep", "variants": []}')
            assert invalid.status_code == 400
            assert invalid.json()["field"] == "variants"
            assert raw.get("/nope").status_code == 404
            assert raw.post("/stats").status_code == 405
        assert admin.config()[0] == 1
        assert w.client.post("/invocations", json=split_body(rows(1))).status_code == 200


def test_stats_and_metrics_describe_each_variant(
    serve: Any, packages: dict[str, Path], short_dir: Path
) -> None:
    cfg = config(
        short_dir,
        [
            variant("blue", packages["xgboost"], executor="inline"),
            variant("py", packages["times10"], weight=0),
        ],
    )
    with serve(cfg) as w, WorkerAdmin(w.admin_socket) as admin:
        for _ in range(3):
            w.client.post("/invocations", json=split_body(rows(1)))
        w.client.post(
            "/invocations",
            json={"instances": [{"x": 1.0}]},
            headers={"x-dockyard-target-variant": "py"},
        )
        stats = admin.stats()
        metrics = admin.metrics()
        assert admin.health() == {"status": "serving", "version": 1}
    blue, py = stats["variants"]["blue"], stats["variants"]["py"]
    assert blue["requests"] == 3 and blue["by_status"] == {"200": 3}
    assert blue["latency_s"]["count"] == 3 and blue["latency_s"]["p99"] > 0
    assert blue["serving"] | {"digest": None} == {
        "model_path": str(packages["xgboost"]),
        "flavor": "xgboost",
        "digest": None,
        "weight": 1.0,
        "shadow": False,
        "executor": "inline",
        "batching": True,
        "max_batch_size": 256,
        "fast_input": True,
        "native_predict": True,
        "inference_handlers": False,
    }
    assert py["serving"]["executor"] == "thread" and py["serving"]["batching"] is False
    assert stats["worker"]["port"] == w.worker.port
    assert (
        'dockyard_endpoint_requests_total{endpoint="ep",variant="blue",status="200"} 3' in metrics
    )


def test_drain_finishes_in_flight_requests_then_stops(
    serve: Any, packages: dict[str, Path], short_dir: Path
) -> None:
    cfg = config(short_dir, [variant("slow", packages["sleeper"])])
    results: list[httpx.Response] = []
    with serve(cfg) as w:
        body = {"instances": [{"x": 3.0}], "params": {"seconds": 0.5}}
        slow = threading.Thread(
            target=lambda: results.append(httpx.post(f"{w.url}/invocations", json=body, timeout=30))
        )
        slow.start()
        wait_in_flight(w.admin_socket, "slow")
        with WorkerAdmin(w.admin_socket) as admin:
            admin.drain()
        slow.join(30)
        w.thread.join(30)
        assert not w.thread.is_alive()
        with pytest.raises(httpx.ConnectError):
            httpx.post(f"{w.url}/invocations", json={"instances": [{"x": 1.0}]})
    assert results[0].status_code == 200 and results[0].json() == {"predictions": [3.0]}
    assert not Path(cfg.admin_socket or "").exists()


def test_new_connection_limits_hold_the_connections_opened_after_them(
    serve: Any, packages: dict[str, Path], short_dir: Path
) -> None:
    """A server restarted with other limits pushes them to the workers that ran on: a running
    worker refused them (``header_timeout_s cannot change``), and with them the whole config,
    API keys included."""
    cfg = config(short_dir, [variant("blue", packages["xgboost"])], header_timeout_s=60)
    with serve(cfg) as w, WorkerAdmin(w.admin_socket) as admin:
        where = ("127.0.0.1", w.worker.port)
        with socket.create_connection(where, timeout=10) as before:
            before.sendall(b"GET /ping HTTP/1.1\r\nx-slow: a")  # headers never finished
            assert admin.update_config(cfg.model_copy(update={"header_timeout_s": 1.0}))
            assert admin.config()[1].header_timeout_s == 1.0
            with socket.create_connection(where, timeout=10) as after:
                after.sendall(b"GET /ping HTTP/1.1\r\nx-slow: a")
                after.settimeout(10)  # the new limit is 1 s; the old one was 60
                answer = after.recv(65536)
                assert answer.startswith(b"HTTP/1.1 408"), answer
                assert b"headers did not arrive within 1 s" in answer
            # A connection opened before keeps the limits it opened under: still waiting.
            readable, _, _ = select.select([before], [], [], 0)
            assert not readable
        assert w.client.post("/invocations", json=split_body(rows(1))).status_code == 200
