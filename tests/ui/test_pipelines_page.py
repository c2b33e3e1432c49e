"""The pipelines pages: a state machine drawn as a graph, an execution's states coloured as it
runs, a state's input and output on click, the history, and Stop / Start from the page."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.ui.conftest import Seeded, Watched

pytestmark = pytest.mark.slow
TIMEOUT_MS = 20_000

DEFINITION = {
    "StartAt": "Prep",
    "States": {
        "Prep": {
            "Type": "Pass",
            "Result": {"items": [1, 2, 3]},
            "ResultPath": "$.data",
            "Next": "Gate",
        },
        "Gate": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.go", "BooleanEquals": True, "Next": "Fan"}],
            "Default": "Refused",
        },
        "Fan": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "Each",
                    "States": {
                        "Each": {
                            "Type": "Map",
                            "ItemsPath": "$.data.items",
                            "ItemProcessor": {
                                "StartAt": "Sq",
                                "States": {"Sq": {"Type": "Pass", "End": True}},
                            },
                            "End": True,
                        }
                    },
                },
                {
                    "StartAt": "Hold",
                    "States": {"Hold": {"Type": "Wait", "SecondsPath": "$.hold", "End": True}},
                },
            ],
            "Next": "Done",
        },
        "Done": {"Type": "Succeed"},
        "Refused": {"Type": "Fail", "Error": "NoGo", "Cause": "go was false"},
    },
}


def test_graph_live_states_and_stop(page: Watched, seeded: Seeded) -> None:
    with seeded.client() as c:
        made = c.post(
            "/api/v1/pipelines", json={"name": "ui-flow", "definition": json.dumps(DEFINITION)}
        )
        assert made.status_code == 201, made.text
        started = c.post(
            "/api/v1/pipelines/ui-flow/executions",
            json={"name": "held", "input": json.dumps({"go": True, "hold": 600})},
        )
        assert started.status_code == 201, started.text
    p = page.goto("/pipelines")
    p.wait_for_selector("#pipelines >> text=ui-flow", timeout=TIMEOUT_MS)
    # The list says how each pipeline has been running: its last execution, and how many run.
    row = p.locator("#pipelines tr", has_text="ui-flow")
    expect(row.locator(".last-execution")).to_contain_text("RUNNING")
    expect(row.locator(".last-execution a")).to_have_text("held")
    expect(row.locator("td.num")).to_have_text("1")
    page.shot("pipelines-list")
    p.click("#pipelines >> text=ui-flow")
    p.wait_for_selector('#graph [data-state="Fan/1/Hold"]', timeout=TIMEOUT_MS)
    p.wait_for_selector("#executions >> text=held", timeout=TIMEOUT_MS)
    p.click("#executions >> text=held")
    # The Wait is running; the Map beside it has finished; Prep ran.
    p.wait_for_selector('#graph [data-state="Fan/1/Hold"].asl-running', timeout=TIMEOUT_MS)
    p.wait_for_selector('#graph [data-state="Fan/0/Each"].asl-succeeded', timeout=TIMEOUT_MS)
    refused = p.get_attribute('#graph [data-state="Refused"]', "class") or ""
    assert not {"asl-running", "asl-succeeded", "asl-failed"} & set(refused.split())
    # While nothing changes, the page's refreshes leave the graph and the Stop button be (one
    # replaced between a click's press and its release loses the click), and the execution's
    # input the user opened stays open; the running duration still moves.
    prep = p.query_selector('#graph [data-state="Prep"]')
    stop = p.query_selector("#stop-execution")
    assert prep is not None and stop is not None
    p.click("text=Input >> xpath=.. >> summary")
    duration = p.inner_text("#execution-duration")
    for _ in range(3):  # the second refresh after this point has drawn before the third asks
        with p.expect_response(lambda r: "/executions/held/history" in r.url, timeout=TIMEOUT_MS):
            pass
    assert prep.evaluate("node => node.isConnected") and stop.evaluate("node => node.isConnected")
    assert p.locator("text=Input >> xpath=.. >> details").get_attribute("open") is not None
    assert p.inner_text("#execution-duration") != duration
    p.click('#graph [data-state="Prep"]')
    # The choice outlives the page's refreshes (each redraws the graph and the panel).
    p.wait_for_selector('#graph [data-state="Prep"].asl-selected', timeout=TIMEOUT_MS)
    p.wait_for_selector("#state-output", timeout=TIMEOUT_MS)
    assert json.loads(p.inner_text("#state-output")) == {
        "go": True,
        "hold": 600,
        "data": {"items": [1, 2, 3]},
    }
    assert "ParallelStateEntered" in p.inner_text("#history")
    page.shot("pipeline-execution")
    p.click("#stop-execution")
    p.click("#confirm-dialog button[type=submit]")
    p.wait_for_selector(".head >> text=ABORTED", timeout=TIMEOUT_MS)
    p.wait_for_selector('#graph [data-state="Fan/1/Hold"].asl-aborted', timeout=TIMEOUT_MS)
    with seeded.client() as c:
        execution = c.get("/api/v1/pipelines/ui-flow/executions/held").json()
        assert execution["status"] == "ABORTED", execution


def test_start_an_execution_from_the_page(page: Watched, seeded: Seeded) -> None:
    with seeded.client() as c:
        made = c.post(
            "/api/v1/pipelines", json={"name": "ui-refused", "definition": json.dumps(DEFINITION)}
        )
        assert made.status_code == 201, made.text
    p = page.goto("/pipelines/ui-refused")
    p.click("#start-execution")
    p.fill("#start-dialog [name=name]", "from-page")
    p.fill("#start-dialog [name=input]", '{"go": false}')
    p.click("#start-dialog button[type=submit]")
    p.wait_for_selector(".head >> text=FAILED", timeout=TIMEOUT_MS)
    p.wait_for_selector('#graph [data-state="Refused"].asl-failed', timeout=TIMEOUT_MS)
    assert "go was false" in p.inner_text("body")
    p.click("#graph [data-state=Gate]")
    p.wait_for_selector("#state-input", timeout=TIMEOUT_MS)
    with seeded.client() as c:
        execution = c.get("/api/v1/pipelines/ui-refused/executions/from-page").json()
        assert (execution["status"], execution["error"]) == ("FAILED", "NoGo")
    page.shot("pipeline-failed")


def test_the_pipeline_page_shows_its_tags(page: Watched, seeded: Seeded) -> None:
    with seeded.client() as c:
        body = {"name": "ui-tagged", "definition": json.dumps(DEFINITION)}
        body["tags"] = {"team": "ml", "nightly": ""}
        assert c.post("/api/v1/pipelines", json=body).status_code == 201
    p = page.goto("/pipelines/ui-tagged")
    p.wait_for_selector("#pipeline-tags", timeout=TIMEOUT_MS)
    assert p.locator("#pipeline-tags .chip").all_inner_texts() == ["nightly", "team=ml"]
    page.shot("pipeline-tags")


def test_a_parallel_that_succeeded_after_a_redrive_is_not_drawn_as_caught(
    page: Watched, seeded: Seeded
) -> None:
    read = {
        "Type": "Task",
        "Resource": "arn:aws:states:::aws-sdk:ssm:getParameter",
        "Parameters": {"Name": "/ui/redrive/late"},
        "End": True,
    }
    definition = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Read", "States": {"Read": read}},
                    {"StartAt": "Idle", "States": {"Idle": {"Type": "Pass", "End": True}}},
                ],
                "End": True,
            }
        },
    }
    runs = "/api/v1/pipelines/ui-redrive/executions"
    with seeded.client() as c:
        made = c.post(
            "/api/v1/pipelines", json={"name": "ui-redrive", "definition": json.dumps(definition)}
        )
        assert made.status_code == 201, made.text
        started = c.post(runs, json={"name": "late", "input": "{}"})
        assert started.status_code == 201, started.text
        failed = c.get(f"{runs}/late", params={"wait": 20}).json()
        assert failed["status"] == "FAILED", failed
        put = c.post("/api/v1/params", json={"name": "/ui/redrive/late", "value": "here"})
        assert put.status_code < 300, put.text
        assert c.post(f"{runs}/late/redrive").status_code < 300
        done = c.get(f"{runs}/late", params={"wait": 20}).json()
        assert done["status"] == "SUCCEEDED", done
    p = page.goto("/pipelines/ui-redrive/executions/late")
    p.wait_for_selector('#graph [data-state="Both"].asl-succeeded', timeout=TIMEOUT_MS)
    p.wait_for_selector('#graph [data-state="Both/0/Read"].asl-succeeded', timeout=TIMEOUT_MS)
    assert "asl-caught" not in (p.get_attribute('#graph [data-state="Both"]', "class") or "")


def test_leaving_the_page_closes_its_start_form(page: Watched, seeded: Seeded) -> None:
    with seeded.client() as c:
        made = c.post(
            "/api/v1/pipelines", json={"name": "ui-leave", "definition": json.dumps(DEFINITION)}
        )
        assert made.status_code == 201, made.text
    p = page.goto("/pipelines")
    p.click("#pipelines >> text=ui-leave")
    p.click("#start-execution")
    p.wait_for_selector("#start-dialog[open]", timeout=TIMEOUT_MS)
    p.go_back()  # the browser's Back button, the form still open
    p.wait_for_selector("#pipelines >> text=ui-leave", timeout=TIMEOUT_MS)
    assert p.query_selector("dialog[open]") is None
    with seeded.client() as c:
        assert c.get("/api/v1/pipelines/ui-leave/executions").json()["executions"] == []


# Every point of an edge that lies inside a state's box (its own ends lie on its boxes' borders,
# which the 2-pixel margin leaves out).
CROSSINGS = """() => {
  const boxes = [...document.querySelectorAll("#graph .asl-node > rect")].map((r) => {
    const b = r.getBBox();
    const name = r.parentNode.dataset.state;
    return { name, x: b.x + 2, y: b.y + 2, w: b.width - 4, h: b.height - 4 };
  });
  const found = [];
  for (const path of document.querySelectorAll("#graph .asl-edge")) {
    const length = path.getTotalLength();
    for (let at = 0; at <= length; at += 2) {
      const p = path.getPointAtLength(at);
      for (const b of boxes) {
        if (p.x > b.x && p.x < b.x + b.w && p.y > b.y && p.y < b.y + b.h) found.push(b.name);
      }
    }
  }
  return [...new Set(found)];
}"""


def test_a_catch_to_a_state_further_down_crosses_no_state(page: Watched, seeded: Seeded) -> None:
    task = {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:ssm:getParameter"}
    definition = {
        "StartAt": "Train",
        "States": {
            "Train": {
                **task,
                "Parameters": {"Name": "/a"},
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Notify"}],
                "Next": "Evaluate",
            },
            "Evaluate": {**task, "Parameters": {"Name": "/b"}, "Next": "Gate"},
            "Gate": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.ok", "BooleanEquals": True, "Next": "Deploy"}],
                "Default": "Notify",
            },
            "Deploy": {"Type": "Succeed"},
            "Notify": {"Type": "Fail", "Error": "Failed"},
        },
    }
    with seeded.client() as c:
        made = c.post(
            "/api/v1/pipelines", json={"name": "ui-catch", "definition": json.dumps(definition)}
        )
        assert made.status_code == 201, made.text
    p = page.goto("/pipelines/ui-catch")
    p.wait_for_selector('#graph [data-state="Notify"]', timeout=TIMEOUT_MS)
    assert p.evaluate(CROSSINGS) == []
    page.shot("pipeline-catch")


def test_a_redrive_from_the_page_is_followed_to_its_end(page: Watched, seeded: Seeded) -> None:
    read = {
        "Type": "Task",
        "Resource": "arn:aws:states:::aws-sdk:ssm:getParameter",
        "Parameters": {"Name": "/ui/redrive/button"},
        "Next": "Nap",
    }
    nap = {"Type": "Wait", "Seconds": 2, "End": True}  # still running when the page asks again
    definition = {"StartAt": "Read", "States": {"Read": read, "Nap": nap}}
    runs = "/api/v1/pipelines/ui-redrive-button/executions"
    with seeded.client() as c:
        made = c.post(
            "/api/v1/pipelines",
            json={"name": "ui-redrive-button", "definition": json.dumps(definition)},
        )
        assert made.status_code == 201, made.text
        assert c.post(runs, json={"name": "late", "input": "{}"}).status_code == 201
        failed = c.get(f"{runs}/late", params={"wait": 20}).json()
        assert failed["status"] == "FAILED", failed
        put = c.post("/api/v1/params", json={"name": "/ui/redrive/button", "value": "here"})
        assert put.status_code < 300, put.text
    p = page.goto("/pipelines/ui-redrive-button/executions/late")
    p.wait_for_selector(".head >> text=FAILED", timeout=TIMEOUT_MS)
    p.click("#redrive-execution")
    # the page follows the execution it started again, as it follows a running one
    p.wait_for_selector(".head >> text=SUCCEEDED", timeout=TIMEOUT_MS)
    p.wait_for_selector('#graph [data-state="Nap"].asl-succeeded', timeout=TIMEOUT_MS)


def test_a_state_whose_failure_was_caught_is_drawn_as_caught(page: Watched, seeded: Seeded) -> None:
    """A caught state is never exited (its Catch's target is entered next): once the execution
    has succeeded, it is drawn as caught, not as running."""
    definition = {
        "StartAt": "Read",
        "States": {
            "Read": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:ssm:getParameter",
                "Parameters": {"Name": "/ui/caught/missing"},
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Fallback"}],
                "End": True,
            },
            "Fallback": {"Type": "Pass", "End": True},
        },
    }
    runs = "/api/v1/pipelines/ui-caught/executions"
    with seeded.client() as c:
        made = c.post(
            "/api/v1/pipelines", json={"name": "ui-caught", "definition": json.dumps(definition)}
        )
        assert made.status_code == 201, made.text
        assert c.post(runs, json={"name": "once", "input": "{}"}).status_code == 201
        done = c.get(f"{runs}/once", params={"wait": 20}).json()
        assert done["status"] == "SUCCEEDED", done
        # an update since does not change how this execution is drawn
        renamed = {"StartAt": "Other", "States": {"Other": {"Type": "Pass", "End": True}}}
        changed = c.patch("/api/v1/pipelines/ui-caught", json={"definition": json.dumps(renamed)})
        assert changed.status_code < 300, changed.text
    p = page.goto("/pipelines/ui-caught/executions/once")
    p.wait_for_selector('#graph [data-state="Fallback"].asl-succeeded', timeout=TIMEOUT_MS)
    p.wait_for_selector('#graph [data-state="Read"].asl-caught', timeout=TIMEOUT_MS)
    assert p.query_selector('#graph [data-state="Other"]') is None
    page.shot("pipeline-caught")


def test_the_history_names_each_failures_error(page: Watched, seeded: Seeded) -> None:
    """A failed task's row says its error (not the resource that failed), and a cause sent as
    Lambda's JSON reads as its errorMessage, as the command line shows them."""
    lambda_cause = {
        "errorMessage": "bad input: 3 rows",
        "errorType": "ValueError",
        "stackTrace": ['  File "/srv/fns.py", line 8, in score\n    raise ValueError()\n'],
    }
    definition = {
        "StartAt": "Read",
        "States": {
            "Read": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:ssm:getParameter",
                "Parameters": {"Name": "/ui/history/missing"},
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Boom"}],
                "End": True,
            },
            "Boom": {"Type": "Fail", "Error": "ValueError", "Cause": json.dumps(lambda_cause)},
        },
    }
    runs = "/api/v1/pipelines/ui-history/executions"
    with seeded.client() as c:
        made = c.post(
            "/api/v1/pipelines", json={"name": "ui-history", "definition": json.dumps(definition)}
        )
        assert made.status_code == 201, made.text
        assert c.post(runs, json={"name": "once", "input": "{}"}).status_code == 201
        done = c.get(f"{runs}/once", params={"wait": 20}).json()
        assert done["status"] == "FAILED", done
    p = page.goto("/pipelines/ui-history/executions/once")
    p.wait_for_selector("#history >> text=ExecutionFailed", timeout=TIMEOUT_MS)
    rows = {
        cells[1]: cells[3]
        for cells in (
            [c.strip() for c in row.split("\t")]
            for row in p.locator("#history tbody tr").all_inner_texts()
        )
    }
    assert rows["TaskFailed"].startswith("Ssm.ParameterNotFoundException: "), rows
    assert rows["ExecutionFailed"] == "ValueError: bad input: 3 rows", rows


def test_a_states_input_and_output_come_from_the_same_map_iteration(
    page: Watched, seeded: Seeded
) -> None:
    """Map iterations interleave: the output shown for a state inside one must sit beside the
    input of the iteration it came from, found through each event's previous_event_id, not
    beside the latest input of that name."""
    p = page.goto("/pipelines")
    expect(p.locator("h1")).to_be_visible()
    shown = p.evaluate(
        """async () => {
          const { statesOf } = await import("/ui/pages/execution.js");
          const entered = (id, prev, input) => ({ id, previous_event_id: prev,
            type: "TaskStateEntered", time: id,
            details: { stateEnteredEventDetails: { name: "Score", input } } });
          const exited = (id, prev, output) => ({ id, previous_event_id: prev,
            type: "TaskStateExited", time: id,
            details: { stateExitedEventDetails: { name: "Score", output } } });
          const events = [
            { id: 1, previous_event_id: 0, type: "ExecutionStarted", time: 1, details: {} },
            { id: 2, previous_event_id: 1, type: "MapStateEntered", time: 2,
              details: { stateEnteredEventDetails: { name: "Each", input: "[1,2]" } } },
            { id: 3, previous_event_id: 2, type: "MapIterationStarted", time: 3, details: {} },
            { id: 4, previous_event_id: 2, type: "MapIterationStarted", time: 4, details: {} },
            entered(5, 3, '{"x":1}'),
            entered(6, 4, '{"x":2}'),
            exited(7, 6, '{"y":2}'),
            exited(8, 5, '{"y":1}'),
          ];
          const { io } = statesOf(events, "RUNNING");
          return [io.Score.input, io.Score.output, io.Score.entered, io.Score.exited];
        }"""
    )
    assert shown == ['{"x":1}', '{"y":1}', 5, 8]
