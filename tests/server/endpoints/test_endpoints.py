"""Endpoints end to end: variants, protocols, rollouts with rollback under load, crashes,
restarts, autoscaling, capture and bad input."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import psutil
import pytest
from tests.server.endpoints.conftest import HERE, ROW, Load, wait_status
from tests.services.server_process import ServerProcess

import dockyard as dy
from dockyard.client.http import Client
from dockyard.client.sdk import reset_context
from dockyard.models import save_model
from dockyard.settings import Settings

pytestmark = pytest.mark.slow


def _create(client: Client, body: dict) -> dict:  # type: ignore[type-arg]
    client.request("POST", "/api/v1/endpoints", json=body)
    return wait_status(client, body["name"], "InService")


def test_two_variants_split_traffic_and_speak_three_protocols(client: Client, models) -> None:  # type: ignore[no-untyped-def]
    endpoint = _create(
        client,
        {
            "name": "split",
            "variants": [
                {"name": "blue", "model_uri": models["one"], "weight": 9},
                {"name": "green", "model_uri": models["ten"], "weight": 1},
            ],
        },
    )
    assert endpoint["traffic"] == {"blue": 0.9, "green": 0.1}
    url = endpoint["url"]
    counts = {"blue": 0, "green": 0}
    with httpx.Client(base_url=url) as http:
        for _ in range(300):
            counts[http.post("/invocations", json=ROW).headers["x-dockyard-variant"]] += 1
        pinned = http.post("/invocations", json=ROW, headers={"x-dockyard-target-variant": "green"})
        csv = http.post(
            "/invocations", content=b"1,2,3\n0,0,0", headers={"content-type": "text/csv"}
        )
        oip = http.post(
            "/v2/models/split/infer",
            json={
                "inputs": [
                    {"name": n, "shape": [1], "datatype": "FP64", "data": [v]}
                    for n, v in (("a", 1.0), ("b", 2.0), ("c", 3.0))
                ]
            },
        )
    assert 10 <= counts["green"] <= 60, counts  # 10% of 300 = 30
    assert pinned.headers["x-dockyard-variant"] == "green"
    assert pinned.json()["predictions"][0] == pytest.approx(40.0)
    assert len(csv.text.splitlines()) == 2  # CSV in, CSV out: no Accept asked otherwise
    assert oip.json()["outputs"][0]["data"][0] == pytest.approx(4.0, abs=1e-6) or (
        oip.json()["outputs"][0]["data"][0] == pytest.approx(40.0)
    )


def test_sdk_deploy_and_predictor(server: ServerProcess, models, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    reset_context(Settings(home=tmp_path / "client", uri=server.url))
    endpoint = dy.deploy(models["one"], name="sdk")
    frame = pd.DataFrame({"a": [1.0, 0.0], "b": [2.0, 0.0], "c": [3.0, 0.0]})
    predictor = dy.Predictor("sdk")
    assert np.allclose(predictor.predict(frame), [4.0, 0.0])
    csv = dy.Predictor(endpoint.url, serializer=dy.CSVSerializer())
    assert np.allclose(csv.predict(frame.to_numpy()), [4.0, 0.0])
    assert csv.last_variant == "primary"
    with pytest.raises(dy.InvalidArgument):
        predictor.predict(pd.DataFrame({"x": [1.0]}))  # signature: missing columns a, b, c
    # Deploying again while an update still rolls out waits for it, then deploys over it.
    dy.deploy(models["ten"], name="sdk", wait=False)
    assert dy.deploy(models["one"], name="sdk").describe().status.value == "InService"
    assert np.allclose(predictor.predict(frame), [4.0, 0.0])
    predictor.close()
    csv.close()
    reset_context(Settings(home=tmp_path / "client"))


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"variants": "models:/wine/1"}, "variants"),  # a URI where a list of variants goes
        ({"variants": {"name": "a", "model_uri": "models:/wine/1"}}, "variants"),
        ({"variants": ["models:/wine/1"]}, "variants.0"),
        ({"model_uri": "models:/wine/1", "capture": "yes"}, "capture"),
        ({"model_uri": "models:/wine/1", "scaling": [1, 2]}, "scaling"),
    ],
)
def test_sdk_deploy_names_a_malformed_argument(
    server: ServerProcess,
    tmp_path: Path,
    arguments: dict,  # type: ignore[type-arg]
    field: str,
) -> None:
    reset_context(Settings(home=tmp_path / "client", uri=server.url))
    try:
        with pytest.raises(dy.InvalidArgument) as caught:
            dy.deploy(name="malformed", **arguments)
        assert caught.value.field == field, caught.value.message
        with pytest.raises(dy.InvalidArgument, match=r"mapping .* not str") as caught:
            dy.EndpointHandle("malformed").update("models:/wine/1")  # type: ignore[arg-type]
        assert caught.value.field == "config"
    finally:
        reset_context(Settings(home=tmp_path / "client"))


def test_canary_update_under_load_fails_no_request(client: Client, models) -> None:  # type: ignore[no-untyped-def]
    endpoint = _create(
        client, {"name": "canary", "variants": [{"name": "v1", "model_uri": models["one"]}]}
    )
    with Load(endpoint["url"]) as load:
        time.sleep(0.5)
        client.request(
            "PUT",
            "/api/v1/endpoints/canary",
            json={
                "name": "canary",
                "variants": [{"name": "v2", "model_uri": models["ten"]}],
                "rollout": {"strategy": "canary", "canary_pct": 30, "bake_s": 1.5},
            },
        )
        done = wait_status(client, "canary", "InService")
        time.sleep(0.5)
    assert load.failures == {}, load.statuses
    assert load.variants.get("v1", 0) > 0 and load.variants.get("v2", 0) > 0
    assert done["traffic"] == {"v2": 1.0} and done["failure_reason"] is None
    messages = [e["message"] for e in done["events"]]
    assert "30% of traffic on the new configuration (step 1 of 2, held 1.5 s)" in messages
    assert "100% of traffic on the new configuration (step 2 of 2)" in messages
    assert messages[-1] == "update complete"


def test_breach_rolls_back_under_load_and_fails_no_request(client: Client, models) -> None:  # type: ignore[no-untyped-def]
    endpoint = _create(
        client, {"name": "rollback", "variants": [{"name": "stable", "model_uri": models["one"]}]}
    )
    with Load(endpoint["url"]) as load:
        time.sleep(0.5)
        client.request(
            "PUT",
            "/api/v1/endpoints/rollback",
            json={
                "name": "rollback",
                "variants": [{"name": "stable", "model_uri": models["ten"]}],
                "rollout": {
                    "strategy": "linear",
                    "linear_steps": 2,
                    "bake_s": 5,
                    "thresholds": {"max_p99_ms": 0.001, "min_requests": 5},
                },
            },
        )
        time.sleep(0.5)
        done = wait_status(client, "rollback", "InService")
        time.sleep(0.5)
    assert load.failures == {}, load.statuses
    statuses = [e["status"] for e in done["events"]]
    assert "RollingBack" in statuses
    assert done["failure_reason"].startswith("update rolled back: p99 latency")
    assert done["traffic"] == {"stable": 1.0}
    assert done["config"]["variants"][0]["model_uri"] == models["one"]
    with httpx.Client(base_url=endpoint["url"]) as http:
        assert http.post("/invocations", json=ROW).json()["predictions"][0] == pytest.approx(4.0)


def _listening_sockets(pid: int) -> set[str]:
    """The inodes of the TCP sockets ``pid`` listens on."""
    held = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):  # an fd closed meanwhile
            target = str(fd.readlink())
            if target.startswith("socket:["):
                held.add(target[len("socket:[") : -1])
    listening = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A":  # TCP_LISTEN
                    listening.add(fields[9])
    return held & listening


def test_crashed_worker_is_replaced(client: Client, models) -> None:  # type: ignore[no-untyped-def]
    endpoint = _create(
        client,
        {
            "name": "crash",
            "variants": [{"name": "only", "model_uri": models["one"]}],
            "scaling": {"min_workers": 2, "max_workers": 2},
        },
    )
    stats = client.request("GET", "/api/v1/endpoints/crash", params={"stats": True})
    pids = [w["pid"] for w in stats["stats"]["workers"]]
    assert len(pids) == 2
    shared = _listening_sockets(pids[0])
    assert len(shared) == 1 and _listening_sockets(pids[1]) == shared  # one accept queue
    # No waiting for the kill to take: a worker's threads may hold its files after it looks
    # dead, and a connection the kernel queues meanwhile must reach the survivor, not a reset.
    os.kill(pids[0], signal.SIGKILL)
    fresh = httpx.Limits(max_keepalive_connections=0)  # a new connection per request
    with httpx.Client(base_url=endpoint["url"], limits=fresh) as http:
        answered = sum(http.post("/invocations", json=ROW).status_code == 200 for _ in range(50))
    assert answered == 50  # the surviving worker answers every new connection
    deadline = time.monotonic() + 60
    while True:
        described = client.request("GET", "/api/v1/endpoints/crash", params={"stats": True})
        live = [w["pid"] for w in described["stats"]["workers"]]
        if len(live) == 2 and pids[0] not in live:
            break
        assert time.monotonic() < deadline, live
        time.sleep(0.2)
    assert any("exited; replacing it" in e["message"] for e in described["events"])
    client.request("DELETE", "/api/v1/endpoints/crash")
    deadline = time.monotonic() + 60
    while any(
        e["name"] == "crash" for e in client.request("GET", "/api/v1/endpoints")["endpoints"]
    ):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    with pytest.raises(httpx.ConnectError):  # the server let go of the port too
        httpx.post(f"{endpoint['url']}/invocations", json=ROW)


def _workers(client: Client, name: str) -> list[int]:
    described = client.request("GET", f"/api/v1/endpoints/{name}", params={"stats": True})
    return [w["pid"] for w in described["stats"]["workers"]]


def _wait_workers(client: Client, name: str, count: int, timeout: float = 60) -> list[int]:
    deadline = time.monotonic() + timeout
    while len(pids := _workers(client, name)) != count:
        assert time.monotonic() < deadline, pids
        time.sleep(0.2)
    return pids


def test_a_worker_that_fails_to_load_is_retried_while_the_others_serve(
    client: Client, tmp_path: Path
) -> None:
    from tests.server.endpoints.flaky_model import Flaky

    tickets = tmp_path / "tickets"
    tickets.mkdir()
    # Load 0 starts the first worker; load 1 (the second worker) fails and is retried as load
    # 2. After a crash, the replacement's first load (3) fails too, then load 4 serves.
    (tickets / "fail").write_text("1 3")
    save_model(Flaky(str(tickets)), tmp_path / "flaky", code_paths=[HERE / "flaky_model.py"])
    endpoint = _create(
        client,
        {
            "name": "flaky",
            "variants": [{"name": "only", "model_uri": str(tmp_path / "flaky")}],
            "scaling": {"min_workers": 2, "max_workers": 2},
        },
    )
    pids = _wait_workers(client, "flaky", 2)
    os.kill(pids[0], signal.SIGKILL)
    with httpx.Client(base_url=endpoint["url"]) as http:
        assert http.post("/invocations", json=ROW).status_code == 200
    deadline = time.monotonic() + 60
    while True:
        live = _workers(client, "flaky")
        if len(live) == 2 and pids[0] not in live:
            break
        assert time.monotonic() < deadline, live
        time.sleep(0.2)
    assert (tickets / "load-4").exists()
    described = client.request("GET", "/api/v1/endpoints/flaky")
    assert described["status"] == "InService" and described["failure_reason"] is None
    events = described["events"]
    assert "Failed" not in {e["status"] for e in events}
    failed = [e["message"] for e in events if "a worker failed to start" in e["message"]]
    assert [("load 1 fails" in m, "load 3 fails" in m) for m in failed] == [
        (True, False),
        (False, True),
    ], failed
    assert not (tickets / "load-5").exists()


def test_autoscaling_follows_in_flight_requests(client: Client, models) -> None:  # type: ignore[no-untyped-def]
    endpoint = _create(
        client,
        {
            "name": "scale",
            "variants": [{"name": "slow", "model_uri": models["slow"]}],
            "scaling": {"min_workers": 1, "max_workers": 2, "target_in_flight": 1, "cooldown_s": 1},
        },
    )
    with Load(endpoint["url"], clients=8):
        deadline = time.monotonic() + 60
        while client.request("GET", "/api/v1/endpoints/scale")["workers"] < 2:
            assert time.monotonic() < deadline
            time.sleep(0.2)
    deadline = time.monotonic() + 60
    while client.request("GET", "/api/v1/endpoints/scale")["workers"] > 1:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    messages = [e["message"] for e in client.request("GET", "/api/v1/endpoints/scale")["events"]]
    assert any(m.startswith("scaling out to 2") for m in messages)
    assert any(m.startswith("scaling in to 1") for m in messages)


def test_capture_and_shadow_records_are_written(
    client: Client,
    server: ServerProcess,  # type: ignore[no-untyped-def]
    models,
) -> None:
    endpoint = _create(
        client,
        {
            "name": "capture",
            "variants": [{"name": "main", "model_uri": models["one"]}],
            "shadow": {"name": "candidate", "model_uri": models["ten"], "sampling_pct": 100},
            "capture": {"enabled": True, "sampling_pct": 100},
        },
    )
    with httpx.Client(base_url=endpoint["url"]) as http:
        for _ in range(20):
            assert http.post("/invocations", json=ROW).headers["x-dockyard-variant"] == "main"
    client.request("DELETE", "/api/v1/endpoints/capture")  # draining flushes capture
    deadline = time.monotonic() + 60
    root = server.home / "artifacts" / "capture" / "capture"
    while not (list(root.glob("main/*/*/*/*/*.jsonl")) and list(root.glob("candidate/**/*.jsonl"))):
        assert time.monotonic() < deadline, list(root.rglob("*"))
        time.sleep(0.2)
    records = [
        json.loads(line)
        for f in root.glob("main/**/*.jsonl")
        for line in f.read_text().splitlines()
    ]
    assert len(records) == 20


def test_endpoint_survives_a_server_restart(
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    models,  # type: ignore[no-untyped-def]
) -> None:
    roots = {"DOCKYARD_DATA_ROOTS": str(tmp_path_factory.getbasetemp())}
    proc = ServerProcess(tmp_path / "home", env=roots)
    proc.start()
    client = Client(proc.url, retry_for=30)
    endpoint = _create(
        client, {"name": "durable", "variants": [{"name": "only", "model_uri": models["one"]}]}
    )
    proc.kill()
    with httpx.Client(base_url=endpoint["url"]) as http:
        assert http.post("/invocations", json=ROW).status_code == 200  # workers outlive it
    proc.start()
    described = wait_status(client, "durable", "InService")
    assert described["url"] == endpoint["url"]
    with httpx.Client(base_url=endpoint["url"]) as http:
        assert http.post("/invocations", json=ROW).status_code == 200
    assert client.request("GET", "/api/v1/endpoints/durable")["workers"] == 1
    client.request("DELETE", "/api/v1/endpoints/durable")
    deadline = time.monotonic() + 30
    while client.request("GET", "/api/v1/endpoints")["endpoints"]:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    client.close()
    proc.stop()


def _loading(gate: Path) -> list[int]:
    return sorted(int(p.name.removeprefix("loading-")) for p in gate.glob("loading-*"))


def _until(what: str, check: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"no {what} in {timeout} s"
        time.sleep(0.05)


def test_a_worker_loading_when_the_server_is_killed_does_not_serve_beside_the_fleet(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from tests.server.endpoints.gated_model import Gated

    gate = tmp_path / "gate"
    gate.mkdir()
    save_model(Gated(), tmp_path / "gated", code_paths=[HERE / "gated_model.py"])
    env = {"DOCKYARD_DATA_ROOTS": str(tmp_path_factory.getbasetemp()), "GATE_DIR": str(gate)}
    proc = ServerProcess(tmp_path / "home", env=env)
    proc.start()
    client = Client(proc.url, retry_for=30)
    first: psutil.Process | None = None
    try:
        variant = {"name": "only", "model_uri": str(tmp_path / "gated")}
        client.request("POST", "/api/v1/endpoints", json={"name": "loading", "variants": [variant]})
        _until("worker loading", lambda: len(_loading(gate)) == 1)
        first = psutil.Process(_loading(gate)[0])
        proc.kill()  # while the endpoint's first worker loads, not yet recorded
        proc.start()
        _until("second worker loading", lambda: len(_loading(gate)) == 2)
        (second,) = set(_loading(gate)) - {first.pid}
        (gate / "open").touch()
        endpoint = wait_status(client, "loading", "InService")
        # The first would serve the endpoint's port beside the fleet, followed by no one, even
        # after the endpoint is deleted.
        _, alive = psutil.wait_procs([first], timeout=30)
        assert not alive, "a worker the killed server started serves on, unrecorded"
        with httpx.Client(base_url=endpoint["url"]) as http:
            answers = [http.post("/invocations", json=ROW).json() for _ in range(20)]
        assert {a["predictions"][0] for a in answers} == {float(second)}
        assert client.request("GET", "/api/v1/endpoints/loading")["workers"] == 1
        # What said where each worker was until it was recorded (or swept) is gone.
        assert not list(proc.home.rglob("starting-*.json"))
        client.request("DELETE", "/api/v1/endpoints/loading")
        _until("deletion", lambda: not client.request("GET", "/api/v1/endpoints")["endpoints"])
    finally:
        client.close()
        proc.stop()
        if first is not None and first.is_running():
            first.kill()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"name": "bad", "variants": [{"name": "v", "model_uri": "<roots>/no/model"}]},
            "variants.0.model_uri",
        ),
        (
            {"name": "bad", "variants": [{"name": "v", "model_uri": "models:/nothing/1"}]},
            "variants.0.model_uri",
        ),
        ({"name": "bad", "variants": []}, "variants"),
        ({"name": "bad name", "variants": [{"name": "v", "model_uri": "/x"}]}, "name"),
        (
            {"name": "bad", "variants": [{"name": "v", "model_uri": "/x"}], "surprise": 1},
            "surprise",
        ),
        (
            {"name": "bad", "variants": [{"name": "v", "model_uri": "~nouser/x"}]},
            "variants.0.model_uri",
        ),
    ],
    ids=["missing-path", "unknown-registered", "no-variants", "name", "unknown-field", "no-user"],
)
def test_bad_configs_name_the_field(
    client: Client,
    body: dict,  # type: ignore[type-arg]
    field: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    roots = str(tmp_path_factory.getbasetemp())
    body = json.loads(json.dumps(body).replace("<roots>", roots))
    with pytest.raises(dy.InvalidArgument) as caught:
        client.request("POST", "/api/v1/endpoints", json=body)
    assert caught.value.field == field, caught.value.message


def test_models_and_capture_only_inside_the_allowed_roots(
    client: Client,
    models,  # type: ignore[no-untyped-def]
) -> None:
    variant = {"name": "v", "model_uri": models["one"]}
    cases = [
        ({"variants": [{**variant, "model_uri": "/etc"}]}, "variants.0.model_uri", "outside"),
        ({"variants": [{**variant, "model_uri": "~/model"}]}, "variants.0.model_uri", "absolute"),
        (
            {"variants": [variant], "shadow": {"name": "s", "model_uri": "/usr/lib"}},
            "shadow.model_uri",
            "outside",
        ),
        (
            {"variants": [variant], "capture": {"enabled": True, "destination": "captured"}},
            "capture.destination",
            "absolute",
        ),
        (
            {"variants": [variant], "capture": {"enabled": True, "destination": "/var/tmp/c"}},
            "capture.destination",
            "outside",
        ),
    ]
    for body, field, words in cases:
        with pytest.raises(dy.DockyardError) as caught:
            client.request("POST", "/api/v1/endpoints", json={"name": "confined", **body})
        assert caught.value.field == field and words in caught.value.message, caught.value


def test_unknown_endpoint_is_404(client: Client) -> None:
    with pytest.raises(dy.NotFound):
        client.request("GET", "/api/v1/endpoints/nope")
