"""Every page against the seeded server, and the flows people use: sign in and out, filter and
sort runs, compare three runs, move an alias, follow a job's log, watch an endpoint's traffic,
follow the event log. Each test's page is checked for console errors and foreign requests."""

from __future__ import annotations

import math
import re
import threading
import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.ui.conftest import PASSWORD, Seeded, Watched, _ok, png_size

pytestmark = pytest.mark.slow

TIMEOUT_MS = 20_000


def until(p: Any, predicate: str, timeout_s: float = TIMEOUT_MS / 1000) -> Any:
    """Poll a JavaScript function in the page until it returns something truthy. (The page's
    Content-Security-Policy forbids eval, which Playwright's wait_for_function needs; evaluate
    goes through the DevTools protocol, which the policy does not govern.)"""
    deadline = time.monotonic() + timeout_s
    while True:
        got = p.evaluate(predicate)
        if got:
            return got
        assert time.monotonic() < deadline, f"still false after {timeout_s} s: {predicate}"
        p.wait_for_timeout(100)


def _pages(seeded: Seeded) -> list[tuple[str, str, str]]:
    """(screenshot name, route, a selector that proves the page drew its data)."""
    run = seeded.artifact_run
    eid = seeded.experiment_id
    three = ",".join(seeded.run_ids[:3])
    return [
        ("experiments", "/experiments", "text=fraud-detection"),
        ("runs", f"/experiments/{eid}", ".vt-row >> text=trial-22"),
        ("run", f"/experiments/{eid}/runs/{run}", "text=max_depth"),
        ("run-metrics", f"/experiments/{eid}/runs/{run}?tab=metrics", ".card[data-ready='1']"),
        (
            "run-artifacts",
            f"/experiments/{eid}/runs/{run}?tab=artifacts&path=data/predictions.csv",
            "table.csv >> text=amount",
        ),
        (
            "run-datasets",
            f"/experiments/{eid}/runs/{run}?tab=datasets",
            "text=transactions-2026-10",
        ),
        ("run-lineage", f"/experiments/{eid}/runs/{run}?tab=lineage", "text=fold-1"),
        ("compare", f"/compare?runs={three}", "#curves[data-ready='1']"),
        ("models", "/models", f"text={seeded.model}"),
        ("model", f"/models/{seeded.model}", "#versions >> text=v2"),
        ("version", f"/models/{seeded.model}/versions/1", "text=holdout AUC 0.91"),
        ("jobs", "/jobs", f"#jobs >> text={seeded.job}"),
        ("job", f"/jobs/{seeded.job}", "#log >> text=epoch"),
        ("endpoints", "/endpoints", f"#endpoints >> text={seeded.endpoint}"),
        ("endpoint", f"/endpoints/{seeded.endpoint}", "text=champion"),
        ("events", "/events", "#feed .ev"),
    ]


def test_every_page_draws_without_errors(page: Watched, seeded: Seeded) -> None:
    for name, route, ready in _pages(seeded):
        page.goto(route).wait_for_selector(ready, timeout=TIMEOUT_MS)
        assert page.page.locator(".banner.bad").count() == 0 or name in ("endpoint", "job"), name
        shot = page.shot(name)
        assert png_size(shot) == (1400, 900)
    # Dark theme: the same pages re-read their colours.
    page.page.keyboard.press("t")
    for name, route, ready in _pages(seeded)[1:4]:
        page.goto(route).wait_for_selector(ready, timeout=TIMEOUT_MS)
        page.shot(f"{name}-dark")
    assert page.page.evaluate("document.documentElement.dataset.theme") == "dark"


def test_a_narrow_window_wraps_the_links_and_keeps_the_account_in_view(
    page: Watched, seeded: Seeded
) -> None:
    page.page.set_viewport_size({"width": 1024, "height": 700})
    page.goto("/pipelines").wait_for_selector(".user-name", timeout=TIMEOUT_MS)
    # The links took 1,342 px in one row: the page scrolled sideways and cut the account off.
    assert page.page.evaluate("document.documentElement.scrollWidth") <= 1024
    box = page.page.locator(".user-name").bounding_box()
    assert box is not None and box["x"] + box["width"] <= 1024
    assert page.page.locator("#nav a", has_text="Account").is_visible()
    page.shot("narrow")


def test_sign_in_shows_the_user_and_signs_out(anonymous_page: Watched, seeded: Seeded) -> None:
    p = anonymous_page.goto(f"/experiments/{seeded.experiment_id}")
    p.wait_for_selector("form.login", timeout=TIMEOUT_MS)
    anonymous_page.shot("login")
    p.fill("input[name=username]", "admin")
    p.fill("input[name=password]", "wrong password")
    p.click("button[type=submit]")
    p.wait_for_selector("form.login .error >> text=wrong user name or password")
    anonymous_page.allowed_errors.append("401")  # the refused sign-in, as the console logs it
    p.fill("input[name=password]", PASSWORD)
    p.click("button[type=submit]")
    # Back where the sign-in interrupted: the experiment's runs.
    p.wait_for_selector(".vt-row >> text=trial-22", timeout=TIMEOUT_MS)
    assert p.inner_text(".user-name") == "admin"
    assert p.inner_text(".user-role") == "admin"
    p.click("#signout")
    p.wait_for_selector("form.login")
    assert httpx.get(f"{seeded.url}/api/v1/whoami").status_code == 401


def test_a_fresh_visit_to_the_sign_in_logs_no_error(
    anonymous_page: Watched, seeded: Seeded
) -> None:
    p = anonymous_page.goto("/experiments")  # sent to the sign-in: nobody is signed in
    p.wait_for_selector("form.login", timeout=TIMEOUT_MS)
    p.reload()  # the sign-in page itself, visited afresh
    p.wait_for_selector("form.login", timeout=TIMEOUT_MS)
    assert "/login" in p.url
    anonymous_page.shot("login-fresh")
    anonymous_page.check()  # no console error: asking who is signed in is not refused


def test_a_completed_job_shows_its_exit_code_zero(page: Watched, seeded: Seeded) -> None:
    with seeded.client() as c:
        upload = _ok(c.put("/api/v1/data/ui-quick/quick.py", content=b"print('done')\n"))
        spec = {
            "name": "ui-quick",
            "entry_point": "quick.py",
            "source_dir": upload["uri"].rsplit("/", 1)[0],
        }
        _ok(c.post("/api/v1/jobs/training", json=spec))
        job = _ok(c.get("/api/v1/jobs/ui-quick", params={"wait": 60}))
    assert (job["status"], job["exit_code"]) == ("Completed", 0), job
    p = page.goto("/jobs/ui-quick")
    p.wait_for_selector("#log >> text=done", timeout=TIMEOUT_MS)
    exit_code = p.locator("table.kv tr", has=p.locator("td:text-is('Exit code')")).locator("td")
    assert exit_code.nth(1).inner_text() == "0"
    page.shot("job-completed")


def test_mlflow_run_link_lands_on_the_run(page: Watched, seeded: Seeded) -> None:
    run = seeded.run_ids[5]
    page.goto(f"/experiments/{seeded.experiment_id}/runs/{run}")
    page.page.wait_for_selector("h1 >> text=trial-05", timeout=TIMEOUT_MS)
    assert run in page.page.inner_text(".head")


def _runs_table(page: Watched, seeded: Seeded) -> Any:
    p = page.goto(f"/experiments/{seeded.experiment_id}")
    p.wait_for_selector(".vt-row >> text=trial-", timeout=TIMEOUT_MS)
    return p


_COLUMN = """([column, want]) => {
  const heads = [...document.querySelectorAll('.vt-head > div')].map(e => e.dataset.col);
  const index = heads.indexOf(column);
  const rows = [...document.querySelectorAll('.vt-row:not(.loading):not(.group)')]
    .sort((a, b) => Number(a.dataset.i) - Number(b.dataset.i)).slice(0, 12);
  const values = rows.map(r => r.children[index].innerText.trim());
  return values.length >= want && values;
}"""


def _column(p: Any, column: str, want: int = 5) -> list[str]:
    """The first rows' cells of a column, in row order (rows in view are drawn in any order)."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not (values := p.evaluate(_COLUMN, [column, want])):
        assert time.monotonic() < deadline, f"fewer than {want} rows drawn"
        p.wait_for_timeout(100)
    return list(values)


def test_filter_and_sort_runs(page: Watched, seeded: Seeded) -> None:
    p = _runs_table(page, seeded)
    p.keyboard.press("/")
    p.keyboard.type("params.optimizer = 'adam' and metrics.val_auc > 0.5")
    p.keyboard.press("Enter")
    p.wait_for_selector("text=12 runs", timeout=TIMEOUT_MS)
    assert set(_column(p, "p:optimizer")) == {"adam"}
    assert "filter=" in p.url
    p.click(".vt-head > div[data-col='m:loss']")  # metrics sort DESC first
    until(p, "() => location.hash.includes('order=metrics.loss')")
    # The re-sorted page replaces the rows once it arrives: wait for that order, or fail.
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while (values := [float(v) for v in _column(p, "m:loss") if v]) != sorted(values, reverse=True):
        assert time.monotonic() < deadline, f"rows not sorted by loss: {values}"
        p.wait_for_timeout(100)
    page.shot("runs-filtered-sorted")
    # A bad filter is named, not a blank table.
    p.fill("input.filter", "params.optimizer ==")
    p.keyboard.press("Enter")
    p.wait_for_selector(".error >> text=filter", timeout=TIMEOUT_MS)
    page.allowed_errors.append("400")
    # Grouping: one header per optimizer, each with its count.
    p.fill("input.filter", "")
    p.keyboard.press("Enter")
    p.select_option("#group", "params.optimizer")
    p.wait_for_selector(".vt-row.group >> text=12 runs", timeout=TIMEOUT_MS)
    groups = until(
        p,
        "() => { const g = [...document.querySelectorAll('.vt-row.group')].map(e => e.innerText);"
        " return g.length === 3 && g; }",
    )  # adam, sgd, and runs without the param (the child, the job)
    assert any("(not set)" in g for g in groups)
    page.shot("runs-grouped")


def test_compare_three_runs(page: Watched, seeded: Seeded) -> None:
    p = _runs_table(page, seeded)
    p.fill("input.filter", "params.optimizer = 'adam'")  # trials, not the job's or child runs
    p.keyboard.press("Enter")
    p.wait_for_selector("text=12 runs", timeout=TIMEOUT_MS)
    # The count and the rows are separate requests: x on a row still loading selects nothing.
    until(p, "() => document.querySelectorAll('.vt-row:not(.loading):not(.group)').length === 12")
    table = p.locator(".vt")
    table.focus()
    for selected in range(1, 4):  # keyboard: x selects the row under the cursor, j moves down
        p.keyboard.press("x")
        p.wait_for_selector(f"#compare:has-text('Compare {selected}')", timeout=TIMEOUT_MS)
        p.keyboard.press("j")
    p.keyboard.press("c")
    p.wait_for_selector("#curves[data-ready='1']", timeout=TIMEOUT_MS)
    assert p.get_attribute("#curves", "data-series") == "3"
    assert p.locator("#diff tr.diff").count() >= 2  # lr / max_depth / optimizer differ
    assert p.locator("#reproduce pre").count() == 3
    assert "git checkout" in p.inner_text("#reproduce")
    p.select_option("#metric", "val_auc")
    until(p, "() => location.hash.includes('metric=val_auc')")
    page.shot("compare-three", full_page=True)


def test_compare_first_draws_a_curve_rather_than_single_values(
    page: Watched, seeded: Seeded
) -> None:
    """Runs that logged a best score once (step 0) and a loss per epoch open their comparison on
    the loss: a single value per run would draw as a dot each on an empty axis."""
    with seeded.client() as c:
        made = _ok(c.post("/api/v1/experiments", json={"name": "compare-curves-first"}))
        runs = []
        for i in range(2):
            run = _ok(c.post("/api/v1/runs", json={"experiment_id": made["experiment_id"]}))
            run_id = run["info"]["run_id"]
            metrics = [{"key": "best_rmse", "value": 1.0 + i, "timestamp": 1, "step": 0}]
            metrics += [
                {"key": "loss", "value": 1 / (s + 1), "timestamp": 1 + s, "step": s}
                for s in range(20)
            ]
            _ok(c.post(f"/api/v1/runs/{run_id}/batch", json={"metrics": metrics}))
            runs.append(run_id)
    p = page.goto(f"/compare?runs={','.join(runs)}")
    p.wait_for_selector("#curves[data-ready='1']", timeout=TIMEOUT_MS)
    assert p.input_value("#metric") == "loss"
    assert p.get_attribute("#curves", "data-series") == "2"
    page.shot("compare-curves-first")


def test_move_alias_asks_first(page: Watched, seeded: Seeded) -> None:
    p = page.goto(f"/models/{seeded.model}")
    p.wait_for_selector("#aliases >> text=@champion", timeout=TIMEOUT_MS)
    p.fill("#alias-name", "champion")
    p.select_option("#alias-version", "2")
    p.click("#alias-move")
    p.wait_for_selector("dialog[open] >> text=Move @champion?")
    page.shot("alias-confirm")
    p.click("dialog[open] >> text=Cancel")
    with seeded.client() as c:
        assert c.get(f"/api/v1/registered-models/{seeded.model}").json()["aliases"] == {
            "champion": 1
        }
    p.click("#alias-move")
    p.click("dialog[open] >> text=Move alias")
    p.wait_for_selector("#aliases [data-alias=champion] >> text=v2", timeout=TIMEOUT_MS)
    with seeded.client() as c:
        model = c.get(f"/api/v1/registered-models/{seeded.model}").json()
        assert model["aliases"] == {"champion": 2}
        events = c.get("/api/v1/events", params={"type": "model_version.alias*"}).json()
        del events
        c.put(f"/api/v1/registered-models/{seeded.model}/aliases/champion", json={"version": 1})


_DEPLOYED = """() => {
  const title = [...document.querySelectorAll('h2')].find((e) => e.textContent === 'Deployed');
  const rows = title && title.nextElementSibling.querySelectorAll('tbody tr');
  return rows && rows.length ? [...rows].map((r) => r.cells[1].textContent).join(',') : '';
}"""


def test_version_page_lists_the_versions_endpoints_serve(page: Watched, seeded: Seeded) -> None:
    """The endpoint's champion variant was pinned to v1 (where @champion pointed when it was
    created): moving the alias to v2 leaves it on v1's page."""
    with seeded.client() as c:
        c.put(f"/api/v1/registered-models/{seeded.model}/aliases/champion", json={"version": 2})
    try:
        p = page.goto(f"/models/{seeded.model}/versions/1")
        assert until(p, _DEPLOYED) == "champion"
        p = page.goto(f"/models/{seeded.model}/versions/2")
        assert until(p, _DEPLOYED) == "challenger"
    finally:
        with seeded.client() as c:
            c.put(f"/api/v1/registered-models/{seeded.model}/aliases/champion", json={"version": 1})


def test_follow_a_running_job_log(page: Watched, seeded: Seeded) -> None:
    p = page.goto(f"/jobs/{seeded.job}")
    p.wait_for_selector("#log >> text=epoch", timeout=TIMEOUT_MS)
    first = len(p.inner_text("#log"))
    # The job prints a line every 0.3 s: the page must show new lines without a reload.
    until(p, f"() => document.querySelector('#log').textContent.length > {first}")
    last = re.findall(r"epoch (\d+)", p.inner_text("#log"))[-1]
    until(p, f"() => document.querySelector('#log').textContent.includes('epoch {int(last) + 2} ')")
    assert p.locator("#timeline > div").count() >= 3  # Pending, Starting, ..., Training
    scrolled = p.evaluate(
        "() => { const l = document.querySelector('#log'); "
        "return l.scrollTop + l.clientHeight >= l.scrollHeight - 5; }"
    )
    assert scrolled, "following keeps the newest line in view"
    page.shot("job-following")


def test_a_job_charts_its_runs_metrics_sampled(page: Watched, seeded: Seeded) -> None:
    p = page.goto(f"/jobs/{seeded.job}")
    card = ".card[data-metric=train_loss]"
    p.wait_for_selector(f"{card}[data-ready='1']", timeout=TIMEOUT_MS)
    assert re.search(r"[\d,]+ points", p.inner_text(f"{card} .title"))
    series = [u for u in page.requests if "/metric-series/train_loss?" in u]
    assert series and "max_points=" in series[0], page.requests
    assert not [u for u in page.requests if "/metrics/train_loss" in u]  # no whole history


def _endpoint_settled(c: httpx.Client, name: str, deadline_s: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + deadline_s
    while True:
        endpoint: dict[str, Any] = c.get(f"/api/v1/endpoints/{name}").json()
        if endpoint["status"] == "InService":
            return endpoint
        assert endpoint["status"] != "Failed", endpoint
        assert time.monotonic() < deadline, endpoint["events"]
        time.sleep(0.2)


def test_the_rollback_box_shows_only_a_rollback_that_is_the_latest_outcome(
    page: Watched, seeded: Seeded
) -> None:
    name = "ui-rollback"
    first = {"name": "first", "model_uri": f"models:/{seeded.model}/1"}
    second = {"name": "second", "model_uri": f"models:/{seeded.model}/2"}
    with seeded.client() as c:
        assert c.post("/api/v1/endpoints", json={"name": name, "variants": [first]}).is_success
        _endpoint_settled(c, name)
        # A canary nobody calls is rolled back once its longest hold has passed.
        quiet = {"strategy": "canary", "canary_pct": 10, "bake_s": 1, "max_bake_s": 2}
        body = {"name": name, "variants": [second], "rollout": quiet}
        assert c.put(f"/api/v1/endpoints/{name}", json=body).is_success
        assert _endpoint_settled(c, name)["failure_reason"].startswith("update rolled back")
    p = page.goto(f"/endpoints/{name}")
    box = p.locator("#rollbacks")
    expect(box).to_contain_text("rolled back to the previous configuration", timeout=TIMEOUT_MS)
    expect(box).not_to_contain_text("rolling out")
    with seeded.client() as c:
        body = {"name": name, "variants": [second], "rollout": {"strategy": "all-at-once"}}
        assert c.put(f"/api/v1/endpoints/{name}", json=body).is_success
        assert _endpoint_settled(c, name)["failure_reason"] is None
    # The page follows the endpoint: the update succeeded, so no rollback is shown any more.
    expect(p.get_by_text("update complete").first).to_be_visible(timeout=TIMEOUT_MS)
    expect(p.locator("#rollbacks")).to_have_count(0)
    expect(p.locator(".banner.bad")).to_have_count(0)
    with seeded.client() as c:
        c.delete(f"/api/v1/endpoints/{name}")


def test_endpoint_traffic_shows_up_live(page: Watched, seeded: Seeded) -> None:
    p = page.goto(f"/endpoints/{seeded.endpoint}")
    p.wait_for_selector("[data-chart=requests][data-points]", timeout=TIMEOUT_MS)
    stop = threading.Event()
    row = {"dataframe_split": {"columns": ["amount", "age", "score"], "data": [[0.5, 0.1, 0.3]]}}

    def load() -> None:
        with httpx.Client(base_url=seeded.endpoint_url, timeout=10) as c:
            while not stop.is_set():
                c.post("/invocations", json=row)
                stop.wait(0.02)

    thread = threading.Thread(target=load)
    thread.start()
    try:
        # Requests/s for the champion rises above zero within a few samples.
        until(
            p,
            "() => { const t = document.querySelector('[data-now=requests]').textContent;"
            " const m = /champion ([0-9.]+)/.exec(t); return m && Number(m[1]) > 1; }",
        )
    finally:
        stop.set()
        thread.join()
    assert "challenger" in p.inner_text("[data-now=requests]")
    # The worker's access log follows on the same page (written about every half second).
    until(
        p,
        '() => /"variant":"champion"/.test(document.querySelector(\'#endpoint-log\').textContent)',
    )
    assert "serving" in p.inner_text("#log-worker")
    # Who served: each worker's id (its log's name), where it runs, what it answered.
    workers = p.inner_text("#workers table")
    assert "this server's machine" in workers and "InService" in workers, workers
    assert re.search(r"i-[0-9a-f]+", workers), workers
    # Captured records are flushed to the store in the background: refresh until they are there.
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not p.locator("#capture table >> text=champion").count():
        if time.monotonic() > deadline:
            with seeded.client() as c:
                listed = c.get(f"/api/v1/endpoints/{seeded.endpoint}/capture").text
            raise AssertionError(f"no record shown: {p.inner_text('#capture')!r} {listed[:500]}")
        p.click("#capture-refresh")
        p.wait_for_timeout(500)
    # A record's time as the other tables say it (to the millisecond), the stored ISO text
    # under the pointer; not 2026-12-06T22:24:42.046332Z wrapped over two lines.
    stamp = p.locator("#capture td.time span").first
    expect(stamp).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$"))
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)", stamp.get_attribute("title") or ""
    )
    page.shot("endpoint-traffic", full_page=True)


def test_events_feed_follows_the_log(page: Watched, seeded: Seeded) -> None:
    p = page.goto("/events?type=experiment.*")
    p.wait_for_selector("#feed .ev", timeout=TIMEOUT_MS)
    p.wait_for_selector("text=● live")
    with seeded.client() as c:
        made = c.post("/api/v1/experiments", json={"name": "appears-live"}).json()
    p.wait_for_selector(
        f"#feed .ev.new >> text=experiment {made['experiment_id']}", timeout=TIMEOUT_MS
    )
    # Who did it, and with which of their credentials (the seeded client's token).
    row = p.locator("#feed .ev.new").first
    expect(row).to_contain_text(re.compile(r"admin via token \S+"))
    page.shot("events-live")


def test_hostile_html_artifact_stays_in_its_sandbox(page: Watched, seeded: Seeded) -> None:
    run = seeded.run_ids[3]
    html = b"<h1>hi</h1><script>parent.document.title='owned'</script><img src='http://example.com/t.png'>"
    with seeded.client() as c:
        assert c.put(f"/api/v1/runs/{run}/artifacts/evil.html", content=html).status_code == 200
    p = page.goto(f"/experiments/{seeded.experiment_id}/runs/{run}?tab=artifacts&path=evil.html")
    frame = p.wait_for_selector("iframe[sandbox]", timeout=TIMEOUT_MS)
    assert frame.get_attribute("sandbox") == ""
    page.allowed_errors += ["Blocked script execution", "Content Security Policy"]
    # The frame's document is read to its end (the script, then the image after it) and the
    # browser says it refused the script: only then does the title prove anything.
    frame.content_frame().wait_for_load_state("load", timeout=TIMEOUT_MS)
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    for refusal in ("Blocked script execution", "example.com"):  # the script, the image
        while not any(refusal in e for e in page.errors):
            assert time.monotonic() < deadline, f"no refusal of {refusal!r}: {page.errors}"
            p.wait_for_timeout(50)
    assert p.title() != "owned"
    # Watched.check (at teardown) asserts that no request reached example.com.


def _experiment(seeded: Seeded, name: str) -> str:
    with seeded.client() as c:
        return str(c.post("/api/v1/experiments", json={"name": name}).json()["experiment_id"])


def _new_run(seeded: Seeded, experiment: str, name: str) -> tuple[str, str]:
    """A new experiment's id and the id of a run named ``name`` in it."""
    eid = _experiment(seeded, experiment)
    with seeded.client() as c:
        run = _ok(c.post("/api/v1/runs", json={"experiment_id": eid, "run_name": name}))
    return eid, run["info"]["run_id"]


def _log(seeded: Seeded, run_id: str, metrics: list[dict[str, Any]]) -> None:
    with seeded.client() as c:
        for start in range(0, len(metrics), 1000):
            body = {"metrics": metrics[start : start + 1000]}
            assert c.post(f"/api/v1/runs/{run_id}/batch", json=body).status_code == 204


def test_runs_table_follows_runs_as_they_log(page: Watched, seeded: Seeded) -> None:
    eid = _experiment(seeded, "live-table")
    with seeded.client() as c:
        first = c.post("/api/v1/runs", json={"experiment_id": eid, "run_name": "first"}).json()
    run_id = first["info"]["run_id"]
    _log(seeded, run_id, [{"key": "acc", "value": 0.25, "timestamp": 1, "step": 0}])
    p = page.goto(f"/experiments/{eid}")
    p.wait_for_selector(".vt-row >> text=first", timeout=TIMEOUT_MS)
    p.wait_for_selector("text=1 run", timeout=TIMEOUT_MS)
    # No reload: a run logging and a new run appear in the table on their own.
    _log(seeded, run_id, [{"key": "acc", "value": 0.75, "timestamp": 2, "step": 1}])
    with seeded.client() as c:
        c.post("/api/v1/runs", json={"experiment_id": eid, "run_name": "second"})
    p.wait_for_selector(".vt-row >> text=second", timeout=TIMEOUT_MS)
    p.wait_for_selector("text=2 runs", timeout=TIMEOUT_MS)
    assert "0.75" in " ".join(_column(p, "m:acc", want=2))
    page.shot("runs-live")


def test_a_long_history_is_charted_sampled_and_zooms_to_every_point(
    page: Watched, seeded: Seeded
) -> None:
    eid, run_id = _new_run(seeded, "long-history", "long")
    points = [
        {"key": "loss", "value": math.exp(-s / 4000), "timestamp": 1_000 + s, "step": s}
        for s in range(20_000)
    ]
    points[12_345]["value"] = 9.0  # a spike the sampling keeps
    _log(seeded, run_id, points)
    p = page.goto(f"/experiments/{eid}/runs/{run_id}?tab=metrics")
    card = ".card[data-metric=loss]"
    p.wait_for_selector(f"{card}[data-ready='1'][data-sampled='1']", timeout=TIMEOUT_MS)
    assert "20,000 points, sampled" in p.inner_text(f"{card} .title")
    box = p.locator(f"{card} .u-over").bounding_box()
    assert box is not None
    # Drag over a fiftieth of the x axis (~400 points, fewer than two a pixel): that window is
    # asked for again and comes back at full resolution.
    p.mouse.move(box["x"] + box["width"] * 0.60, box["y"] + 30)
    p.mouse.down()
    p.mouse.move(box["x"] + box["width"] * 0.62, box["y"] + 30, steps=4)
    p.mouse.up()
    p.wait_for_selector(f"{card}[data-zoomed='1']", timeout=TIMEOUT_MS)
    assert p.get_attribute(card, "data-sampled") == "", p.inner_text(f"{card} .title")
    assert re.search(r"[\d,]+ points in view$", p.inner_text(f"{card} .title .muted"))
    page.shot("run-metric-zoomed")
    # A double-click goes back to the whole history.
    p.dblclick(f"{card} .u-over")
    p.wait_for_selector(f"{card}:not([data-zoomed='1'])[data-sampled='1']", timeout=TIMEOUT_MS)


def test_a_chart_says_which_points_are_not_finite_and_so_not_drawn(
    page: Watched, seeded: Seeded
) -> None:
    """A loss that diverged to NaN drew an empty chart that looked like a missing one."""
    eid, run_id = _new_run(seeded, "non-finite", "nan")
    diverged = [
        {"key": "loss", "value": "NaN", "timestamp": 1_000 + s, "step": s} for s in range(3)
    ]
    partly = [
        {"key": "grad", "value": v, "timestamp": 1_000 + s, "step": s}
        for s, v in enumerate([0.5, "Infinity", 0.25, "NaN"])
    ]
    _log(seeded, run_id, diverged + partly)
    p = page.goto(f"/experiments/{eid}/runs/{run_id}?tab=metrics")
    for key, said in [
        ("loss", "3 points: all NaN or infinite, none drawn"),
        ("grad", "4 points (2 NaN or infinite, not drawn)"),
    ]:
        card = f".card[data-metric={key}]"
        p.wait_for_selector(f"{card}[data-ready='1']", timeout=TIMEOUT_MS)
        expect(p.locator(f"{card} .title .muted")).to_have_text(said)
    page.shot("run-metric-not-finite")


def test_a_file_opened_by_its_link_shows_its_size_and_is_not_fetched_when_too_large(
    page: Watched, seeded: Seeded
) -> None:
    """A shared link names only the file's path; its size comes from the folder's listing, as
    when the file is clicked: a log too large to preview says so instead of being fetched."""
    eid = _experiment(seeded, "artifact-links")
    with seeded.client() as c:
        run = _ok(c.post("/api/v1/runs", json={"experiment_id": eid}))["info"]["run_id"]
        big = b"epoch 1 loss=0.5\n" * (3 * 1024 * 1024 // 17 + 1)
        _ok(c.put(f"/api/v1/runs/{run}/artifacts/logs/train.log", content=big))
        _ok(c.put(f"/api/v1/runs/{run}/artifacts/notes.txt", content=b"twelve bytes"))
    fetched: list[str] = []
    page.page.on("request", lambda r: fetched.append(r.url) if "train.log" in r.url else None)
    p = page.goto(f"/experiments/{eid}/runs/{run}?tab=artifacts&path=logs/train.log")
    p.wait_for_selector(".preview >> text=Too large to preview (3.0 MB)", timeout=TIMEOUT_MS)
    expect(p.locator(".preview .row .muted")).to_have_text("3.0 MB")
    assert fetched == []
    p = page.goto(f"/experiments/{eid}/runs/{run}?tab=artifacts&path=notes.txt")
    p.wait_for_selector(".preview pre >> text=twelve bytes", timeout=TIMEOUT_MS)
    expect(p.locator(".preview .row .muted")).to_have_text("12 B")


def test_the_keyboard_help_lists_a_go_to_key_for_every_page_of_the_bar(
    page: Watched, seeded: Seeded
) -> None:
    """``?`` lists ``g <key>`` for each page the bar links to, and each key it lists goes there."""
    p = page.goto("/experiments")
    p.wait_for_selector("text=fraud-detection", timeout=TIMEOUT_MS)
    bar = [a.strip() for a in p.locator("#nav a").all_inner_texts()]
    assert "Pipelines" in bar and "Tuning" in bar, bar
    p.keyboard.press("?")
    dialog = p.locator("dialog[open]")
    expect(dialog).to_be_visible()
    row = dialog.locator("tr", has_text="Go to")
    keys_cell, what = row.locator("td").all_inner_texts()
    keys = keys_cell.removeprefix("g ").split(" / ")
    pages = what.removeprefix("Go to ").split(", ")
    assert pages == [label.lower() for label in bar]
    assert len(keys) == len(pages)
    p.keyboard.press("Escape")
    for key, name in zip(keys, pages, strict=True):
        p.keyboard.press("g")
        p.keyboard.press(key)
        expect(p.locator("#nav a.on")).to_have_text(re.compile(name, re.IGNORECASE))


def test_counts_of_one_are_singular(page: Watched, seeded: Seeded) -> None:
    """A group of one run, a metric logged once, a comparison with one curve."""
    eid = _experiment(seeded, "grouped-counts")
    runs = []
    with seeded.client() as c:
        for lr in ("0.1", "0.1", "0.3"):
            run = _ok(c.post("/api/v1/runs", json={"experiment_id": eid}))["info"]["run_id"]
            _ok(c.post(f"/api/v1/runs/{run}/batch", json={"params": [{"key": "lr", "value": lr}]}))
            runs.append(run)
    _log(
        seeded, runs[0], [{"key": "once", "value": 0.5, "timestamp": 1_760_000_000_000, "step": 0}]
    )
    p = page.goto(f"/experiments/{eid}?group=params.lr")
    groups = until(
        p,
        "() => { const g = [...document.querySelectorAll('.vt-row.group .chip')]"
        ".map(e => e.innerText); return g.length === 2 && g; }",
    )
    assert sorted(groups) == ["1 run", "2 runs"]
    p = page.goto(f"/experiments/{eid}/runs/{runs[0]}?tab=metrics")
    expect(p.locator(".card[data-metric='once']")).to_contain_text("1 point", timeout=TIMEOUT_MS)
    expect(p.locator(".card[data-metric='once']")).not_to_contain_text("1 points")
    p = page.goto(f"/compare?runs={runs[0]},{runs[1]}&metric=once")
    p.wait_for_selector("text=/^1 curve, \\d+ ms$/", timeout=TIMEOUT_MS)


def test_reproducing_a_notebook_run_does_not_name_the_kernel_as_a_script(
    page: Watched, seeded: Seeded
) -> None:
    """MLflow names a Jupyter notebook's runs after the notebook (type NOTEBOOK) or, when it
    cannot find it, after ipykernel_launcher.py, and those of ``python -`` after ``-``: none is
    a script to run again with the params as flags."""
    eid = _experiment(seeded, "notebook-runs")
    sources = {
        "nb": ("/opt/venv/lib/python3.11/site-packages/ipykernel_launcher.py", "LOCAL"),
        "named-nb": ("churn.ipynb", "NOTEBOOK"),
        "stdin": ("-", "LOCAL"),
        "script": ("/home/ana/train.py", "LOCAL"),
    }
    runs = []
    with seeded.client() as c:
        for name, (source, kind) in sources.items():
            body = {"experiment_id": eid, "run_name": name}
            run = _ok(c.post("/api/v1/runs", json=body))["info"]["run_id"]
            batch = {
                "params": [{"key": "lr", "value": "0.1"}],
                "tags": [
                    {"key": "mlflow.source.name", "value": source},
                    {"key": "mlflow.source.type", "value": kind},
                ],
            }
            _ok(c.post(f"/api/v1/runs/{run}/batch", json=batch))
            runs.append(run)
    p = page.goto(f"/compare?runs={','.join(runs)}")
    p.wait_for_selector("#reproduce pre", timeout=TIMEOUT_MS)
    commands = p.locator("#reproduce pre").all_inner_texts()
    assert commands == [
        "# started from a notebook: run its cells again with these params",
        "# started from the notebook churn.ipynb: run its cells again with these params",
        "# run from python's standard input or -c: no script to run again",
        "python train.py --lr 0.1",
    ]


def test_an_endpoint_variant_deployed_by_alias_names_the_version_it_serves(
    page: Watched, seeded: Seeded
) -> None:
    """An alias can move after the deploy; the variant keeps the version it resolved then, as
    ``dockyard endpoints describe`` says ("models:/x@champion (v1)"), and links to it."""
    with seeded.client() as c:
        variants = _ok(c.get(f"/api/v1/endpoints/{seeded.endpoint}"))["config"]["variants"]
    champion = next(v for v in variants if v["name"] == "champion")
    version = champion["model_version"]
    assert version is not None
    p = page.goto(f"/endpoints/{seeded.endpoint}")
    link = p.locator(f"a.mono[href='#/models/{seeded.model}/versions/{version}']").first
    expect(link).to_have_text(f"models:/{seeded.model}@champion (v{version})", timeout=TIMEOUT_MS)


def test_an_endpoint_on_the_servers_loopback_shows_the_servers_route_to_a_remote_page(
    page: Watched, seeded: Seeded
) -> None:
    """A page that came over the network would reach its own machine at the endpoint's
    loopback URL: it shows the server's route that passes predictions on, as the CLI does."""
    p = page.goto(f"/endpoints/{seeded.endpoint}")
    expect(p.locator("h1")).to_have_text(seeded.endpoint, timeout=TIMEOUT_MS)
    shown = p.evaluate(
        """async () => {
          const { reachableUrl } = await import("/ui/lib/endpoints.js");
          const endpoint = { name: "wine a", url: "http://127.0.0.1:5001" };
          const remote = new URL("https://dockyard.example.com/");
          const here = new URL("http://localhost:5050/");
          const exposed = { name: "wine", url: "http://10.0.0.5:5001" };
          return [reachableUrl(endpoint, remote), reachableUrl(endpoint, here),
                  reachableUrl(exposed, remote)];
        }"""
    )
    assert shown == [
        "https://dockyard.example.com/endpoints/wine%20a/invocations",
        "http://127.0.0.1:5001",
        "http://10.0.0.5:5001",
    ]
    # this page came from loopback: the endpoint's own URL
    with seeded.client() as c:
        url = _ok(c.get(f"/api/v1/endpoints/{seeded.endpoint}"))["url"]
    expect(p.locator("div.head span.mono")).to_have_text(url, timeout=TIMEOUT_MS)


_REGISTERING_SCRIPT = b"""\
import os
import joblib
import numpy as np
from sklearn.linear_model import LinearRegression

rows = np.loadtxt(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "train.csv"), delimiter=",")
model = LinearRegression().fit(rows[:, 1:], rows[:, 0])
joblib.dump(model, os.path.join(os.environ["SM_MODEL_DIR"], "model.joblib"))
"""


def test_a_job_links_the_version_it_registered_and_the_version_shows_its_data(
    page: Watched, seeded: Seeded
) -> None:
    with seeded.client() as c:
        code = _ok(c.put("/api/v1/data/ui-reg/code/train.py", content=_REGISTERING_SCRIPT))
        data = _ok(c.put("/api/v1/data/ui-reg/data/train.csv", content=b"1,1\n2,2\n3,3\n"))
        spec = {
            "name": "ui-registers",
            "entry_point": "train.py",
            "source_dir": code["uri"].rsplit("/", 1)[0],
            "inputs": {"train": {"uri": data["uri"].rsplit("/", 1)[0]}},
            "output": {"register_as": "ui-job-registered"},
        }
        _ok(c.post("/api/v1/jobs/training", json=spec))
        for _ in range(3):  # each answer comes when it has ended, or after a minute
            job = _ok(c.get("/api/v1/jobs/ui-registers", params={"wait": 60}))
            if job["end_time"]:
                break
    assert job["status"] == "Completed", job["failure_reason"]
    p = page.goto("/jobs/ui-registers")
    link = p.locator("#registered-version")
    expect(link).to_have_text("ui-job-registered version 1", timeout=TIMEOUT_MS)
    link.click()
    p.wait_for_url(re.compile(r"#/models/ui-job-registered/versions/1$"), timeout=TIMEOUT_MS)
    data_row = p.locator("table.kv tr", has=p.locator("td:text-is('Data')"))
    expect(data_row).to_contain_text("train (train)", timeout=TIMEOUT_MS)
    page.shot("job-registered-version")
