"""An endpoint's worker logs through the native API, the SDK, the CLI and CloudWatch Logs'
API, against a real server whose worker writes them; and across a server restart."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from click.testing import CliRunner
from tests.server.endpoints.conftest import ROW, wait_status
from tests.services.server_process import ServerProcess

from dockyard.api.serving.logs import LogChunk
from dockyard.client.cli import cli
from dockyard.client.http import Client
from dockyard.client.sdk import EndpointHandle, reset_context
from dockyard.errors import InvalidArgument, NotFound
from dockyard.server.endpoints._logs import EndpointLogs, whole_lines

T = TypeVar("T")
NAME = "logged"


def until(check: Callable[[], T | None], what: str, timeout: float = 30) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.fixture
def cloudwatch(server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for key, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "dockyard",
        "AWS_SECRET_ACCESS_KEY": "dockyard",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    made = boto3.client("logs", endpoint_url=server.url, config=Config(retries={"max_attempts": 1}))
    yield made
    made.close()


@pytest.mark.slow
def test_a_workers_log_through_every_client_and_a_restart(
    server: ServerProcess,
    client: Client,
    models: dict[str, str],
    cloudwatch: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    created = time.time_ns() // 1_000_000
    client.request(
        "POST",
        "/api/v1/endpoints",
        json={"name": NAME, "variants": [{"name": "primary", "model_uri": models["one"]}]},
    )
    url = wait_status(client, NAME, "InService")["url"]
    ids = [
        httpx.post(f"{url}/invocations", json=ROW, headers={"x-request-id": f"req-{n}"})
        for n in range(3)
    ]
    assert [r.headers["x-request-id"] for r in ids] == ["req-0", "req-1", "req-2"]

    def page(**params: Any) -> dict[str, Any]:
        found: dict[str, Any] = client.request(
            "GET", f"/api/v1/endpoints/{NAME}/logs", params=params
        )
        return found

    def page_with(text: str, **params: Any) -> dict[str, Any] | None:
        found = page(**params)
        return found if text in found["text"] else None

    # The access log is written about every half second: wait for the three lines.
    first = until(lambda: page_with("req-2"), "the access log")
    worker = first["worker"]
    assert worker.startswith("i-") and first["offset"] == 0 and not first["ended"]
    assert [w["worker"] for w in first["workers"]] == [worker] and first["workers"][0]["alive"]
    lines = [json.loads(line) for line in first["text"].splitlines() if '"request_id"' in line]
    assert [(x["request_id"], x["status"]) for x in lines] == [
        ("req-0", 200),
        ("req-1", 200),
        ("req-2", 200),
    ]
    assert first["next_offset"] == len(first["text"].encode())
    nothing = page(worker=worker, offset=first["next_offset"])
    assert nothing["text"] == "" and nothing["next_offset"] == first["next_offset"]
    line_one = first["text"].split("\n")[0] + "\n"
    size = len(line_one.encode())
    small = page(worker=worker, limit=size + 5)  # a page ends at a line's end when it holds one
    assert small["text"] == line_one and small["next_offset"] == size

    monkeypatch.setenv("DOCKYARD_URI", server.url)
    reset_context()
    handle = EndpointHandle(NAME, client)
    assert handle.logs().text.startswith(first["text"])
    assert "".join(p.text for p in handle.iter_logs()).startswith(first["text"])
    with pytest.raises(NotFound) as missing:
        handle.logs(worker="i-nope")
    assert missing.value.field == "worker" and worker in missing.value.message
    with pytest.raises(InvalidArgument) as past:
        handle.logs(worker=worker, offset=1 << 40)
    assert past.value.field == "offset"
    with pytest.raises(InvalidArgument) as bad_limit:
        handle.logs(limit=0)
    assert bad_limit.value.field == "limit"
    with pytest.raises(NotFound):
        EndpointHandle("nope", client).logs()

    runner = CliRunner()
    printed = runner.invoke(cli, ["endpoints", "logs", NAME])
    assert printed.exit_code == 0, printed.output
    assert f'{worker} | {{"ts"' in printed.output and "req-1" in printed.output
    as_json = runner.invoke(cli, ["endpoints", "logs", NAME, "--worker", worker, "--json"])
    assert as_json.exit_code == 0, as_json.output
    pages = [json.loads(line) for line in as_json.output.splitlines()]
    assert pages[0]["worker"] == worker and "req-2" in "".join(p["text"] for p in pages)
    unknown = runner.invoke(cli, ["endpoints", "logs", NAME, "--worker", "i-nope"])
    assert unknown.exit_code != 0 and "i-nope" in unknown.output

    group = f"/aws/sagemaker/Endpoints/{NAME}"
    streams = cloudwatch.describe_log_streams(logGroupName=group)["logStreams"]
    stream = f"AllTraffic/{worker}"
    assert [s["logStreamName"] for s in streams] == [stream]
    now = time.time_ns() // 1_000_000
    assert created <= streams[0]["firstEventTimestamp"] <= streams[0]["lastEventTimestamp"] <= now
    events = cloudwatch.get_log_events(
        logGroupName=group, logStreamName=stream, startFromHead=True
    )["events"]
    assert [e["message"] for e in events][: len(first["text"].splitlines())] == (
        first["text"].splitlines()
    )
    read = time.time_ns() // 1_000_000  # a line with no time mark yet is dated when read
    assert all(created <= e["timestamp"] <= read for e in events)
    assert [e["timestamp"] for e in events] == sorted(e["timestamp"] for e in events)
    found = cloudwatch.filter_log_events(logGroupName=group, filterPattern='"req-1"')["events"]
    assert [json.loads(e["message"])["request_id"] for e in found] == ["req-1"]
    assert found[0]["logStreamName"] == stream
    later = cloudwatch.filter_log_events(logGroupName=group, startTime=now + 3_600_000)
    assert later["events"] == []
    newer = cloudwatch.get_log_events(
        logGroupName=group, logStreamName=stream, startFromHead=True, startTime=now + 3_600_000
    )
    assert newer["events"] == []
    with pytest.raises(ClientError) as error:
        cloudwatch.get_log_events(logGroupName=group, logStreamName="AllTraffic/i-nope")
    assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as error:
        cloudwatch.get_log_events(logGroupName=group, logStreamName=stream, nextToken="f/1")
        cloudwatch.get_log_events(
            logGroupName=group, logStreamName=stream, nextToken="f/999999999999"
        )
    assert error.value.response["Error"]["Code"] == "InvalidParameterException"

    # A restart: the worker serves on and its log is still there, offsets unchanged.
    server.stop()
    server.start()
    httpx.post(f"{url}/invocations", json=ROW, headers={"x-request-id": "req-after"})
    after = until(lambda: page_with("req-after", worker=worker), "the log after a restart")
    assert after["text"].startswith(first["text"]) and after["workers"][0]["alive"]


def make_log(root: Path, worker: str, data: bytes) -> None:
    folder = root / "logs" / worker
    folder.mkdir(parents=True)
    (folder / "000000000000000").write_bytes(data)
    (root / f"worker-{worker}.out").write_text("ready\n")


def test_exited_workers_logs_are_pruned_to_the_newest(tmp_path: Path) -> None:
    workers = [f"i-{n:x}" for n in range(10**18, 10**18 + 12)]
    for worker in workers:
        make_log(tmp_path, worker, b"hello\n")
    logs = EndpointLogs(tmp_path, alive={workers[0]})
    logs.prune(keep=3)
    kept = [w.worker for w in logs.workers()]
    assert kept == [workers[0], *workers[-3:]]  # the live one, and the newest exited
    assert not (tmp_path / f"worker-{workers[1]}.out").exists()
    assert (tmp_path / f"worker-{workers[-1]}.out").exists()
    assert logs.page(None, 0, 100).worker == workers[-1]
    ended = logs.page(workers[-1], 0, 100)
    assert ended.ended and ended.text == "hello\n"
    assert not logs.page(workers[0], 0, 100).ended  # alive: more can come


def test_a_page_ends_at_a_lines_end_and_never_inside_a_character() -> None:
    def cut(data: bytes, full: bool) -> bytes:
        return whole_lines(LogChunk(0, data, ()), full=full)

    assert cut(b"one\ntwo\nthr", full=True) == b"one\ntwo\n"
    assert cut(b"one\ntwo\nthr", full=False) == b"one\ntwo\nthr"  # the end of the log
    assert cut(b"no newline at all", full=True) == b"no newline at all"
    euro = "€".encode()
    assert cut(b"price " + euro[:2], full=False) == b"price "
    assert cut(b"price " + euro, full=False) == b"price " + euro
