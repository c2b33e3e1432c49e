"""What people do in the browser besides reading: experiments created, renamed, deleted and
restored; a run's model registered and approved; a job submitted from a spec; an endpoint
created, invoked, re-weighted and deleted; an API token made and revoked; and what a viewer
sees (no buttons) and is told (a refusal) when the page is made to offer an action anyway.

Everything the tests make has its own name, so the shared seeded server stays as the page
tests expect it. Each page is checked for console errors and foreign requests."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.ui.conftest import PASSWORD, Seeded, Watched, _ok, _session

pytestmark = pytest.mark.slow

TIMEOUT_MS = 20_000
VIEWER = "ui-viewer"


@pytest.fixture(autouse=True)
def _timeouts() -> None:
    expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="module")
def viewer(seeded: Seeded) -> str:
    """A viewer account (reads everything the server's default permission allows)."""
    with seeded.client() as c:
        body = {"name": VIEWER, "role": "viewer", "password": PASSWORD}
        _ok(c.post("/api/v1/users", json=body))
    return VIEWER


def _signed_in(browser: Any, seeded: Seeded, user: str) -> Iterator[Watched]:
    cookie, csrf = _session(seeded, user)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.add_cookies([{"name": "dockyard_session", "value": cookie, "url": seeded.url}])
    context.add_init_script(
        f"if (window === window.top) localStorage.setItem('dockyard.csrf', {json.dumps(csrf)})"
    )
    watched = Watched(context.new_page(), seeded)
    yield watched
    context.close()
    watched.check()


@pytest.fixture
def viewer_page(browser: Any, seeded: Seeded, viewer: str) -> Iterator[Watched]:
    yield from _signed_in(browser, seeded, viewer)


@pytest.fixture
def reviewer_page(browser: Any, seeded: Seeded) -> Iterator[Watched]:
    """The seeded second admin: a version's author may not approve it."""
    yield from _signed_in(browser, seeded, "reviewer")


def _dialog(p: Any, dialog_id: str) -> Any:
    dialog = p.locator(f"dialog#{dialog_id}[open]")
    expect(dialog).to_be_visible()
    return dialog


def test_experiment_create_rename_delete_restore(page: Watched, seeded: Seeded) -> None:
    page.allowed_errors.append("status of 409")  # the browser logs the refused rename
    p = page.goto("/experiments")
    p.click("#new-experiment")
    dialog = _dialog(p, "experiment-dialog")
    dialog.locator("input[name=name]").fill("ui-made")
    page.shot("action-new-experiment")
    dialog.locator("input[name=name]").press("Enter")
    expect(p.locator("dialog[open]")).to_have_count(0)
    expect(p.locator("h1")).to_have_text("ui-made")

    p = page.goto("/experiments?q=ui-")
    row = p.locator("tr[data-experiment='ui-made']")
    row.locator("button.rename").click()
    dialog = _dialog(p, "experiment-dialog")
    # A name in use is refused; the error sits beside the field.
    dialog.locator("input[name=name]").fill("fraud-detection")
    dialog.locator("input[name=name]").press("Enter")
    expect(dialog.locator(".field-error[data-for=name]")).to_contain_text("fraud-detection")
    expect(dialog.locator("input[name=name]")).to_have_class(re.compile("invalid"))
    page.shot("action-rename-error")
    dialog.locator("input[name=name]").fill("ui-renamed")
    dialog.locator("input[name=name]").press("Enter")
    renamed = p.locator("tr[data-experiment='ui-renamed']")
    expect(renamed).to_be_visible()

    renamed.locator("button.delete").click()
    _dialog(p, "confirm-dialog").locator("button[type=submit]").click()
    expect(renamed).to_have_count(0)

    p = page.goto("/experiments?view=deleted")
    gone = p.locator("tr[data-experiment='ui-renamed']")
    expect(gone).to_be_visible()
    gone.locator("button.restore").click()
    _dialog(p, "confirm-dialog").locator("button[type=submit]").click()
    expect(gone).to_have_count(0)
    p = page.goto("/experiments?q=ui-renamed")
    expect(p.locator("tr[data-experiment='ui-renamed'] a")).to_be_visible()
    # Esc closes a dialog without acting.
    p.click("#new-experiment")
    _dialog(p, "experiment-dialog")
    p.keyboard.press("Escape")
    expect(p.locator("dialog[open]")).to_have_count(0)


def test_register_a_runs_model_and_approve_it(
    page: Watched, reviewer_page: Watched, seeded: Seeded
) -> None:
    run = seeded.run_ids[0]  # holds the seeded model's files under model/
    p = page.goto(f"/experiments/{seeded.experiment_id}/runs/{run}?tab=lineage")
    p.get_by_role("button", name="Register…").click()
    dialog = _dialog(p, "register-dialog")
    expect(dialog.locator("input[name=source]")).to_have_value(f"runs:/{run}/model")
    dialog.locator("input[name=name]").fill("ui-registered")
    dialog.locator("input[name=name]").press("Enter")
    expect(p.locator("dialog[open]")).to_have_count(0)

    # The author may not approve their own version: the refusal shows in the dialog.
    page.allowed_errors.append("status of 403")
    p = page.goto("/models/ui-registered/versions/1")
    expect(p.locator("h1")).to_have_text("ui-registered v1")
    p.click("#approve")
    dialog = _dialog(p, "approval-dialog")
    dialog.locator("button[type=submit]").click()
    expect(dialog).to_contain_text("Not allowed")
    dialog.press("Escape")

    # Someone else approves it, with a comment kept in the history.
    r = reviewer_page.goto("/models/ui-registered/versions/1")
    r.click("#approve")
    dialog = _dialog(r, "approval-dialog")
    dialog.locator("textarea[name=comment]").fill("checked in the browser")
    reviewer_page.shot("action-approve")
    dialog.locator("button[type=submit]").click()
    expect(r.get_by_text("checked in the browser")).to_be_visible()
    expect(r.locator(".head .badge")).to_have_text("Approved")

    # A version an endpoint serves cannot go: the refusal names the endpoint.
    page.allowed_errors.append("status of 409")
    p = page.goto(f"/models/{seeded.model}")
    p.locator("#versions tr[data-version='2'] button.delete-version").click()
    dialog = _dialog(p, "confirm-dialog")
    dialog.locator("button[type=submit]").click()
    expect(dialog.locator(".form-error")).to_contain_text(seeded.endpoint)
    page.shot("action-delete-in-use")
    dialog.get_by_role("button", name="Cancel").click()
    with seeded.client() as c:
        assert c.get(f"/api/v1/registered-models/{seeded.model}/versions/2").status_code == 200


SCRIPT = """\
import dockyard as dy
print("hello from the browser", flush=True)
dy.log_metric("answer", 42)
"""


def test_submit_a_job_from_a_spec(page: Watched, seeded: Seeded) -> None:
    page.allowed_errors.append("status of 400")  # the browser logs the refused spec
    p = page.goto("/jobs")
    p.click("#submit-job")
    dialog = _dialog(p, "job-dialog")
    spec = dialog.locator("textarea[name=spec]")
    # Bad YAML: the error names the line, and the cursor goes there.
    spec.fill("name: ui-spec-job\nentry_point: [train.py\n")
    dialog.locator("button[type=submit]").click()
    expect(dialog.locator(".field-error[data-for=spec]")).to_contain_text("line 3")
    page.shot("action-job-spec-error")
    # A bad value inside the spec: named once, above the spec (whose line it sets is marked).
    spec.fill("name: ui-spec-job\nentry_point: train.py\nresources:\n  cpus: -3\n")
    dialog.locator("button[type=submit]").click()
    expect(dialog.locator(".form-error")).to_have_text(
        "resources.cpus: Input should be greater than 0"
    )
    spec.fill(
        "name: ui-spec-job\n"
        "entry_point: train.py\n"
        "source_dir: .\n"
        "experiment: fraud-detection\n"
        "stopping_condition:\n"
        "  max_runtime_s: 300\n"
    )
    dialog.locator("input[name=files]").set_input_files(
        [{"name": "train.py", "mimeType": "text/x-python", "buffer": SCRIPT.encode()}]
    )
    spec.press("Control+Enter")
    expect(p.locator("h1")).to_have_text("ui-spec-job")
    expect(p.locator(".head .badge")).to_have_text("Completed", timeout=120_000)
    expect(p.locator("#log")).to_contain_text("hello from the browser")


def _endpoint_spec(weights: tuple[int, int], model: str) -> str:
    return (
        "name: ui-api\n"
        "variants:\n"
        f"  - name: first\n    model_uri: models:/{model}/1\n    weight: {weights[0]}\n"
        f"  - name: second\n    model_uri: models:/{model}/2\n    weight: {weights[1]}\n"
    )


def test_endpoint_create_invoke_update_delete(page: Watched, seeded: Seeded) -> None:
    page.allowed_errors.append("status of 400")  # the browser logs the refused spec
    p = page.goto("/endpoints")
    p.click("#create-endpoint")
    dialog = _dialog(p, "endpoint-dialog")
    # A bad value is refused naming its field.
    dialog.locator("textarea[name=spec]").fill(
        _endpoint_spec((1, 1), seeded.model).replace("weight: 1", "weight: -1", 1)
    )
    dialog.locator("button[type=submit]").click()
    expect(dialog.locator(".form-error")).to_contain_text("weight")
    dialog.locator("textarea[name=spec]").fill(_endpoint_spec((1, 1), seeded.model))
    dialog.locator("button[type=submit]").click()
    expect(p.locator("h1")).to_have_text("ui-api")
    expect(p.locator(".head .badge")).to_have_text("InService", timeout=120_000)

    p.select_option("#invoke-type", "application/json")
    rows = {"columns": ["amount", "age", "score"], "data": [[0.5, 0.1, 0.2]]}
    p.fill("#invoke-body", json.dumps({"dataframe_split": rows}))
    p.click("#invoke-send")
    expect(p.locator("#invoke-status")).to_have_text("200")
    expect(p.locator("#invoke-variant")).to_have_text(re.compile("^(first|second)$"))
    expect(p.locator("#invoke-answer")).to_contain_text("predictions")
    page.shot("action-invoke")
    # Input the model refuses: the model's own 400 and words, not the 424 that wraps them.
    page.allowed_errors.append("status of 424")
    p.fill("#invoke-body", json.dumps({"dataframe_split": {"columns": ["x"], "data": [[1.0]]}}))
    p.click("#invoke-send")
    expect(p.locator("#invoke-status")).to_have_text("400")
    # The model's words, not the JSON document the worker wrapped them in.
    expect(p.locator("#invoke-out .banner.bad")).to_have_text(
        re.compile(r"^missing column 'amount' \(expected \w+\)$")
    )

    p.click("#update-endpoint")
    dialog = _dialog(p, "endpoint-dialog")
    prefilled = json.loads(dialog.locator("textarea[name=spec]").input_value())
    assert [v["name"] for v in prefilled["variants"]] == ["first", "second"]
    prefilled["variants"][0]["weight"] = 3
    dialog.locator("textarea[name=spec]").fill(json.dumps(prefilled, indent=2))
    dialog.locator("button[type=submit]").click()
    expect(p.locator("dialog[open]")).to_have_count(0)
    expect(p.get_by_text("3 (75%)")).to_be_visible(timeout=60_000)

    p.click("#delete-endpoint")
    _dialog(p, "confirm-dialog").locator("button[type=submit]").click()
    expect(p.locator("h1")).to_have_text("Endpoints")
    expect(p.locator("#endpoints a", has_text="ui-api")).to_have_count(0, timeout=60_000)


def test_make_a_token_and_revoke_it(page: Watched, seeded: Seeded) -> None:
    p = page.goto("/account")
    p.click("#new-token")
    dialog = _dialog(p, "token-dialog")
    dialog.locator("input[name=name]").fill("ui-laptop")
    dialog.locator("input[name=name]").press("Enter")
    secret_dialog = _dialog(p, "secret-dialog")
    secret = secret_dialog.locator("input[name=secret]").input_value()
    page.shot("action-token-secret")
    bearer = {"Authorization": f"Bearer {secret}"}
    assert httpx.get(f"{seeded.url}/api/v1/whoami", headers=bearer).json()["name"] == "admin"
    secret_dialog.locator("button[type=submit]").click()
    # The secret is shown once: nowhere on the page now.
    expect(p.locator("#secret-dialog")).to_have_count(0)
    assert secret not in p.content()

    p.locator("button.revoke-token[data-token='ui-laptop']").click()
    _dialog(p, "confirm-dialog").locator("button[type=submit]").click()
    expect(p.locator("button.revoke-token[data-token='ui-laptop']")).to_have_count(0)
    assert httpx.get(f"{seeded.url}/api/v1/whoami", headers=bearer).status_code == 401

    # Admins see the accounts, in either theme.
    expect(p.locator("#users [data-user='reviewer'] .disable-user")).to_be_visible()
    expect(p.locator("#users code", has_text="reviewer")).to_be_visible()  # its store area
    p.keyboard.press("t")
    page.shot("action-admin-dark")


def test_make_an_access_key_and_revoke_it(page: Watched, seeded: Seeded) -> None:
    p = page.goto("/account")
    p.click("#new-access-key")
    dialog = _dialog(p, "access-key-dialog")
    dialog.locator("input[name=name]").fill("ui-notebook")
    dialog.locator("input[name=name]").press("Enter")
    secret_dialog = _dialog(p, "secret-dialog")
    secret = secret_dialog.locator("input[name=secret]").input_value()
    key_id = secret_dialog.locator("h2").inner_text().split()[-1]
    assert key_id.startswith("DYAK") and len(secret) == 40
    secret_dialog.locator("button[type=submit]").click()
    expect(p.locator("#secret-dialog")).to_have_count(0)
    assert secret not in p.content()

    p.locator(f"button.revoke-key[data-key='{key_id}']").click()
    _dialog(p, "confirm-dialog").locator("button[type=submit]").click()
    expect(p.locator(f"button.revoke-key[data-key='{key_id}']")).to_have_count(0)
    expect(p.locator("#access-keys", has_text=key_id)).to_contain_text("Revoked")
    page.shot("action-access-key-revoked")


def test_a_viewer_sees_no_actions_and_a_forced_one_is_refused(
    viewer_page: Watched, seeded: Seeded
) -> None:
    page = viewer_page
    p = page.goto("/experiments")
    expect(p.locator("tr[data-experiment='fraud-detection']")).to_be_visible()
    for route, ready in (
        ("/experiments", "#experiments"),
        (f"/models/{seeded.model}", "#versions"),
        (f"/models/{seeded.model}/versions/1", "text=holdout AUC 0.91"),
        ("/jobs", "#jobs"),
        (f"/endpoints/{seeded.endpoint}", "#invoke"),
        (f"/experiments/{seeded.experiment_id}/runs/{seeded.run_ids[0]}", "text=max_depth"),
    ):
        p = page.goto(route)
        p.wait_for_selector(ready, timeout=TIMEOUT_MS)
        buttons = p.locator(
            "#new-experiment, button.delete, button.rename, #delete-model, #register-version,"
            " #approve, #delete-version, #submit-job, #update-endpoint, #delete-endpoint,"
            " #new-key, #delete-run, button.danger, #alias-move, #point-alias"
        )
        expect(buttons).to_have_count(0)

    # Make the page believe the viewer is a member: the server still refuses, and the page
    # says so in the dialog.
    def as_member(route: Any) -> None:
        if route.request.method != "GET":
            route.continue_()
            return
        answer = route.fetch()
        body = answer.json()
        route.fulfill(
            response=answer, json={**body, "whoami": {**body["whoami"], "role": "member"}}
        )

    page.allowed_errors.append("status of 403")  # the browser logs the refused request
    p.route("**/api/v1/session", as_member)
    p = page.goto("/experiments")
    p.reload()
    row = p.locator("tr[data-experiment='fraud-detection']")
    row.locator("button.delete").click()
    dialog = _dialog(p, "confirm-dialog")
    dialog.locator("button[type=submit]").click()
    expect(dialog.locator(".form-error")).to_contain_text("Not allowed")
    page.shot("action-forbidden")
    with seeded.client() as c:
        listed = _ok(c.get("/api/v1/experiments", params={"name_like": "fraud-detection"}))
        assert [e["name"] for e in listed["experiments"]] == ["fraud-detection"]


def test_delete_and_restore_runs(page: Watched, seeded: Seeded) -> None:
    with seeded.client() as c:
        eid = _ok(c.post("/api/v1/experiments", json={"name": "ui-runs"}))["experiment_id"]
        runs = [
            _ok(c.post("/api/v1/runs", json={"experiment_id": eid, "run_name": f"r{i}"}))["info"][
                "run_id"
            ]
            for i in range(3)
        ]
    p = page.goto(f"/experiments/{eid}/runs/{runs[0]}")
    p.click("#delete-run")
    _dialog(p, "confirm-dialog").locator("button[type=submit]").click()
    p.click("#restore-run")
    _dialog(p, "confirm-dialog").locator("button[type=submit]").click()
    expect(p.locator("#delete-run")).to_be_visible()

    # Several at once, from the runs table's selection.
    p = page.goto(f"/experiments/{eid}")
    for name in ("r1", "r2"):
        p.locator(".vt-row", has_text=name).locator("input[type=checkbox]").check()
    p.click("#delete-runs")
    dialog = _dialog(p, "confirm-dialog")
    expect(dialog).to_contain_text("Delete 2 runs?")
    dialog.locator("button[type=submit]").click()
    expect(p.locator(".vt-row", has_text="r2")).to_have_count(0)
    expect(p.locator(".vt-row", has_text="r0")).to_be_visible()
    with seeded.client() as c:
        stages = [_ok(c.get(f"/api/v1/runs/{r}"))["info"]["lifecycle_stage"] for r in runs]
    assert stages == ["active", "deleted", "deleted"]

    # The experiment's deleted runs have a view of their own, where they are found (by name,
    # not by a run page's link kept somewhere) and restored, again by selection.
    p.click("#view-deleted")
    expect(p.locator("h1")).to_contain_text("(deleted runs)")
    expect(p.locator(".vt-row", has_text="r0")).to_have_count(0)
    for name in ("r1", "r2"):
        p.locator(".vt-row", has_text=name).locator("input[type=checkbox]").check()
    p.click("#restore-runs")
    dialog = _dialog(p, "confirm-dialog")
    expect(dialog).to_contain_text("Restore 2 runs?")
    dialog.locator("button[type=submit]").click()
    expect(p.locator(".vt-row", has_text="r1")).to_have_count(0)
    p.click("#view-deleted")  # back to the active runs: all three
    expect(p.locator(".vt-row", has_text="r1")).to_be_visible()
    expect(p.locator(".vt-row", has_text="r2")).to_be_visible()
    with seeded.client() as c:
        stages = [_ok(c.get(f"/api/v1/runs/{r}"))["info"]["lifecycle_stage"] for r in runs]
    assert stages == ["active", "active", "active"]


def test_a_transform_from_a_spec_and_its_outputs(page: Watched, seeded: Seeded) -> None:
    p = page.goto("/jobs?kind=transform")
    p.click("#submit-job")
    dialog = _dialog(p, "job-dialog")
    expect(dialog.locator("select[name=kind]")).to_have_value("transform")
    dialog.locator("textarea[name=spec]").fill(
        "name: ui-transform\n"
        f"model_uri: models:/{seeded.model}/1\n"
        "input:\n  uri: rows.csv\n  content_type: text/csv\n"
        # One CPU: the seeded training job holds another while it runs.
        "max_concurrent_transforms: 1\n"
    )
    rows = b"amount,age,score\n0.5,0.1,0.2\n0.3,0.2,0.1\n"
    dialog.locator("input[name=files]").set_input_files(
        [{"name": "rows.csv", "mimeType": "text/csv", "buffer": rows}]
    )
    dialog.locator("button[type=submit]").click()
    expect(p.locator("h1")).to_have_text("ui-transform")
    expect(p.locator(".head .badge")).to_have_text("Completed", timeout=120_000)
    link = p.locator("#outputs a", has_text="rows.csv.out")
    expect(link).to_be_visible()
    with p.expect_download() as download:
        link.click()
    text = Path(download.value.path()).read_text()
    assert len(text.strip().splitlines()) == 2, text


def test_an_admin_manages_a_user_and_a_grant(page: Watched, seeded: Seeded) -> None:
    p = page.goto("/account")
    p.click("#new-user")
    dialog = _dialog(p, "user-dialog")
    dialog.locator("input[name=name]").fill("ui-bob")
    dialog.locator("input[name=password]").fill(PASSWORD)
    dialog.locator("input[name=password]").press("Enter")
    row = p.locator("#users tr", has=p.locator("[data-user='ui-bob']"))
    expect(row.locator("select[name=role]")).to_have_value("member")

    row.locator("select[name=role]").select_option("viewer")
    _dialog(p, "confirm-dialog").locator("button[type=submit]").click()
    expect(row.locator("select[name=role]")).to_have_value("viewer")
    row.locator("button.disable-user").click()
    _dialog(p, "confirm-dialog").locator("button[type=submit]").click()
    expect(row.locator("button.enable-user")).to_be_visible()
    with seeded.client() as c:
        bob = _ok(c.get("/api/v1/users/ui-bob"))
    assert (bob["role"], bob["disabled"]) == ("viewer", True)
    row.locator("button.enable-user").click()
    _dialog(p, "confirm-dialog").locator("button[type=submit]").click()
    expect(row.locator("button.disable-user")).to_be_visible()

    p.click("#set-grant")
    dialog = _dialog(p, "grant-dialog")
    dialog.locator("select[name=kind]").select_option("registered_model")
    dialog.locator("input[name=resource]").fill(seeded.model)
    dialog.locator("input[name=user]").fill("ui-bob")
    dialog.locator("select[name=level]").select_option("edit")
    dialog.locator("button[type=submit]").click()
    expect(p.locator("#grants tr", has_text="ui-bob")).to_contain_text("edit")
