"""The API additions the web UI reads: run counts and groups, the event stream, the newest events
first, captured traffic files, and the UI's own static files."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from tests.services.server_process import ServerProcess

from dockyard.client.http import Client
from dockyard.server import Services
from dockyard.server.ui import CSP


def _raw(api: Client, method: str, path: str, **kw: Any) -> httpx.Response:
    return api._http.request(method, path, **kw)


def _runs(api: Client, experiment_id: str, params: list[dict[str, str]]) -> list[str]:
    ids = []
    for p in params:
        run = api.request("POST", "/api/v1/runs", json={"experiment_id": experiment_id})
        run_id = str(run["info"]["run_id"])
        if p:
            body = {"params": [{"key": k, "value": v} for k, v in p.items()]}
            api.request("POST", f"/api/v1/runs/{run_id}/batch", json=body)
        ids.append(run_id)
    return ids


def test_count_and_groups_follow_the_search_filter(api: Client) -> None:
    eid = api.request("POST", "/api/v1/experiments", json={"name": "count"})["experiment_id"]
    _runs(api, eid, [{"opt": "adam"}, {"opt": "adam"}, {"opt": "sgd"}, {}, {"opt": "it's"}])
    count = api.request("POST", "/api/v1/runs/count", json={"experiment_ids": [eid]})
    assert count == {"count": 5, "groups": []}
    grouped = api.request(
        "POST", "/api/v1/runs/count", json={"experiment_ids": [eid], "group_by": "params.opt"}
    )
    assert grouped["count"] == 5
    assert grouped["groups"][0] == {
        "value": "adam",
        "count": 2,
        "min": None,
        "mean": None,
        "max": None,
    }
    assert sorted((g["value"] or "", g["count"]) for g in grouped["groups"][1:]) == [
        ("", 1),
        ("it's", 1),
        ("sgd", 1),
    ]
    filtered = api.request(
        "POST",
        "/api/v1/runs/count",
        json={"experiment_ids": [eid], "filter": "params.opt = 'adam'", "group_by": "status"},
    )
    assert filtered["count"] == 2
    assert [(g["value"], g["count"]) for g in filtered["groups"]] == [("RUNNING", 2)]
    # A group's runs are the search with the group's condition added: the UI pages them alike.
    page = api.request(
        "POST",
        "/api/v1/runs/search",
        json={"experiment_ids": [eid], "filter": "params.opt IS NULL"},
    )
    assert len(page["runs"]) == 1


def test_groups_summarize_a_metric(api: Client) -> None:
    eid = api.request("POST", "/api/v1/experiments", json={"name": "summary"})["experiment_id"]
    ids = _runs(api, eid, [{"opt": "adam"}, {"opt": "adam"}, {"opt": "adam"}, {"opt": "sgd"}, {}])
    for run_id, value in zip(ids, [1.0, 3.0, "NaN", 10.0], strict=False):
        body = {"metrics": [{"key": "rmse", "value": value, "timestamp": 1}]}
        api.request("POST", f"/api/v1/runs/{run_id}/batch", json=body)
    grouped = api.request(
        "POST",
        "/api/v1/runs/count",
        json={"experiment_ids": [eid], "group_by": "params.opt", "summarize": "metrics.rmse"},
    )
    by_value = {g["value"]: g for g in grouped["groups"]}
    # NaN is left out of the summary, not counted as a number.
    assert by_value["adam"] == {"value": "adam", "count": 3, "min": 1.0, "mean": 2.0, "max": 3.0}
    assert (by_value["sgd"]["min"], by_value["sgd"]["max"]) == (10.0, 10.0)
    assert by_value[None]["count"] == 1 and by_value[None]["mean"] is None


def test_search_pages_by_offset_or_token_not_both(api: Client) -> None:
    eid = api.request("POST", "/api/v1/experiments", json={"name": "offsets"})["experiment_id"]
    _runs(api, eid, [{}] * 5)
    body: dict[str, Any] = {"experiment_ids": [eid], "max_results": 2}
    first = api.request("POST", "/api/v1/runs/search", json=body)
    by_token = api.request(
        "POST", "/api/v1/runs/search", json={**body, "page_token": first["next_page_token"]}
    )
    by_offset = api.request("POST", "/api/v1/runs/search", json={**body, "offset": 2})
    assert [r["info"]["run_id"] for r in by_offset["runs"]] == [
        r["info"]["run_id"] for r in by_token["runs"]
    ]
    last = api.request("POST", "/api/v1/runs/search", json={**body, "offset": 4})
    assert len(last["runs"]) == 1 and last["next_page_token"] is None
    both = _raw(
        api,
        "POST",
        "/api/v1/runs/search",
        json={**body, "offset": 2, "page_token": first["next_page_token"]},
    )
    assert both.status_code == 400 and both.json()["error"]["field"] == "offset"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"group_by": "metrics.rmse"}, "group_by"),
        ({"group_by": "params.x", "summarize": "params.x"}, "summarize"),
        ({"summarize": "metrics.x"}, "summarize"),
        ({"group_by": "params.`x"}, "group_by"),
        ({"filter": "params.x =="}, "filter"),
        ({"experiment_ids": ["x"]}, "experiment_ids"),
    ],
)
def test_count_refuses_bad_input_naming_the_field(
    api: Client, body: dict[str, Any], field: str
) -> None:
    answer = _raw(api, "POST", "/api/v1/runs/count", json={"experiment_ids": ["0"], **body})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["field"] == field


def test_events_newest_first_with_before(api: Client) -> None:
    for n in range(5):
        api.request("POST", "/api/v1/experiments", json={"name": f"ev-{n}"})
    latest = api.request(
        "GET", "/api/v1/events", params={"before": 2**63 - 1, "limit": 2, "type": "experiment.*"}
    )
    ids = [e["id"] for e in latest["events"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == 2
    assert latest["events"][0]["resource_id"] != latest["events"][1]["resource_id"]
    older = api.request(
        "GET",
        "/api/v1/events",
        params={"before": latest["next_before"], "limit": 2, "type": "experiment.*"},
    )
    assert all(e["id"] < ids[-1] for e in older["events"])
    oldest_first = api.request("GET", "/api/v1/events", params={"type": "experiment.*"})
    assert [e["id"] for e in oldest_first["events"]][-2:] == ids[::-1]


def _sse(text: str) -> list[dict[str, Any]]:
    events = []
    for block in text.split("\n\n"):
        data = [line[6:] for line in block.splitlines() if line.startswith("data: ")]
        if data:
            events.append(orjson.loads("\n".join(data)))
    return events


def test_stream_replays_after_an_id_and_filters(api: Client) -> None:
    first = api.request("POST", "/api/v1/experiments", json={"name": "s1"})
    api.request("POST", "/api/v1/experiments", json={"name": "s2"})
    start = api.request("GET", "/api/v1/events", params={"type": "experiment.created"})
    before = next(e for e in start["events"] if e["resource_id"] == first["experiment_id"])["id"]
    answer = _raw(
        api,
        "GET",
        "/api/v1/events/stream",
        params={"after": before - 1, "type": "experiment.created", "duration_s": 0.3},
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    assert answer.text.startswith("retry: ")
    got = _sse(answer.text)
    assert [e["type"] for e in got] == ["experiment.created", "experiment.created"]
    assert f"id: {got[-1]['id']}\n" in answer.text
    # Last-Event-ID (EventSource's reconnect) wins over after.
    resumed = _raw(
        api,
        "GET",
        "/api/v1/events/stream",
        params={"after": 0, "type": "experiment.created", "duration_s": 0.2},
        headers={"Last-Event-ID": str(got[-1]["id"])},
    )
    assert _sse(resumed.text) == []


def test_stream_delivers_an_append_while_waiting(api: Client, services: Services) -> None:
    """Appended while the stream is idle: the in-process wake-up delivers it. The in-process
    transport hands the answer over whole, at the stream's end, so the append is made once the
    stream waits on the log."""
    waiting: list[bool] = []

    def append_soon() -> None:
        deadline = time.monotonic() + 5
        while not services.events._waiters and time.monotonic() < deadline:
            time.sleep(0.01)  # polls the condition: the stream is waiting for an append
        waiting.append(bool(services.events._waiters))
        api.request("POST", "/api/v1/experiments", json={"name": "live"})

    thread = threading.Thread(target=append_soon)
    thread.start()
    seen: list[dict[str, Any]] = []
    with api._http.stream(
        "GET",
        "/api/v1/events/stream",
        params={"type": "experiment.created", "duration_s": 5},
    ) as answer:
        buffer = ""
        for chunk in answer.iter_text():
            buffer += chunk
            seen = _sse(buffer)
            if seen:
                break
    thread.join()
    assert waiting == [True]
    assert [e["resource_type"] for e in seen] == ["experiment"]


def test_events_filter_by_scope(api: Client) -> None:
    """``experiment:<id>`` follows an experiment's runs (the runs table's live view)."""
    watched = api.request("POST", "/api/v1/experiments", json={"name": "watched"})
    other = api.request("POST", "/api/v1/experiments", json={"name": "other"})
    start = api.request("GET", "/api/v1/events", params={"before": 2**63 - 1, "limit": 1})
    after = start["events"][0]["id"]
    mine = _runs(api, watched["experiment_id"], [{"a": "1"}])[0]
    _runs(api, other["experiment_id"], [{"a": "1"}])
    scope = f"experiment:{watched['experiment_id']}"
    listed = api.request("GET", "/api/v1/events", params={"after": after, "scope": scope})
    assert [(e["type"], e["resource_id"]) for e in listed["events"]] == [
        ("run.created", mine),
        ("run.logged", mine),
    ]
    streamed = _raw(
        api,
        "GET",
        "/api/v1/events/stream",
        params={"after": after, "scope": scope, "duration_s": 0.3},
    )
    assert [e["resource_id"] for e in _sse(streamed.text)] == [mine, mine]


def test_capture_files_list_and_read(api: Client, services: Services) -> None:
    store = services.artifacts
    store.put_bytes("capture/ep1/a/2026/01/01/00/one.jsonl", b'{"x": 1}\n')
    store.put_bytes("capture/ep1/b/2026/01/01/01/two.jsonl", b'{"x": 2}\n')
    with services.db.write() as conn:  # a row only: no worker needs to run
        _insert_endpoint(conn)
    listed = api.request("GET", "/api/v1/endpoints/ep1/capture")
    assert [f["path"] for f in listed["files"]] == [
        "b/2026/01/01/01/two.jsonl",
        "a/2026/01/01/00/one.jsonl",
    ]
    body = _raw(api, "GET", "/api/v1/endpoints/ep1/capture/a/2026/01/01/00/one.jsonl")
    assert body.content == b'{"x": 1}\n'
    escape = _raw(api, "GET", "/api/v1/endpoints/ep1/capture/../../x")
    assert escape.status_code in (400, 404)
    assert _raw(api, "GET", "/api/v1/endpoints/nope/capture").status_code == 404


def _insert_endpoint(conn: Any) -> None:
    from dockyard.api.endpoints import EndpointConfig
    from dockyard.server.store import schema

    config = EndpointConfig.model_validate(
        {"name": "ep1", "variants": [{"name": "a", "model_uri": "models:/m/1"}]}
    )
    conn.execute(
        schema.endpoints.insert().values(
            name="ep1",
            status="InService",
            config=config.model_dump_json(),
            port=45678,
            created_time=1,
            updated_time=1,
        )
    )


def test_ui_files_are_served_with_a_strict_policy(api: Client) -> None:
    page = _raw(api, "GET", "/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == CSP
    assert '<script type="module" src="/ui/app.js">' in page.text
    script = _raw(api, "GET", "/ui/app.js")
    assert script.headers["content-type"].startswith("text/javascript")
    again = _raw(api, "GET", "/ui/app.js", headers={"If-None-Match": script.headers["etag"]})
    assert again.status_code == 304
    assert _raw(api, "GET", "/ui/nope.js").status_code == 404
    assert _raw(api, "GET", "/ui/../settings.py").status_code == 404


def test_spec_text_parses_as_the_command_line_reads_it(api: Client) -> None:
    text = "name: nightly\nentry_point: train.py\nhyperparameters:\n  lr: 0.1\n"
    answer = api.request("POST", "/api/v1/specs/parse", json={"text": text})
    assert answer == {
        "spec": {"name": "nightly", "entry_point": "train.py", "hyperparameters": {"lr": 0.1}}
    }
    bad = _raw(api, "POST", "/api/v1/specs/parse", json={"text": "name: x\n  bad: [1,\n"})
    assert bad.status_code == 400
    error = bad.json()["error"]
    assert error["field"] == "spec"
    assert error["details"]["line"] >= 2 and "line" in error["message"]
    listed = _raw(api, "POST", "/api/v1/specs/parse", json={"text": "- a\n- b\n"})
    assert listed.status_code == 400 and "mapping" in listed.json()["error"]["message"]
    # An alias would be copied out in full in the JSON answer: refused, naming where.
    bomb = "a: &a [x, x]\nb: [*a, *a]\n"
    refused = _raw(api, "POST", "/api/v1/specs/parse", json={"text": bomb})
    assert refused.status_code == 400
    assert refused.json()["error"]["details"] == {"line": 2, "column": 5}


def test_an_open_stream_does_not_hold_a_stopping_server(tmp_path: Path) -> None:
    """A stream lasts up to 25 s; stopping the server ends it at once rather than waiting."""
    server = ServerProcess(tmp_path / "home")
    server.start()
    opened = threading.Event()
    ended: list[float] = []

    def listen() -> None:
        with httpx.stream("GET", f"{server.url}/api/v1/events/stream", timeout=60) as answer:
            for _ in answer.iter_bytes():
                opened.set()
        ended.append(time.monotonic())

    reader = threading.Thread(target=listen)
    reader.start()
    try:
        assert opened.wait(30), "the stream did not start"
        asked = time.monotonic()
        server.stop()  # SIGTERM; a server still up after 10 s is killed
        stopped = time.monotonic() - asked
    finally:
        server.kill()
        reader.join(30)
    assert stopped < 5, f"the server took {stopped:.1f} s to stop"
    assert ended and ended[0] - asked < 5
