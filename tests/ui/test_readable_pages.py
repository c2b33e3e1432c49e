"""What a person reads on the pages: chart clocks in the tables' 24-hour clock and dates, whole
steps on a step axis, counts in the right number, a run's status beside a long name, an event's
body and an endpoint's history kept inside the window, a dataset's source in words, and the
account page of a server that has no accounts yet."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.services.server_process import ServerProcess
from tests.ui.conftest import Seeded, Watched, _ok

pytestmark = pytest.mark.slow

TIMEOUT_MS = 20_000
#: 2026-10-09 14:05:00 UTC: an afternoon, where a 12-hour clock and a 24-hour one differ.
AFTERNOON_MS = 1_791_554_700_000
CLOCK = re.compile(r"\b([01]\d|2[0-3]):[0-5]\d\b")
DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
TABLE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


@pytest.fixture(scope="module")
def readable(seeded: Seeded) -> Iterator[dict[str, str]]:
    """A run of its own (in its own experiment, so the seeded tables keep their counts): a
    long name, a curve logged over ten afternoon minutes, a one-point metric, datasets made in
    code and read from S3, and an artifact whose path makes a long event body."""
    with seeded.client() as c:
        eid = _ok(c.post("/api/v1/experiments", json={"name": "readable"}))["experiment_id"]
        name = "xgboost-" + "20261206-222309-" * 4 + "91bc"
        run = _ok(c.post("/api/v1/runs", json={"experiment_id": eid, "run_name": name}))
        run_id = run["info"]["run_id"]
        metrics = [
            {"key": "loss", "value": 1 / (i + 1), "timestamp": AFTERNOON_MS + i * 60_000, "step": i}
            for i in range(10)
        ]
        metrics.append({"key": "best", "value": 0.5, "timestamp": AFTERNOON_MS, "step": 0})
        _ok(c.post(f"/api/v1/runs/{run_id}/batch", json={"metrics": metrics}))
        datasets = [
            {
                "dataset": {
                    "name": "made-in-code",
                    "digest": "1a2b3c4d",
                    "source_type": "code",
                    "source": "{}",
                },
                "tags": {"mlflow.data.context": "training"},
            },
            {
                "dataset": {
                    "name": "from-s3",
                    "digest": "5e6f7a8b",
                    "source_type": "s3",
                    "source": '{"uri": "s3://bucket/eval.csv"}',
                },
                "tags": {"mlflow.data.context": "eval"},
            },
        ]
        _ok(c.post(f"/api/v1/runs/{run_id}/inputs", json={"datasets": datasets}))
        _ok(c.patch(f"/api/v1/runs/{run_id}", json={"status": "FINISHED"}))
        long_path = "reports/" + "x" * 180 + ".txt"
        _ok(c.put(f"/api/v1/runs/{run_id}/artifacts/{long_path}", content=b"long\n"))
    yield {"experiment": eid, "run": run_id, "name": name}


def _ticks(p: Any, metric: str) -> list[str]:
    plot = p.locator(f".card.chart[data-metric='{metric}'] [data-x-ticks]")
    expect(plot).to_have_count(1, timeout=TIMEOUT_MS)
    return [t for t in plot.get_attribute("data-x-ticks").split(" | ") if t]


def test_chart_clocks_read_as_the_tables_do(
    page: Watched, seeded: Seeded, readable: dict[str, str]
) -> None:
    route = f"/experiments/{readable['experiment']}/runs/{readable['run']}?tab=metrics&x=time"
    p = page.goto(route)
    ticks = _ticks(p, "loss")
    shown = " ".join(ticks)
    # The tables' 2026-10-09 14:05:00, not 10/9/26 2:05pm.
    assert not re.search(r"[ap]m\b", shown, re.IGNORECASE), ticks
    assert CLOCK.search(shown), ticks
    assert DATE.search(shown), ticks
    assert "/" not in shown, ticks
    # The legend, under the pointer, says the time as the tables do.
    canvas = p.locator(".card.chart[data-metric='loss'] canvas")
    box = canvas.bounding_box()
    assert box is not None
    p.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    legend = p.locator(".card.chart[data-metric='loss'] .u-legend .u-series").first
    value = legend.locator(".u-value")
    expect(value).to_have_text(TABLE_TIME)
    page.shot("chart-time-axis")


def test_a_one_point_metric_has_whole_steps_on_its_axis(
    page: Watched, seeded: Seeded, readable: dict[str, str]
) -> None:
    p = page.goto(f"/experiments/{readable['experiment']}/runs/{readable['run']}?tab=metrics")
    ticks = _ticks(p, "best")
    # Not -0.8, -0.6, ...: a step is a whole number.
    assert ticks and all(re.fullmatch(r"-?\d+", t) for t in ticks), ticks
    assert all(re.fullmatch(r"-?\d+", t) for t in _ticks(p, "loss"))


def test_a_count_of_one_is_singular(page: Watched, seeded: Seeded) -> None:
    p = page.goto("/experiments")
    p.wait_for_selector("#experiments", timeout=TIMEOUT_MS)
    said = p.evaluate(
        "import('/ui/lib/dom.js').then((m) => [m.plural(1, 'window'), m.plural(3, 'window'),"
        " m.plural(1200, 'run'), m.plural(0, 'run')])"
    )
    assert said == ["1 window", "3 windows", "1,200 runs", "0 runs"]


def test_a_long_run_name_keeps_its_status_beside_it(
    page: Watched, seeded: Seeded, readable: dict[str, str]
) -> None:
    p = page.goto(f"/experiments/{readable['experiment']}")
    row = p.locator(".vt-row", has=p.locator(f"a[title='{readable['run']}']"))
    expect(row).to_have_count(1, timeout=TIMEOUT_MS)
    dot = row.locator(".dot")
    # The name used to squeeze the 8 px dot to nothing: a finished run looked like no status.
    box = dot.bounding_box()
    assert box is not None and box["width"] >= 7, box
    # The name is cut with an ellipsis inside its cell.
    link = row.locator(f"a[title='{readable['run']}']")
    fits = link.evaluate(
        "(a) => [a.getBoundingClientRect().right <= a.parentElement.getBoundingClientRect().right"
        " + 1, getComputedStyle(a).textOverflow, a.scrollWidth > a.clientWidth]"
    )
    assert fits == [True, "ellipsis", True], fits


def test_an_event_body_stays_inside_the_window(
    page: Watched, seeded: Seeded, readable: dict[str, str]
) -> None:
    p = page.goto(f"/events?resource_id={readable['run']}")
    body = p.locator("#feed .ev .ev-body", has_text="xxxxxxxx").first
    expect(body).to_be_visible(timeout=TIMEOUT_MS)
    width = p.evaluate("document.querySelector('#main').clientWidth")
    box = body.bounding_box()
    assert box is not None and box["x"] + box["width"] <= width, (box, width)
    assert p.evaluate("document.querySelector('#main').scrollWidth") <= width
    # Cut at 200 characters on the page, whole under the pointer.
    assert body.inner_text().endswith("…")
    assert "x" * 180 in (body.get_attribute("title") or "")


def _lines(p: Any, selector: str) -> list[int]:
    """How many lines the text of each element `selector` finds takes."""
    return list(
        p.evaluate(
            f"[...document.querySelectorAll({selector!r})].map((el) => {{"
            " const r = document.createRange(); r.selectNodeContents(el);"
            " return new Set([...r.getClientRects()].map((c) => Math.round(c.top))).size; })"
        )
    )


def test_an_endpoints_history_keeps_each_time_on_one_line(page: Watched, seeded: Seeded) -> None:
    page.page.set_viewport_size({"width": 1280, "height": 900})
    p = page.goto(f"/endpoints/{seeded.endpoint}")
    # The history's times only: captured records, when other tests have sent some, show
    # theirs to the millisecond.
    cells = p.locator("#history td.time")
    expect(cells.first).to_be_visible(timeout=TIMEOUT_MS)
    lines = _lines(p, "#history td.time")
    assert lines and all(n == 1 for n in lines), lines
    assert all(TABLE_TIME.match(t) for t in cells.all_inner_texts())


def test_times_in_an_800_pixel_window_stay_on_one_line(page: Watched, seeded: Seeded) -> None:
    cells = "#tokens td"
    # Columns this narrow broke 2026-12-07 03:00:00 at its hyphen and 5 min ago at its space.
    page.page.set_viewport_size({"width": 800, "height": 900})
    p = page.goto("/account")
    expect(p.locator(cells).first).to_be_visible(timeout=TIMEOUT_MS)
    times = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d|\d+ (s|min|h|d) ago)$")
    shown = p.locator(cells).all_inner_texts()
    lines = _lines(p, cells)
    timed = [(text, n) for text, n in zip(shown, lines, strict=True) if times.match(text.strip())]
    assert timed, shown
    assert all(n == 1 for _, n in timed), timed


def test_a_datasets_source_is_said_in_words(
    page: Watched, seeded: Seeded, readable: dict[str, str]
) -> None:
    base = f"/experiments/{readable['experiment']}/runs/{readable['run']}"
    p = page.goto(f"{base}?tab=datasets")
    expect(p.locator("text=in memory (made by the run's code)")).to_be_visible(timeout=TIMEOUT_MS)
    expect(p.locator("text=s3: s3://bucket/eval.csv")).to_be_visible()
    expect(p.locator("#main")).not_to_contain_text("code: {}")
    p = page.goto(f"{base}?tab=lineage")
    expect(p.locator("td", has_text="in memory (made by the run's code)")).to_be_visible(
        timeout=TIMEOUT_MS
    )
    # A plain path stays as it was logged.
    seeded_run = f"/experiments/{seeded.experiment_id}/runs/{seeded.artifact_run}?tab=datasets"
    p = page.goto(seeded_run)
    expect(p.locator("text=local: /data/transactions.csv")).to_be_visible(timeout=TIMEOUT_MS)


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server with no account: open to local clients, nobody signed in."""
    server = ServerProcess(Path(tmp_path_factory.mktemp("open")) / "home")
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def test_the_account_page_of_a_server_without_accounts_says_so(
    browser: Any, open_server: str
) -> None:
    assert httpx.get(f"{open_server}/api/v1/users").json()["users"] == []
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    watched = Watched(context.new_page(), Seeded(url=open_server, token=""))
    try:
        p = watched.goto("/account")
        users = p.locator("#no-users")
        expect(users).to_contain_text("No accounts yet", timeout=TIMEOUT_MS)
        expect(users).to_contain_text("turns sign-in on")
        # No empty choice of whose tokens to list, and no claim of a sign-in.
        expect(p.locator("#token-user")).to_be_hidden()
        expect(p.locator(".head")).to_contain_text("Not signed in")
        expect(p.locator("#tokens")).to_contain_text("sign in to make one")
        expect(p.locator("#access-keys")).to_contain_text("sign in to make one")
        watched.shot("account-without-accounts")
    finally:
        context.close()
    watched.check()


def test_a_runs_column_sorts_from_the_keyboard(page: Watched, seeded: Seeded) -> None:
    p = page.goto(f"/experiments/{seeded.experiment_id}")
    p.wait_for_selector(".vt-row >> text=trial-", timeout=TIMEOUT_MS)
    head = p.locator(".vt-head > div[data-col='a:run_name']")
    # The column's name takes the focus (it was reachable by the mouse only).
    head.focus()
    expect(head).to_be_focused()
    p.keyboard.press("Enter")
    expect(p.locator(".vt-head > div[data-col='a:run_name']")).to_have_attribute(
        "aria-sort", "ascending", timeout=TIMEOUT_MS
    )
    assert "order=" in p.url
    # Still on the same column, drawn anew with its arrow; Space turns the order round.
    expect(p.locator(".vt-head > div[data-col='a:run_name']")).to_be_focused()
    p.keyboard.press(" ")
    expect(p.locator(".vt-head > div[data-col='a:run_name']")).to_have_attribute(
        "aria-sort", "descending", timeout=TIMEOUT_MS
    )
    # The table's own Enter (open the run under the cursor) did not fire.
    assert f"/experiments/{seeded.experiment_id}?" in p.url or p.url.endswith(
        f"/experiments/{seeded.experiment_id}"
    )


def test_try_it_starts_from_the_models_input_example(page: Watched, seeded: Seeded) -> None:
    p = page.goto(f"/endpoints/{seeded.endpoint}")
    body = p.locator("#invoke-body")
    # Not a shape to guess at ({"columns": ["x"]}, which the model refuses): its own example.
    expect(body).to_have_attribute("data-example", f"{seeded.model}/1", timeout=TIMEOUT_MS)
    example = body.input_value()
    assert '"amount"' in example and '"score"' in example, example
    p.click("#invoke-send")
    expect(p.locator("#invoke-status")).to_have_text("200", timeout=TIMEOUT_MS)
    expect(p.locator("#invoke-answer")).to_contain_text("predictions")
    # In CSV, the same rows as SageMaker's text/csv (no header); and back.
    p.select_option("#invoke-type", "text/csv")
    rows = body.input_value().split("\n")
    assert len(rows) == 3 and all(len(r.split(",")) == 3 for r in rows), rows
    p.click("#invoke-send")
    expect(p.locator("#invoke-status")).to_have_text("200", timeout=TIMEOUT_MS)
    p.select_option("#invoke-type", "application/json")
    assert body.input_value() == example


def test_an_empty_runs_table_says_why(page: Watched, seeded: Seeded) -> None:
    with seeded.client() as c:
        eid = _ok(c.post("/api/v1/experiments", json={"name": "nothing-yet"}))["experiment_id"]
    p = page.goto(f"/experiments/{eid}")
    note = p.locator("#no-runs")
    # Not a blank grid that reads as still loading.
    expect(note).to_be_visible(timeout=TIMEOUT_MS)
    expect(note).to_contain_text(
        'No runs yet. Log one into this experiment: dy.set_experiment("nothing-yet")'
    )
    p = page.goto(f"/experiments/{seeded.experiment_id}?filter=metrics.loss%20%3E%201000")
    expect(p.locator("text=0 runs")).to_be_visible(timeout=TIMEOUT_MS)
    expect(p.locator("#no-runs")).to_have_text("No run matches this filter.")
    p = page.goto(f"/experiments/{seeded.experiment_id}")
    p.wait_for_selector(".vt-row >> text=trial-", timeout=TIMEOUT_MS)
    expect(p.locator("#no-runs")).to_be_hidden()


@pytest.mark.parametrize(
    ("route", "words", "back"),
    [
        ("/runs/0123456789abcdef0123456789abcdef", "does not exist", "#/experiments"),
        ("/models/no-such-model", "does not exist", "#/models"),
        ("/jobs/no-such-job", "does not exist", "#/jobs"),
    ],
)
def test_a_missing_thing_is_not_found_with_the_way_back(
    page: Watched, seeded: Seeded, route: str, words: str, back: str
) -> None:
    page.allowed_errors.append("404")  # the answer, as the console logs it
    p = page.goto(route)
    expect(p.locator("h1")).to_have_text("Not found", timeout=TIMEOUT_MS)
    expect(p.locator("#not-found")).to_contain_text(words)
    p.locator(f"#main a[href='{back}']").click()
    expect(p.locator("h1").first).not_to_have_text("Not found", timeout=TIMEOUT_MS)


@pytest.mark.parametrize("width", [800, 1024])
def test_a_narrow_window_gives_the_links_their_own_rows(
    page: Watched, seeded: Seeded, width: int
) -> None:
    page.page.set_viewport_size({"width": width, "height": 700})
    p = page.goto("/jobs")
    expect(p.locator(".user-name")).to_be_visible(timeout=TIMEOUT_MS)
    header = p.locator("header.top").bounding_box()
    brand = p.locator(".brand").bounding_box()
    first = p.locator("#nav a").first.bounding_box()
    assert header is not None and brand is not None and first is not None
    # The links start under the name, left-aligned with it, not in a column beside it; the
    # bar stays within two rows of links under one of name and account (it took 130 px at
    # 800 px, four rows of links).
    assert first["y"] >= brand["y"] + brand["height"] - 1, (first, brand)
    assert first["x"] <= brand["x"] + 10, (first, brand)
    assert header["height"] <= 100, header
    assert p.evaluate("document.documentElement.scrollWidth") <= width
    user = p.locator(".user-name").bounding_box()
    assert user is not None and user["x"] + user["width"] <= width


_ONE_WINDOW = """async () => {
  const { lineChart } = await import('/ui/lib/chart.js');
  const el = document.createElement('div');
  el.style.width = '600px';
  document.querySelector('#main').append(el);
  const t = 1791554700;
  const chart = await lineChart(el, [
    { label: 'amount', xs: [t], ys: [0.68] },
    { label: 'threshold', xs: [t], ys: [0.1], dash: true },
  ], { xMode: 'time' });
  const u = chart.plot;
  const answer = {
    data: u.data.map((c) => [...c]), yMin: u.scales.y.min, x: [u.scales.x.min, u.scales.x.max],
  };
  chart.destroy();
  el.remove();
  return answer;
}"""


def test_a_threshold_is_drawn_when_one_window_was_checked(page: Watched, seeded: Seeded) -> None:
    # A schedule's first checked window: the drift chart said "distance > 0.1" but drew no
    # line, a dashed series through a single x being no line at all.
    p = page.goto("/experiments")
    p.wait_for_selector("#experiments", timeout=TIMEOUT_MS)
    drawn = p.evaluate(_ONE_WINDOW)
    t = 1791554700
    assert drawn["data"][0] == [t - 3600, t, t + 3600]
    assert drawn["data"][1] == [None, 0.68, None]
    assert drawn["data"][2] == [0.1, 0.1, 0.1]
    assert drawn["yMin"] <= 0.1
    assert drawn["x"] == [t - 3600, t + 3600]
