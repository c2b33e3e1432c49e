"""The browsable API docs work offline: every URL the page names is this server's."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from tests.services.server_process import ServerProcess

from dockyard.client.http import Client
from dockyard.server._docs import ASSETS

SHIPPED = Path(__file__).parents[2] / "src" / "dockyard" / "server" / "swagger_ui"


def _urls(html: str) -> list[str]:
    """Every URL the page names: src/href attributes, url: settings, anything with ://."""
    found = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    found += re.findall(r"""\burl\s*:\s*['"]([^'"]+)['"]""", html)
    found += re.findall(r"""[A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>)]+""", html)
    return found


def test_the_page_names_only_this_servers_urls(api: Client) -> None:
    response = api._http.get("/api/v1/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    urls = _urls(response.text)
    assert "/api/v1/openapi.json" in urls
    assert {f"/api/v1/docs/assets/{name}" for name in ASSETS} <= set(urls)
    assert [u for u in urls if not u.startswith("/")] == [], urls  # no host, no scheme
    assert "validator.swagger.io" not in response.text
    assert '"validatorUrl": null' in response.text


def test_every_asset_the_page_names_is_served_as_shipped(api: Client) -> None:
    html = api._http.get("/api/v1/docs").text
    for url in (u for u in _urls(html) if u.startswith("/api/v1/docs/assets/")):
        response = api._http.get(url)
        assert response.status_code == 200, url
        name = url.rsplit("/", 1)[1]
        assert response.content == (SHIPPED / name).read_bytes()
        assert response.headers["content-type"].split(";")[0] == ASSETS[name].split(";")[0]
    bundle = api._http.get("/api/v1/docs/assets/swagger-ui-bundle.js").content
    assert b"SwaggerUIBundle" in bundle and len(bundle) > 500_000


@pytest.mark.parametrize(
    "name", ["LICENSE", "SOURCE", "..%2F_docs.py", "%2E%2E%2F_app.py", "swagger-ui.css.map"]
)
def test_nothing_else_in_the_package_is_served(api: Client, name: str) -> None:
    response = api._http.get(f"/api/v1/docs/assets/{name}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium")
def test_a_browser_with_no_other_host_renders_the_docs(tmp_path: Path) -> None:
    """Every host but the server's fails to resolve: the page still shows the API."""
    server = ServerProcess(tmp_path / "home")
    server.start()
    try:
        shown = subprocess.run(
            [
                str(shutil.which("chromium")),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                f"--user-data-dir={tmp_path / 'profile'}",
                "--virtual-time-budget=20000",
                "--dump-dom",
                f"{server.url}/api/v1/docs",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        server.stop()
    dom = shown.stdout
    assert "opblock" in dom, shown.stderr[-2000:]  # Swagger UI drew the operations
    # Past 150 tags and operations Swagger UI (5.35) draws only those in view (a virtual list),
    # so the first tag's operations are what a headless page shows.
    assert "/api/v1/experiments/{experiment_id}" in dom
