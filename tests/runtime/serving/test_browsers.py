"""A worker's port against web pages in a user's browser: DNS rebinding and cross-site posts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.runtime.serving.conftest import config, rows, split_body, variant

from dockyard.api.serving import BrowserGuard


def test_a_loopback_worker_answers_loopback_names_and_no_other_site(
    serve: Any, packages: dict[str, Path], short_dir: Path
) -> None:
    body = split_body(rows(1))
    with serve(config(short_dir, [variant("v", packages["xgboost"])])) as w:
        http = w.client
        port = w.worker.port
        # A page whose name was rebound to 127.0.0.1 sends its own name as Host.
        rebound = http.post("/invocations", json=body, headers={"host": f"evil.example:{port}"})
        assert rebound.status_code == 400, rebound.text
        assert rebound.json()["field"] == "Host"
        assert "evil.example" in rebound.json()["message"]
        oip = http.get("/v2/models/v", headers={"host": "evil.example"})
        assert oip.status_code == 400 and "error" in oip.json()  # OIP's error shape
        # Another site's page posts blind; its browser names it.
        cross = http.post("/invocations", json=body, headers={"origin": "http://evil.example"})
        assert cross.status_code == 403, cross.text
        assert "evil.example" in cross.json()["message"]
        marked = http.post("/invocations", json=body, headers={"sec-fetch-site": "cross-site"})
        assert marked.status_code == 403
        aws = http.post("/endpoints/ep/invocations", json=body, headers={"origin": "null"})
        assert aws.status_code == 403 and aws.headers["x-amzn-errortype"]
        # Clients that are not browsers, and the loopback names, are answered as before.
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", "[::1]"):
            answered = http.post("/invocations", json=body, headers={"host": host})
            assert answered.status_code == 200, (host, answered.text)
        same = http.post("/invocations", json=body, headers={"origin": f"http://127.0.0.1:{port}"})
        assert same.status_code == 200
        assert http.get("/ping", headers={"origin": "http://evil.example"}).status_code == 200


def test_a_port_exposed_beyond_loopback_answers_any_host() -> None:
    guard = BrowserGuard("0.0.0.0")
    assert guard.refusal("POST", [(b"host", b"models.internal:8080")]) is None
    refused = guard.refusal(
        "POST", [(b"host", b"models.internal:8080"), (b"origin", b"http://evil.example")]
    )
    assert refused is not None and refused.status_code == 403
    loopback = BrowserGuard("127.0.0.1")
    assert loopback.refusal("GET", [(b"host", b"a.example")]) is not None
    # A rebinding name that merely starts like a loopback address is still a name.
    assert loopback.refusal("GET", [(b"host", b"127.0.0.1.attacker.example:8080")]) is not None
    assert loopback.refusal("GET", [(b"host", b"127.0.0.2:8080")]) is None
