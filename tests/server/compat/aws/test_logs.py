"""CloudWatch Logs over job logs, through boto3's ``logs`` client and the SageMaker SDK's own
log reader, against a server running a real training job."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from tests.services.server_process import ServerProcess

from dockyard.client.http import Client

pytestmark = pytest.mark.slow

SCRIPTS = Path(__file__).parent / "scripts"
GROUP = "/aws/sagemaker/TrainingJobs"
T = TypeVar("T")


def until(check: Callable[[], T | None], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("logs") / "home"
    roots = f"{SCRIPTS},{tmp_path_factory.getbasetemp()}"
    started = ServerProcess(home, env={"DOCKYARD_DATA_ROOTS": roots})
    started.start()
    yield started
    started.stop()


@pytest.fixture
def native(server: ServerProcess) -> Iterator[Client]:
    made = Client(server.url, retry_for=5)
    yield made
    made.close()


@pytest.fixture
def logs(server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    # The SageMaker SDK makes its own client: it finds the server through AWS_ENDPOINT_URL.
    for key, value in {
        "AWS_ENDPOINT_URL": server.url,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "dockyard",
        "AWS_SECRET_ACCESS_KEY": "dockyard",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    client = boto3.client("logs", config=Config(retries={"max_attempts": 1}))
    yield client
    client.close()


def submit(native: Client, name: str, lines: int, release: Path | None = None) -> None:
    hyperparameters: dict[str, Any] = {"lines": lines}
    if release is not None:
        hyperparameters["release"] = str(release)
    spec = {
        "name": name,
        "entry_point": "chatty.py",
        "source_dir": str(SCRIPTS),
        "hyperparameters": hyperparameters,
    }
    native.request("POST", "/api/v1/jobs/training", json=spec)


def ended(native: Client, name: str) -> dict[str, Any]:
    for _ in range(3):  # a long poll answers within 60 s, ended or not
        found: dict[str, Any] = native.request("GET", f"/api/v1/jobs/{name}", params={"wait": 60})
        if found["status"] in ("Completed", "Failed", "Stopped"):
            break
    return found


def job_lines(native: Client, name: str) -> list[str]:
    return str(native._http.get(f"/api/v1/jobs/{name}/logs").text).splitlines()


def code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def test_the_sdk_tails_a_running_job_and_prints_each_line_once(
    native: Client, logs: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sagemaker.logs import ColorWrap
    from sagemaker.session import _flush_log_streams

    capsys.readouterr()  # what importing the SDK printed
    release = tmp_path / "release"
    submit(native, "tailed", 10, release)
    positions: dict[str, Any] = {}
    printed: list[str] = []

    def flush() -> list[str]:
        # What Session.logs_for_job does at each poll, with the SDK's own function.
        _flush_log_streams([], 1, logs, GROUP, "tailed", positions, False, ColorWrap(force=False))
        printed.extend(line for line in capsys.readouterr().out.splitlines() if line != ".")
        return printed

    until(lambda: "line 4 ok" in flush(), 60, "the first half of the log")
    assert printed[-5:] == [  # and nothing after: the job waits for its release
        "line 0 ERROR disk",
        "line 1 ok",
        "line 2 ok",
        "line 3 ERROR disk",
        "line 4 ok",
    ]
    release.touch()
    assert ended(native, "tailed")["status"] == "Completed"
    flush()
    flush()  # nothing new: nothing printed twice
    full = job_lines(native, "tailed")
    assert printed == full  # the runner's lines too, and the last one without its newline
    assert printed[-1] == "no newline at the end" and printed.count("line 8 ok") == 1
    # Lines sent after the release are dated later than the first half: a read from their time
    # (the SDK's next poll) starts past the first half rather than at the head.
    stream = positions and next(iter(positions))
    events = logs.get_log_events(logGroupName=GROUP, logStreamName=stream, startFromHead=True)[
        "events"
    ]
    late = next(e["timestamp"] for e in events if e["message"] == "line 8 ok")
    assert late > next(e["timestamp"] for e in events if e["message"] == "line 4 ok")
    again = logs.get_log_events(
        logGroupName=GROUP, logStreamName=stream, startFromHead=True, startTime=late
    )["events"]
    assert "line 8 ok" in [e["message"] for e in again]
    assert "line 4 ok" not in [e["message"] for e in again]


def test_streams_tokens_and_filters(native: Client, logs: Any) -> None:
    submit(native, "earlier", 1)  # another stream, older: the newest's listing has a next page
    assert ended(native, "earlier")["status"] == "Completed"
    submit(native, "short", 6)
    job = ended(native, "short")
    assert job["status"] == "Completed"
    stream = f"short/algo-1-{job['created_time'] // 1000}"
    found = logs.describe_log_streams(
        logGroupName=GROUP, logStreamNamePrefix="short/", orderBy="LogStreamName"
    )["logStreams"]
    assert [s["logStreamName"] for s in found] == [stream]
    # Each line is dated by when the server stored it (the runner's last part may come a few
    # milliseconds after the end it reported).
    first_at, last_at = found[0]["firstEventTimestamp"], found[0]["lastEventTimestamp"]
    assert job["created_time"] <= first_at <= last_at <= time.time_ns() // 1_000_000
    every = [
        s["logStreamName"] for s in logs.describe_log_streams(logGroupName=GROUP)["logStreams"]
    ]
    assert stream in every and every == sorted(every)
    newest = logs.describe_log_streams(
        logGroupName=GROUP, orderBy="LastEventTime", descending=True, limit=1
    )
    assert newest["logStreams"][0]["logStreamName"] == stream and "nextToken" in newest

    full = job_lines(native, "short")
    head = logs.get_log_events(
        logGroupName=GROUP, logStreamName=stream, startFromHead=True, limit=2
    )
    assert [e["message"] for e in head["events"]] == full[:2]
    rest = logs.get_log_events(
        logGroupName=GROUP, logStreamName=stream, nextToken=head["nextForwardToken"]
    )
    assert [e["message"] for e in rest["events"]] == full[2:]
    again = logs.get_log_events(
        logGroupName=GROUP, logStreamName=stream, nextToken=rest["nextForwardToken"]
    )
    assert again["events"] == [] and again["nextForwardToken"] == rest["nextForwardToken"]
    tail = logs.get_log_events(logGroupName=GROUP, logStreamName=stream, limit=2)
    assert [e["message"] for e in tail["events"]] == full[-2:]
    before = logs.get_log_events(
        logGroupName=GROUP, logStreamName=stream, limit=2, nextToken=tail["nextBackwardToken"]
    )
    assert [e["message"] for e in before["events"]] == full[-4:-2]
    every_event = logs.get_log_events(logGroupName=GROUP, logStreamName=stream, startFromHead=True)
    times = [e["timestamp"] for e in every_event["events"]]
    assert times == sorted(times) and times[0] == first_at and times[-1] == last_at
    assert all(e["ingestionTime"] == e["timestamp"] for e in every_event["events"])
    later = logs.get_log_events(
        logGroupName=GROUP, logStreamName=stream, startFromHead=True, startTime=times[-1]
    )
    assert later["events"] and all(e["timestamp"] == times[-1] for e in later["events"])
    assert later["events"][-1]["message"] == full[-1]
    assert (
        logs.get_log_events(logGroupName=GROUP, logStreamName=stream, startTime=last_at + 1)[
            "events"
        ]
        == []
    )
    before_start = logs.filter_log_events(
        logGroupName=GROUP, logStreamNames=[stream], endTime=first_at
    )
    assert before_start["events"] == []

    errors = logs.filter_log_events(
        logGroupName=GROUP, logStreamNames=[stream], filterPattern="ERROR"
    )
    assert [e["message"] for e in errors["events"]] == ["line 0 ERROR disk", "line 3 ERROR disk"]
    assert {e["logStreamName"] for e in errors["events"]} == {stream}
    either = logs.filter_log_events(
        logGroupName=GROUP,
        logStreamNamePrefix="short/",
        filterPattern='?"line 1 " ?"line 2 " -ERROR',
    )
    assert [e["message"] for e in either["events"]] == ["line 1 ok", "line 2 ok"]
    paged = logs.filter_log_events(logGroupName=GROUP, logStreamNames=[stream], limit=1)
    second = logs.filter_log_events(
        logGroupName=GROUP, logStreamNames=[stream], limit=1, nextToken=paged["nextToken"]
    )
    assert [paged["events"][0]["message"], second["events"][0]["message"]] == full[:2]

    for token in ("f/x", "b/-1", "f/99999999"):
        with pytest.raises(ClientError) as error:
            logs.get_log_events(logGroupName=GROUP, logStreamName=stream, nextToken=token)
        assert code(error) == "InvalidParameterException" and "nextToken" in str(error.value)
    with pytest.raises(ClientError) as error:  # a training job's stream is not a transform's
        logs.get_log_events(logGroupName="/aws/sagemaker/TransformJobs", logStreamName=stream)
    assert code(error) == "ResourceNotFoundException"
    groups = [
        g["logGroupName"]
        for g in logs.describe_log_groups(logGroupNamePrefix="/aws/sagemaker/")["logGroups"]
    ]
    assert groups == ["/aws/sagemaker/TrainingJobs", "/aws/sagemaker/TransformJobs"]


def test_bad_input_names_the_field(logs: Any) -> None:
    with pytest.raises(ClientError) as error:
        logs.describe_log_streams(logGroupName="/aws/lambda/nope")
    assert code(error) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as error:
        logs.filter_log_events(logGroupName="/aws/sagemaker/Endpoints/nope")
    assert code(error) == "ResourceNotFoundException" and "Endpoints/nope" in str(error.value)
    with pytest.raises(ClientError) as error:
        logs.get_log_events(logGroupName=GROUP, logStreamName="nope/algo-1-1")
    assert code(error) == "ResourceNotFoundException"
    assert "nope/algo-1-1" in str(error.value)
    with pytest.raises(ClientError) as error:
        logs.describe_log_streams(
            logGroupName=GROUP, orderBy="LastEventTime", logStreamNamePrefix="x"
        )
    assert code(error) == "InvalidParameterException" and "orderBy" in str(error.value)
    with pytest.raises(ClientError) as error:
        logs.filter_log_events(logGroupName=GROUP, filterPattern="{ $.level = 1 }")
    assert code(error) == "InvalidParameterException" and "filterPattern" in str(error.value)
    with pytest.raises(ClientError) as error:
        logs.describe_log_streams(logGroupName=GROUP, limit=51)
    assert code(error) == "InvalidParameterException" and "limit" in str(error.value)
    with pytest.raises(ClientError) as error:
        logs.describe_log_streams(logGroupName=GROUP, nextToken="garbage")
    assert code(error) == "InvalidParameterException" and "nextToken" in str(error.value)
