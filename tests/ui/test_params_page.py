"""The parameters page: list by path (saying so when the parameters are deeper down), a
parameter's history, a SecureString masked until revealed, and putting a new version from the
form."""

from __future__ import annotations

import pytest

from tests.ui.conftest import Seeded, Watched

pytestmark = pytest.mark.slow
TIMEOUT_MS = 20_000
SECRET = "ui-clear-secret-value"


def test_list_reveal_and_put_a_new_version(page: Watched, seeded: Seeded) -> None:
    with seeded.client() as c:
        for body in (
            {"name": "/ui/model/threshold", "value": "0.5", "overwrite": True},
            {"name": "/ui/db/password", "value": SECRET, "type": "SecureString", "overwrite": True},
        ):
            assert c.post("/api/v1/params", json=body).status_code == 200
    # None directly under /ui/: the page says there are deeper ones, and shows them on asking.
    p = page.goto("/params?path=/ui/")
    deeper = p.wait_for_selector("#param-deeper", timeout=TIMEOUT_MS)
    assert "No parameter directly under /ui/; there are deeper ones, such as /ui/" in (
        deeper.inner_text()
    )
    page.shot("params-deeper")
    p.click("#param-show-deeper")
    p.wait_for_selector("#params >> text='/ui/model/threshold'", timeout=TIMEOUT_MS)
    assert p.is_checked("#param-recursive")
    assert SECRET not in p.inner_text("#params") and "******" in p.inner_text("#params")
    p.click("[data-reveal='/ui/db/password']")
    p.wait_for_selector(f"#params >> text={SECRET}", timeout=TIMEOUT_MS)
    p.click("#params >> text='/ui/model/threshold'")
    p.wait_for_selector("#param-versions", timeout=TIMEOUT_MS)
    p.click("#put-version")
    p.fill("#param-dialog input[name=value]", "0.9")
    p.click("#param-dialog button[type=submit]")
    p.wait_for_selector("#param-versions >> text=0.9", timeout=TIMEOUT_MS)
    with seeded.client() as c:
        got = c.get("/api/v1/params/value", params={"name": "/ui/model/threshold"}).json()
    assert got["value"] == "0.9" and got["version"] >= 2
    page.shot("params")
