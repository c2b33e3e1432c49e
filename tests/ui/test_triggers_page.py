"""The triggers page: the list, one trigger's firings, firing it and disabling it from the page."""

from __future__ import annotations

import pytest

from tests.ui.conftest import Seeded, Watched

pytestmark = pytest.mark.slow
TIMEOUT_MS = 20_000


def test_list_and_fire_from_the_page(page: Watched, seeded: Seeded) -> None:
    with seeded.client() as c:
        spec = c.get(f"/api/v1/jobs/{seeded.job}").json()["spec"]
        spec.pop("name", None)
        body = {
            "name": "ui-nightly",
            "schedule": {"cron": "0 3 * * *", "timezone": "Europe/Paris"},
            "target": {"kind": "training", "spec": spec},
        }
        made = c.post("/api/v1/triggers", json=body)
        assert made.status_code == 201, made.text
    p = page.goto("/triggers")
    p.wait_for_selector("#triggers >> text=ui-nightly", timeout=TIMEOUT_MS)
    assert "0 3 * * * (Europe/Paris)" in p.inner_text("#triggers")
    p.click("#triggers >> text=ui-nightly")
    p.wait_for_selector("#firings >> text='It has not fired yet.'", timeout=TIMEOUT_MS)
    p.click("#fire-now")
    # The firing's row ("text=fired" alone would also match "It has not fired yet.").
    p.wait_for_selector("#firings table >> text=fired", timeout=TIMEOUT_MS)
    p.click("#toggle-enabled")  # disable it from the page
    p.wait_for_selector("#toggle-enabled >> text=Enable", timeout=TIMEOUT_MS)
    with seeded.client() as c:
        assert c.get("/api/v1/triggers/ui-nightly").json()["enabled"] is False
    p.click("#toggle-enabled")
    p.wait_for_selector("#toggle-enabled >> text=Disable", timeout=TIMEOUT_MS)
    with seeded.client() as c:
        (firing,) = c.get("/api/v1/triggers/ui-nightly/firings").json()["firings"]
        assert firing["status"] == "fired", firing
        c.post(f"/api/v1/jobs/{firing['job']}/stop")
        c.delete("/api/v1/triggers/ui-nightly")
    page.shot("triggers")
