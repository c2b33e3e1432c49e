"""The monitoring pages over a schedule whose checks really ran: a baseline suggested from
training data by a real job, four past hours of the seeded endpoint's capture (written where its
serving worker writes them, each hour drifting further and predicting worse), ground truth for
them, and a check of each hour run now through the API. The pages are then read: the list, the
schedule (spec, charts over time, executions, violations paged), an execution (its numbers and
its report in a sandboxed frame), Run now by an editor and refused to a viewer, and the endpoint's
link to its schedules."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest
from playwright.sync_api import expect

from tests.ui.conftest import PASSWORD, Seeded, Watched, _ok, _session, _wait, png_size

pytest.importorskip("dockyard.monitor")
pytestmark = pytest.mark.slow

TIMEOUT_MS = 30_000
HOUR = 3_600_000
SCHEDULE = "ui-drift"
VIEWER = "ui-monitoring-viewer"
FEATURES = ["amount", "age", "score"]
#: Per past hour, oldest first: how far ``amount`` moved (in standard deviations) and how wrong
#: the answers were (the noise on the true value: the window's RMSE).
SHIFTS = (0.0, 0.4, 1.2, 2.5)
NOISE = (0.1, 0.2, 0.35, 0.9)
ROWS = 150


@pytest.fixture(autouse=True)
def _timeouts() -> None:
    expect.set_options(timeout=TIMEOUT_MS)


@dataclass(frozen=True)
class Monitored:
    """The seeded schedule's checks, oldest window first."""

    executions: list[dict[str, Any]]

    @property
    def worst(self) -> dict[str, Any]:
        return self.executions[-1]


def _exchange(
    seeded: Seeded, request_id: str, when_ms: int, row: list[float], answer: float
) -> bytes:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when_ms / 1000))
    body = {"dataframe_split": {"columns": FEATURES, "data": [row]}}
    record = {
        "request_id": request_id,
        "time": f"{stamp}.000000Z",
        "endpoint": seeded.endpoint,
        "variant": "champion",
        "kind": "production",
        "status": 200,
        "input": {"content_type": "application/json", "encoding": "json", "data": body},
        "output": {
            "content_type": "application/json",
            "encoding": "json",
            "data": {"predictions": [answer]},
        },
    }
    return orjson.dumps(record) + b"\n"


def _capture(seeded: Seeded, hour_ms: int, index: int, labels: list[str]) -> None:
    """One hour of the champion's traffic, in the file its serving worker would have flushed."""
    rng = np.random.default_rng(100 + index)
    rows = rng.normal(size=(ROWS, 3))
    rows[:, 0] += SHIFTS[index]
    truth = 2 * rows[:, 0] + rows[:, 2]
    answers = truth + rng.normal(scale=NOISE[index], size=ROWS)
    hour = time.strftime("%Y/%m/%d/%H", time.gmtime(hour_ms / 1000))
    folder = seeded.home / "artifacts" / "capture" / seeded.endpoint / "champion" / hour
    folder.mkdir(parents=True, exist_ok=True)
    lines = b""
    for i in range(ROWS):
        request_id = f"ui-mon-{index}-{i}"
        when = hour_ms + 60_000 + i * 1000
        lines += _exchange(seeded, request_id, when, [float(v) for v in rows[i]], float(answers[i]))
        labels.append(json.dumps({"inference_id": request_id, "label": float(truth[i])}))
    (folder / f"{hour.replace('/', '')}0000-w1-000001.jsonl").write_bytes(lines)


@pytest.fixture(scope="module")
def monitored(seeded: Seeded) -> Iterator[Monitored]:
    rng = np.random.default_rng(3)
    training = pd.DataFrame(rng.normal(size=(600, 3)), columns=FEATURES)
    with seeded.client() as c:
        put = c.put("/api/v1/data/ui-monitoring/train.csv", content=training.to_csv(index=False))
        spec = {
            "name": SCHEDULE,
            "target": {"endpoint": seeded.endpoint, "variant": "champion"},
            "baseline": {"suggest_from": {"dataset_uri": _ok(put)["uri"]}},
            "data": {"columns": FEATURES},
            "check": {"drift_metric": "psi", "thresholds": {"psi": 0.2}},
            "model_quality": {"problem_type": "regression", "thresholds": {"rmse": {"max": 0.5}}},
        }
        _ok(c.post("/api/v1/monitoring-schedules", json=spec))
        path = f"/api/v1/monitoring-schedules/{SCHEDULE}"

        def baselined() -> bool:
            schedule = _ok(c.get(path))
            assert schedule["status"] != "Failed", schedule["failure_reason"]
            return bool(schedule["status"] == "Scheduled")

        _wait("the baseline job", baselined, timeout=180)
        hour = int(time.time() * 1000) // HOUR * HOUR
        starts = [hour - (len(SHIFTS) - i) * HOUR for i in range(len(SHIFTS))]
        labels: list[str] = []
        for i, start in enumerate(starts):
            _capture(seeded, start, i, labels)
        _ok(c.post(f"{path}/ground-truth", content="\n".join(labels).encode()))
        ids = [
            _ok(c.post(f"{path}/run", json={"start": s, "end": s + HOUR}))["execution_id"]
            for s in starts
        ]

        def ended() -> list[dict[str, Any]] | None:
            found = [_ok(c.get(f"{path}/executions/{i}")) for i in ids]
            if any(e["status"] in ("Pending", "InProgress") for e in found):
                return None
            return found

        executions = _wait("the checks", ended, timeout=300)
    failed = [e["failure_reason"] for e in executions if e["status"] == "Failed"]
    assert not failed, failed
    assert executions[0]["status"] == "Completed", executions[0]
    worst = executions[-1]
    assert worst["status"] == "CompletedWithViolations", worst
    assert {"amount"} <= {d["feature"] for d in worst["drifted_features"]}, worst
    assert worst["metrics"]["rmse"] > 0.5 and worst["report_url"], worst
    yield Monitored(executions)
    with seeded.client() as c:  # an endpoint a schedule watches is not deleted
        c.delete(f"/api/v1/monitoring-schedules/{SCHEDULE}")


@pytest.fixture(scope="module")
def viewer(seeded: Seeded) -> str:
    with seeded.client() as c:
        _ok(c.post("/api/v1/users", json={"name": VIEWER, "role": "viewer", "password": PASSWORD}))
    return VIEWER


@pytest.fixture
def viewer_page(browser: Any, seeded: Seeded, viewer: str) -> Iterator[Watched]:
    cookie, csrf = _session(seeded, viewer)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.add_cookies([{"name": "dockyard_session", "value": cookie, "url": seeded.url}])
    context.add_init_script(
        f"if (window === window.top) localStorage.setItem('dockyard.csrf', {json.dumps(csrf)})"
    )
    watched = Watched(context.new_page(), seeded)
    yield watched
    context.close()
    watched.check()


def test_the_seeded_checks_found_drift(monitored: Monitored) -> None:
    assert len(monitored.executions) == len(SHIFTS)


def test_the_list_shows_each_schedule_and_its_last_check(
    page: Watched, monitored: Monitored
) -> None:
    p = page.goto("/experiments")
    p.click("#nav >> text=Monitoring")
    row = p.locator("#monitoring-schedules tr", has_text=SCHEDULE)
    expect(row).to_be_visible()
    expect(row).to_contain_text("fraud-api")
    expect(row).to_contain_text("Scheduled")
    expect(row).to_contain_text(monitored.worst["status"])
    expect(row.locator("td.num")).to_have_text(str(monitored.worst["violation_count"]))
    assert png_size(page.shot("monitoring-list")) == (1400, 900)
    row.locator(f"a >> text={SCHEDULE}").click()
    expect(p.locator("h1")).to_have_text(SCHEDULE)
    # Dark theme: the charts redraw in its colours.
    p.keyboard.press("t")
    expect(p.locator("[data-chart=drift][data-ready='1'] canvas")).to_have_count(1)
    page.shot("monitoring-schedule-dark")


def test_a_schedule_charts_its_windows_and_pages_its_violations(
    page: Watched, seeded: Seeded, monitored: Monitored
) -> None:
    with seeded.client() as c:
        schedule = _ok(c.get(f"/api/v1/monitoring-schedules/{SCHEDULE}"))
    p = page.goto(f"/monitoring/{SCHEDULE}?vmax=1")
    spec = p.locator("#schedule-spec")
    # When the next check runs: once the next window has ended and its capture settled (the
    # browser shares our zone).
    check = time.strftime("%Y-%m-%d %H:%M", time.localtime(schedule["next_check_time"] / 1000))
    expect(spec.locator("tr", has_text="Next check")).to_contain_text(check)
    expect(spec).to_contain_text("suggested from")
    expect(spec).to_contain_text("psi 0.2")
    expect(spec).to_contain_text("rmse ≤ 0.5")
    windows = len(SHIFTS)
    for key in ("violations", "drift", "quality"):
        card = p.locator(f"[data-chart={key}][data-ready='1']")
        expect(card).to_be_visible()
        expect(card.locator("canvas")).to_have_count(1)
        assert card.get_attribute("data-points") == str(windows), key
    # The legend names what is drawn: the drifted feature, the quality metrics.
    expect(p.locator("[data-chart=drift] .u-legend")).to_contain_text("amount")
    expect(p.locator("[data-chart=quality] .u-legend")).to_contain_text("rmse")
    rows = p.locator("#executions tr.execution-row")
    expect(rows).to_have_count(windows + 1)  # and the baseline's
    worst = monitored.worst
    flagged = p.locator("#executions tr.has-violations")
    expect(flagged.first).to_contain_text(str(worst["violation_count"]))
    expect(flagged.first).to_contain_text("baseline_drift_check")
    page.shot("monitoring-schedule")
    p.locator("#executions").scroll_into_view_if_needed()
    page.shot("monitoring-schedule-executions")
    # One execution's violations a page: the newest first, then older ones, then back.
    with_violations = [e for e in reversed(monitored.executions) if e["violation_count"]]
    first = p.locator("#violations tr.violation-row")
    expect(first).to_have_count(worst["violation_count"])
    expect(p.locator("#violations-newer")).to_be_disabled()
    p.click("#violations-older")
    expect(p.locator("#violations-page")).to_have_text("page 2")
    expect(p.locator("#violations tr.violation-row")).to_have_count(
        with_violations[1]["violation_count"]
    )
    p.click("#violations-newer")
    expect(p.locator("#violations-page")).to_have_text("page 1")
    expect(first).to_have_count(worst["violation_count"])


def test_an_execution_shows_its_numbers_and_its_report_sandboxed(
    page: Watched, seeded: Seeded, monitored: Monitored
) -> None:
    worst = monitored.worst
    with seeded.client() as c:
        report = c.get(worst["report_url"])
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    policy = report.headers["content-security-policy"]
    assert policy.startswith("sandbox;") and "default-src 'none'" in policy
    assert report.headers["x-content-type-options"] == "nosniff"
    p = page.goto(f"/monitoring/{SCHEDULE}")
    p.locator("#executions tr.has-violations a").first.click()
    expect(p.locator("#execution-summary")).to_contain_text(worst["execution_id"])
    drifted = p.locator("#drifted tr.drifted-row", has_text="amount")
    expect(drifted).to_contain_text("psi")
    amount = next(d for d in worst["drifted_features"] if d["feature"] == "amount")
    expect(drifted).to_contain_text(f"{amount['psi']:.6g}")  # as fmtNum writes it
    expect(p.locator("#quality")).to_contain_text("rmse")
    expect(p.locator("#execution-violations tr.violation-row")).to_have_count(
        worst["violation_count"]
    )
    frame = p.locator("iframe#report-frame")
    assert frame.get_attribute("sandbox") == ""
    assert frame.get_attribute("src") == worst["report_url"]
    frame.scroll_into_view_if_needed()
    inside = p.frame_locator("iframe#report-frame")
    expect(inside.locator("svg").first).to_be_attached()
    expect(inside.locator("body")).to_contain_text("amount")
    page.shot("monitoring-execution")
    p.locator("#execution-summary").scroll_into_view_if_needed()
    page.shot("monitoring-execution-summary")


def _local(p: Any, ms: int) -> str:
    """What a datetime-local input holds for ``ms`` in the browser's time zone."""
    shifted = "(ms) => new Date(ms - new Date(ms).getTimezoneOffset() * 60000)"
    return str(p.evaluate(f"{shifted}.toISOString().slice(0, 16)", ms))


def test_run_now_checks_a_window(page: Watched, seeded: Seeded, monitored: Monitored) -> None:
    p = page.goto(f"/monitoring/{SCHEDULE}")
    rows = p.locator("#executions tr.execution-row")
    expect(rows).to_have_count(len(SHIFTS) + 1)
    p.click("#run-now")
    dialog = p.locator("dialog#run-dialog[open]")
    expect(dialog).to_be_visible()
    start = monitored.executions[0]["window_start"]
    local = _local(p, start)
    dialog.locator("input[name=start]").fill(local)
    dialog.locator("input[name=end]").fill(local)
    page.allowed_errors.append("status of 400")  # the browser logs the refused window
    dialog.locator("button[type=submit]").click()
    # Shown beside the field the server names.
    expect(dialog.locator(".field-error[data-for=end]")).to_contain_text("must be after start")
    expect(dialog.locator("input[name=end]")).to_have_class(re.compile(r"\binvalid\b"))
    end = _local(p, start + HOUR)
    dialog.locator("input[name=end]").fill(end)
    page.shot("monitoring-run-now")
    dialog.locator("button[type=submit]").click()
    expect(dialog).to_be_hidden()
    expect(rows).to_have_count(len(SHIFTS) + 2)
    with seeded.client() as c:
        listed = _ok(c.get(f"/api/v1/monitoring-schedules/{SCHEDULE}/executions"))
    new = max(listed["executions"], key=lambda e: e["created_time"])
    assert (new["window_start"], new["window_end"]) == (start, start + HOUR)
    # The page looks again while the check runs, and shows it ended.
    row = p.locator(f"#executions tr.execution-row:has(a[href$='{new['execution_id']}'])")
    expect(row).to_contain_text("manual")
    expect(row.locator(".badge")).to_have_text("Completed", timeout=120_000)


def test_a_viewer_may_not_run_a_window_and_is_told_so(
    viewer_page: Watched, seeded: Seeded, monitored: Monitored
) -> None:
    page = viewer_page
    p = page.goto(f"/monitoring/{SCHEDULE}")
    expect(p.locator("#run-refused")).to_contain_text("Read-only (viewer)")
    expect(p.locator("#run-now")).to_have_count(0)
    expect(p.locator("[data-chart=drift][data-ready='1']")).to_be_visible()
    page.shot("monitoring-viewer")

    # Make the page believe the viewer is a member: the server refuses, the dialog says so.
    def as_member(route: Any) -> None:
        if route.request.method != "GET":
            route.continue_()
            return
        answer = route.fetch()
        body = answer.json()
        route.fulfill(
            response=answer, json={**body, "whoami": {**body["whoami"], "role": "member"}}
        )

    path = f"/api/v1/monitoring-schedules/{SCHEDULE}/executions"
    with seeded.client() as c:
        before = len(_ok(c.get(path))["executions"])
    page.allowed_errors.append("status of 403")
    p.route("**/api/v1/session", as_member)
    p.reload()
    p.click("#run-now")
    dialog = p.locator("dialog#run-dialog[open]")
    dialog.locator("button[type=submit]").click()
    expect(dialog.locator(".form-error")).to_contain_text("Not allowed")
    page.shot("monitoring-run-refused")
    with seeded.client() as c:
        assert len(_ok(c.get(path))["executions"]) == before


def test_the_endpoint_links_to_its_schedules(
    page: Watched, seeded: Seeded, monitored: Monitored
) -> None:
    p = page.goto(f"/endpoints/{seeded.endpoint}")
    link = p.locator(f"#endpoint-monitoring a >> text={SCHEDULE}")
    expect(link).to_be_visible()
    link.click()
    expect(p.locator("h1")).to_have_text(SCHEDULE)
