from __future__ import annotations

import socket
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from tests.runtime.serving.conftest import config, rows, split_body, variant

from dockyard.api.serving.client import WorkerAdmin


def test_body_over_the_limit_is_413_by_declared_length(
    serve: Any, packages: dict[str, Path], short_dir: Path
) -> None:
    cfg = config(short_dir, [variant("v", packages["xgboost"])], max_body_bytes=1000)
    with serve(cfg) as w:
        response = w.client.post("/invocations", content=b"[" + b"1," * 600 + b"1]")
        assert response.status_code == 413
        assert "1000 bytes" in response.json()["message"]
        assert w.client.post("/invocations", json=split_body(rows(1))).status_code == 200


def test_body_over_the_limit_is_413_when_streamed_without_a_length(
    serve: Any, packages: dict[str, Path], short_dir: Path
) -> None:
    cfg = config(short_dir, [variant("v", packages["xgboost"])], max_body_bytes=1000)

    def chunks() -> Any:
        for _ in range(50):
            yield b" " * 100  # JSON whitespace: only the size is wrong

    with serve(cfg) as w:
        response = w.client.post(
            "/invocations", content=chunks(), headers={"content-type": "application/json"}
        )
        assert response.status_code == 413
        assert response.request.headers["transfer-encoding"] == "chunked"
        assert w.client.post("/invocations", json=split_body(rows(1))).status_code == 200


def test_timeout_is_504_saying_so_and_the_worker_keeps_serving(
    serve: Any, packages: dict[str, Path], short_dir: Path
) -> None:
    cfg = config(short_dir, [variant("slow", packages["sleeper"])], request_timeout_s=0.2)
    with serve(cfg) as w:
        slow = {"instances": [{"x": 1.0}], "params": {"seconds": 0.6}}
        response = w.client.post("/invocations", json=slow)
        assert response.status_code == 504
        body = response.json()
        assert body["code"] == "deadline_exceeded"
        assert "0.2 s timeout" in body["message"]
        assert body["request_id"] == response.headers["x-request-id"]
        assert response.headers["x-dockyard-variant"] == "slow"
        time.sleep(0.6)  # the model's thread is busy until its call ends; then it answers again
        fast = w.client.post("/invocations", json={"instances": [{"x": 2.0}]})
        assert fast.status_code == 200, fast.text
        assert fast.json() == {"predictions": [2.0]}


def test_model_exception_on_its_input_is_400_with_request_id_and_no_traceback(
    serve: Any, packages: dict[str, Path], short_dir: Path
) -> None:
    # The input is what the model could not score (MLflow's scoring server answers it 400
    # too); the rollout still counts it as the model's failure.
    cfg = config(short_dir, [variant("f", packages["fragile"])])
    with serve(cfg) as w:
        response = w.client.post("/invocations", json={"instances": [{"x": -1.0}]})
        assert response.status_code == 400
        body = response.json()
        assert body["code"] == "input_rejected"
        assert "negative input reached the model" in body["message"]
        assert "Traceback" not in response.text and "File " not in response.text
        assert body["request_id"] == response.headers["x-request-id"]
        after = w.client.post("/invocations", json={"instances": [{"x": 1.0}]})
        assert after.status_code == 200 and after.json() == {"predictions": [2.0]}
        with WorkerAdmin(w.admin_socket) as admin:
            stats = admin.stats()["variants"]["f"]
        assert stats["by_status"] == {"200": 1, "400": 1}
        assert stats["errors"] == {"input_rejected": 1}
        assert stats["failed"] == 1 and stats["error_rate"] == 0.5


def test_a_failing_request_in_a_merged_batch_fails_alone(
    serve: Any, packages: dict[str, Path], short_dir: Path
) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    cfg = config(short_dir, [variant("f", packages["fragile"], batching={"enabled": True})])
    barrier = threading.Barrier(12)
    with serve(cfg) as w:

        def call(i: int) -> tuple[int, int]:
            barrier.wait()
            x = -1.0 if i == 5 else float(i)
            return i, w.client.post("/invocations", json={"instances": [{"x": x}]}).status_code

        with ThreadPoolExecutor(12) as pool:
            statuses = dict(pool.map(call, range(12)))
    assert statuses.pop(5) == 400
    assert set(statuses.values()) == {200}


def test_request_ids_are_echoed_when_sane_and_generated_otherwise(
    serve: Any, packages: dict[str, Path], short_dir: Path
) -> None:
    with serve(config(short_dir, [variant("v", packages["xgboost"])])) as w:
        mine = w.client.post(
            "/invocations", json=split_body(rows(1)), headers={"x-request-id": "trace-42"}
        )
        assert mine.headers["x-request-id"] == "trace-42"
        odd = w.client.post(
            "/invocations", json=split_body(rows(1)), headers={"x-request-id": "a b"}
        )
        generated = {odd.headers["x-request-id"]}
        generated |= {
            w.client.post("/invocations", json=split_body(rows(1))).headers["x-request-id"]
            for _ in range(3)
        }
        assert len(generated) == 4 and "a b" not in generated


def test_pinning_and_weighted_split(serve: Any, packages: dict[str, Path], short_dir: Path) -> None:
    cfg = config(
        short_dir,
        [
            variant("a", packages["xgboost"], weight=3),
            variant("b", packages["xgboost"], weight=1),
            variant("c", packages["xgboost"], weight=0),
        ],
    )
    with serve(cfg) as w:
        seen = Counter(
            w.client.post("/invocations", json=split_body(rows(1))).headers["x-dockyard-variant"]
            for _ in range(400)
        )
        assert seen["c"] == 0
        assert 0.68 < seen["a"] / 400 < 0.82  # 0.75 expected; 3 binomial sd either side
        pinned = w.client.post(
            "/invocations", json=split_body(rows(1)), headers={"x-dockyard-target-variant": "c"}
        )
        assert pinned.status_code == 200 and pinned.headers["x-dockyard-variant"] == "c"
        unknown = w.client.post(
            "/invocations", json=split_body(rows(1)), headers={"x-dockyard-target-variant": "zzz"}
        )
        assert unknown.status_code == 400
        assert "'zzz'" in unknown.json()["message"] and "a, b, c" in unknown.json()["message"]
        assert unknown.json()["field"] == "X-Dockyard-Target-Variant"


def test_every_response_carries_a_request_id(
    serve: Any, packages: dict[str, Path], short_dir: Path
) -> None:
    with serve(config(short_dir, [variant("v", packages["xgboost"])])) as w:
        for path in ("/ping", "/health", "/version", "/v2", "/v2/health/ready", "/v2/models/ep"):
            response = w.client.get(path)
            assert response.status_code == 200, path
            assert response.headers["x-request-id"], path
        pinned = w.client.get("/v2/models/v")
        assert pinned.headers["x-dockyard-variant"] == "v"


def test_unknown_routes_and_methods(serve: Any, packages: dict[str, Path], short_dir: Path) -> None:
    with serve(config(short_dir, [variant("v", packages["xgboost"])])) as w:
        missing = w.client.get("/nope")
        assert missing.status_code == 404 and "/nope" in missing.json()["message"]
        wrong = w.client.get("/invocations")
        assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"


def test_access_log_has_one_json_line_per_request(
    serve: Any, packages: dict[str, Path], short_dir: Path
) -> None:
    with serve(config(short_dir, [variant("v", packages["xgboost"])])) as w:
        ids = [
            w.client.post("/invocations", json=split_body(rows(1))).headers["x-request-id"]
            for _ in range(3)
        ]
        w.client.post("/invocations", content=b"{")
        log = w.log
    lines = [orjson.loads(line) for line in log.getvalue().splitlines()]
    assert [line["request_id"] for line in lines[:3]] == ids
    assert {line["variant"] for line in lines} == {"v"}
    assert [line["status"] for line in lines] == [200, 200, 200, 400]
    assert all(line["path"] == "/invocations" and line["latency_ms"] >= 0 for line in lines)


def test_client_that_disconnects_mid_body_does_not_disturb_the_worker(
    serve: Any, packages: dict[str, Path], short_dir: Path
) -> None:
    with serve(config(short_dir, [variant("v", packages["xgboost"])])) as w:
        with socket.create_connection(("127.0.0.1", w.worker.port)) as raw:
            raw.sendall(
                b"POST /invocations HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                b'content-length: 500\r\n\r\n{"in'
            )
        assert w.client.post("/invocations", json=split_body(rows(1))).status_code == 200
        with pytest.raises(httpx.HTTPError):
            httpx.post(
                f"{w.url}/invocations", content=b"x", headers={"content-length": "notanumber"}
            )
        assert w.client.get("/ping").status_code == 200
