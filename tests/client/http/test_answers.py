"""A client reads the answers of a server newer than itself: fields it does not know are ignored,
where requests with unknown fields stay refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import ValidationError
from tests.server.pipelines._live import served

import dockyard as dy
from dockyard.api.pipelines import Execution
from dockyard.api.tracking import Run
from dockyard.client.http import from_answer
from dockyard.client.sdk import reset_context
from dockyard.server._services import Services
from dockyard.settings import Settings

_NEW = "added_by_a_newer_server"
_RUN_INFO = {
    "run_id": "r1",
    "experiment_id": "0",
    "run_name": "r",
    "user_id": "u",
    "status": "FINISHED",
    "start_time": 1,
    "end_time": None,
    "artifact_uri": "runs:/r1",
    "lifecycle_stage": "active",
}


def _with_new_fields(value: Any) -> Any:
    """``value`` with a field no model of this client has, on the answer and on each item of its
    lists (a page's entities): where a server adds fields. Maps of the user's own (tags, an
    execution's output) are left as they are."""
    if isinstance(value, list):
        return [_with_new_fields(v) for v in value]
    if not isinstance(value, dict):
        return value
    return _new({k: _each_new(v) for k, v in value.items()})


def _each_new(value: Any) -> Any:
    return [_new(v) for v in value] if isinstance(value, list) else value


def _new(value: Any) -> Any:
    return {_NEW: 1, **value} if isinstance(value, dict) else value


class NewerServer:
    """An ASGI wrapper answering as a server that added a field to every object it returns."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.changed = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def hold(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            headers = dict(start["headers"])
            if headers.get(b"content-type", b"").startswith(b"application/json") and body:
                body = orjson.dumps(_with_new_fields(orjson.loads(body)))
                self.changed += 1
            headers[b"content-length"] = str(len(body)).encode()
            await send({**start, "headers": list(headers.items())})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, hold)


@pytest.fixture
def newer_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[NewerServer]:
    services = Services.from_settings(Settings(home=tmp_path / "server"))
    wrapped: list[NewerServer] = []

    def build(**kwargs: Any) -> NewerServer:
        wrapped.append(NewerServer(real_create_app(**kwargs)))
        return wrapped[0]

    import tests.server.pipelines._live as live

    real_create_app = live.create_app
    monkeypatch.setattr(live, "create_app", build)
    with served(services) as url:
        reset_context(Settings(home=tmp_path / "client", uri=url))
        try:
            yield wrapped[0]
        finally:
            reset_context(Settings(home=tmp_path / "client"))
            services.close()


def test_the_sdk_reads_answers_with_fields_it_does_not_know(newer_server: NewerServer) -> None:
    experiment = dy.set_experiment("newer")
    with dy.start_run() as run:
        dy.log_param("alpha", 1)
    assert dy.get_run(run.info.run_id).info.experiment_id == experiment.experiment_id
    dy.put_parameter("/newer/bar", "0.5")
    assert dy.get_parameter("/newer/bar").value == "0.5"
    assert [p.name for p in dy.get_parameters_by_path("/newer")] == ["/newer/bar"]
    definition = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
    dy.create_pipeline("newer", definition)
    started = dy.start_execution("newer", {"x": 1}, name="one")
    done = dy.describe_execution("newer", started.execution_arn, wait=30)
    assert done.status == "SUCCEEDED" and done.output == '{"x":1}'
    assert dy.execution_history("newer", "one")
    assert [p.name for p in dy.list_pipelines()] == ["newer"]
    dy.create_topic("newer-topic")
    assert dy.publish("newer-topic", {"hello": 1}).event_id
    assert newer_server.changed >= 10  # the answers above did carry the new field


def test_from_answer_ignores_new_fields_at_any_depth_and_requests_still_refuse_them() -> None:
    answer = {
        "arn": "arn:aws:states:us-east-1:000000000000:execution:p:one",
        "state_machine_arn": "arn:aws:states:us-east-1:000000000000:stateMachine:p",
        "name": "one",
        "status": "SUCCEEDED",
        "start_time": 1,
        "input": "{}",
        "revision_id": "r",
    }
    read = from_answer(Execution, _new(answer))
    assert read.name == "one" and _NEW not in read.model_dump()
    with pytest.raises(ValidationError, match=_NEW):
        Execution.model_validate(_new(answer))
    run = {
        "info": _new(_RUN_INFO),
        "metrics": {"loss": _new({"key": "loss", "value": 0.5, "timestamp": 1})},
        "outputs": [_new({"model_id": "m-1"})],
    }
    read_run = from_answer(Run, _new(run))  # nested, in maps and in lists
    assert read_run.metrics["loss"].value == 0.5 and read_run.outputs[0].model_id == "m-1"


# Request models the client builds itself from what the user gave: refusing unknown fields there
# is the point. Anything else a client validates came from the server.
_REQUESTS = {"MonitoringScheduleSpec", "UpdateMonitoringSchedule", "model"}


def test_clients_read_answers_only_through_from_answer() -> None:
    client = Path(__file__).resolve().parents[3] / "src" / "dockyard" / "client"
    strict = [
        f"{path.relative_to(client)}: {name}.model_validate"
        for path in sorted(client.rglob("*.py"))
        for name in re.findall(r"(\w+)\.model_validate\(", path.read_text())
        if name not in _REQUESTS
    ]
    assert strict == [], "answers are read with dockyard.client.http.from_answer"


def test_the_declared_pydantic_reads_answers_leniently() -> None:
    # model_validate(extra=...) came with pydantic 2.12: an older one the package allowed
    # failed every answer with "unexpected keyword argument 'extra'".
    import tomllib

    project = tomllib.loads((Path(__file__).parents[3] / "pyproject.toml").read_text())
    (floor,) = [d for d in project["project"]["dependencies"] if re.match(r"pydantic\s*>=", d)]
    least = tuple(int(part) for part in floor.partition(">=")[2].split(",")[0].split("."))
    assert least >= (2, 12)
