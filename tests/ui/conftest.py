"""The web UI in a real browser: Debian's chromium driven by Playwright, against a real
``dockyard server`` seeded with experiments, runs, a registered model with two versions, a
running job and an endpoint with two variants.

Every page is watched: a console error, an uncaught exception, or a request to anything but
the server (127.0.0.1) fails the test that caused it. Screenshots of each page go to
``tests/ui/screenshots/`` (ignored by git) for people to look at.
"""

from __future__ import annotations

import base64
import io
import json
import math
import re
import shutil
import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from dockyard.models import save_model
from dockyard.server.params._secrets import new_key
from tests.services.server_process import ServerProcess

SCREENSHOTS = Path(__file__).parent / "screenshots"
PASSWORD = "correct horse battery"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
JOB_SCRIPT = """\
import sys, time
import dockyard as dy
for step in range(600):
    print(f"epoch {step} loss={1 / (step + 1):.4f}", flush=True)
    dy.log_metric("train_loss", 1 / (step + 1), step=step)
    time.sleep(0.3)
"""


@dataclass
class Seeded:
    """What the seeded server holds, for tests to open."""

    url: str
    token: str
    #: The server's home folder (where its artifact store keeps captured traffic).
    home: Path = Path()
    experiment_id: str = ""
    run_ids: list[str] = field(default_factory=list)
    artifact_run: str = ""
    model: str = "fraud-model"
    job: str = "ui-train"
    endpoint: str = "fraud-api"
    endpoint_url: str = ""

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=60
        )


def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.skip("Debian's chromium is not installed (make install-test installs it)")
    return path


def _ok(answer: httpx.Response) -> Any:
    assert answer.status_code < 300, f"{answer.request.method} {answer.request.url}: {answer.text}"
    return answer.json() if answer.content else None


def _png(width: int = 96, height: int = 64) -> bytes:
    rows = b"".join(
        b"\x00" + b"".join(bytes((x * 2 % 256, y * 4 % 256, 180)) for x in range(width))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _seed_runs(c: httpx.Client, seeded: Seeded) -> None:
    eid = _ok(c.post("/api/v1/experiments", json={"name": "fraud-detection"}))["experiment_id"]
    seeded.experiment_id = eid
    rng = np.random.default_rng(0)
    for i in range(24):
        body = {"experiment_id": eid, "run_name": f"trial-{i:02d}"}
        run = _ok(c.post("/api/v1/runs", json=body))["info"]["run_id"]
        lr = [0.1, 0.03, 0.01][i % 3]
        depth = 3 + i % 5
        scale = 1 + 0.05 * depth - 2 * lr
        metrics = [
            {
                "key": key,
                "value": value,
                "timestamp": 1_760_000_000_000 + step * 1000,
                "step": step,
            }
            for step in range(60)
            for key, value in (
                ("loss", scale * math.exp(-step / 15) + 0.05 * rng.random()),
                ("val_auc", 0.6 + 0.3 * (1 - math.exp(-step / (10 + depth))) * (1 - lr)),
            )
        ]
        batch = {
            "params": [
                {"key": "lr", "value": str(lr)},
                {"key": "max_depth", "value": str(depth)},
                {"key": "optimizer", "value": "adam" if i % 2 else "sgd"},
            ],
            "metrics": metrics,
            "tags": [
                {"key": "team", "value": "risk" if i % 4 else "growth"},
                {"key": "mlflow.source.name", "value": "train.py"},
                {
                    "key": "mlflow.source.git.commit",
                    "value": f"{i:02d}3f9c1e7a5b2d4c6e8f0a1b2c3d4e5f6a7b8c9",
                },
            ],
        }
        _ok(c.post(f"/api/v1/runs/{run}/batch", json=batch))
        if i != 23:  # the newest run stays RUNNING
            _ok(c.patch(f"/api/v1/runs/{run}", json={"status": "FINISHED" if i % 7 else "FAILED"}))
        seeded.run_ids.append(run)
    run = seeded.run_ids[-2]
    seeded.artifact_run = run
    frame = pd.DataFrame({"amount": [12.5, 99.0, 3.2], "label": [0, 1, 0]})
    files = {
        "notes.txt": b"Trained on the October snapshot.\n",
        "metrics/summary.json": json.dumps({"auc": 0.91, "thresholds": [0.2, 0.5]}).encode(),
        "data/predictions.csv": frame.to_csv(index=False).encode(),
        "plots/roc.png": _png(),
        "report.html": b"<h1>Fraud report</h1><p>AUC <b>0.91</b> on holdout.</p>",
    }
    for path, data in files.items():
        _ok(c.put(f"/api/v1/runs/{run}/artifacts/{path}", content=data))
    schema = {
        "mlflow_colspec": [{"name": "amount", "type": "double"}, {"name": "label", "type": "long"}]
    }
    dataset = {
        "dataset": {
            "name": "transactions-2026-10",
            "digest": "9f2c4e1a",
            "source_type": "local",
            "source": "/data/transactions.csv",
            "schema": json.dumps(schema),
            "profile": json.dumps({"num_rows": 120000}),
        },
        "tags": {"mlflow.data.context": "training"},
    }
    _ok(c.post(f"/api/v1/runs/{run}/inputs", json={"datasets": [dataset]}))
    child = _ok(
        c.post(
            "/api/v1/runs",
            json={"experiment_id": eid, "run_name": "fold-1", "parent_run_id": run},
        )
    )["info"]["run_id"]
    _ok(c.patch(f"/api/v1/runs/{child}", json={"status": "FINISHED"}))


def _seed_model(c: httpx.Client, seeded: Seeded, folder: Path, reviewer: httpx.Client) -> None:
    rng = np.random.default_rng(1)
    x = pd.DataFrame(rng.random((40, 3)), columns=["amount", "age", "score"])
    y = x["amount"] * 2 + x["score"]
    for n, target in (("one", y), ("two", y * 3)):
        path = folder / n
        save_model(LinearRegression().fit(x, target), path, input_example=x.head(3))
        run = seeded.run_ids[int(n == "two")]
        for file in sorted(path.rglob("*")):
            if file.is_file():
                rel = file.relative_to(path).as_posix()
                _ok(c.put(f"/api/v1/runs/{run}/artifacts/model/{rel}", content=file.read_bytes()))
        if n == "one":
            _ok(c.post("/api/v1/registered-models", json={"name": seeded.model}))
        _ok(
            c.post(
                f"/api/v1/registered-models/{seeded.model}/versions",
                json={"source": f"runs:/{run}/model"},
            )
        )
    _ok(c.put(f"/api/v1/registered-models/{seeded.model}/aliases/champion", json={"version": 1}))
    _ok(
        reviewer.post(
            f"/api/v1/registered-models/{seeded.model}/versions/1/approval",
            json={"status": "Approved", "comment": "holdout AUC 0.91"},
        )
    )


def _seed_job(c: httpx.Client, seeded: Seeded) -> None:
    upload = _ok(c.put("/api/v1/data/ui-job/train.py", content=JOB_SCRIPT.encode()))
    source = upload["uri"].rsplit("/", 1)[0]
    spec = {
        "name": seeded.job,
        "entry_point": "train.py",
        "source_dir": source,
        "experiment": "fraud-detection",
        "stopping_condition": {"max_runtime_s": 900},
    }
    _ok(c.post("/api/v1/jobs/training", json=spec))


def _seed_endpoint(c: httpx.Client, seeded: Seeded) -> None:
    config = {
        "name": seeded.endpoint,
        "variants": [
            {"name": "champion", "model_uri": f"models:/{seeded.model}@champion", "weight": 3},
            {"name": "challenger", "model_uri": f"models:/{seeded.model}/2", "weight": 1},
        ],
        "capture": {"enabled": True, "sampling_pct": 100},
    }
    _ok(c.post("/api/v1/endpoints", json=config))


def _wait(what: str, check: Any, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    base = tmp_path_factory.mktemp("ui")
    env = {"DOCKYARD_JOB_STOP_GRACE_S": "1", "DOCKYARD_PARAMS_KEY": new_key()}
    server = ServerProcess(base / "home", env=env)
    server.start()
    try:
        anonymous = httpx.Client(base_url=server.url, timeout=60)
        tokens: dict[str, str] = {}
        for name in ("admin", "reviewer"):  # the first account turns sign-in on
            body = {"name": name, "role": "admin", "password": PASSWORD}
            auth = {"Authorization": f"Bearer {tokens['admin']}"} if tokens else {}
            _ok(anonymous.post("/api/v1/users", json=body, headers=auth))
            basic = base64.b64encode(f"{name}:{PASSWORD}".encode()).decode()
            made = anonymous.post(
                "/api/v1/tokens", json={"name": "ui"}, headers={"Authorization": f"Basic {basic}"}
            )
            tokens[name] = _ok(made)["token"]
        seeded = Seeded(url=server.url, token=tokens["admin"], home=server.home)
        anonymous.close()
        reviewer = httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {tokens['reviewer']}"}
        )
        with seeded.client() as c, reviewer:
            _seed_runs(c, seeded)
            _seed_model(c, seeded, base, reviewer)
            _seed_job(c, seeded)
            _seed_endpoint(c, seeded)
            endpoint = _wait(
                "the endpoint to serve",
                lambda: (
                    (e := _ok(c.get(f"/api/v1/endpoints/{seeded.endpoint}")))["status"]
                    == "InService"
                    and e
                ),
            )
            seeded.endpoint_url = endpoint["url"]
            _wait(
                "the job to log",
                lambda: (
                    int(c.get(f"/api/v1/jobs/{seeded.job}/logs").headers.get("X-Next-Offset", "0"))
                    > 0
                ),
            )
        yield seeded
        with seeded.client() as c:
            c.post(f"/api/v1/jobs/{seeded.job}/stop")
            c.delete(f"/api/v1/endpoints/{seeded.endpoint}")
            _wait(
                "the endpoint to go",
                lambda: c.get(f"/api/v1/endpoints/{seeded.endpoint}").status_code == 404,
                timeout=60,
            )
    finally:
        server.stop()


# -- the browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one module's tests. Playwright's sync API keeps an event loop marked as
    running on the test process's thread while it is open, so a browser kept for the session
    would fail every later ``asyncio.run`` on that worker."""
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


_REFUSED = re.compile(r"'([^']+)'[^']* violates the following Content Security Policy")


class Watched:
    """A page whose console errors and requests are recorded."""

    def __init__(self, page: Any, seeded: Seeded) -> None:
        self.page = page
        self.seeded = seeded
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.allowed_errors: list[str] = []
        page.on(
            "console",
            lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("request", lambda r: self.requests.append(r.url))
        # A request the page's Content-Security-Policy refused never left the browser, yet
        # Chromium announces it as a request (and reports no failure for it); the console names
        # what it refused, and those are not counted as leaving the server.
        self.refused: set[str] = set()
        page.on("console", self._refusal)

    def _refusal(self, message: Any) -> None:
        found = _REFUSED.search(message.text)
        if found:
            self.refused.add(found.group(1))

    def goto(self, route: str) -> Any:
        self.page.goto(f"{self.seeded.url}/#{route}")
        return self.page

    def shot(self, name: str, *, full_page: bool = False) -> Path:
        SCREENSHOTS.mkdir(exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def check(self) -> None:
        foreign = [
            u
            for u in self.requests
            if not u.startswith((self.seeded.url + "/", "blob:", "data:", "about:"))
            and u not in self.refused
        ]
        assert foreign == [], f"requests left the server: {foreign}"
        errors = [e for e in self.errors if not any(a in e for a in self.allowed_errors)]
        assert errors == [], "\n".join(errors)


def _session(seeded: Seeded, user: str = "admin") -> tuple[str, str]:
    answer = httpx.post(
        f"{seeded.url}/api/v1/session", json={"username": user, "password": PASSWORD}
    )
    _ok(answer)
    return answer.cookies["dockyard_session"], answer.json()["csrf_token"]


@pytest.fixture
def anonymous_page(browser: Any, seeded: Seeded) -> Iterator[Watched]:
    """A browser with no session."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    watched = Watched(context.new_page(), seeded)
    yield watched
    context.close()
    watched.check()


@pytest.fixture
def page(browser: Any, seeded: Seeded) -> Iterator[Watched]:
    """A browser signed in as the admin (session cookie and CSRF token, as the login page
    leaves them)."""
    cookie, csrf = _session(seeded)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.add_cookies([{"name": "dockyard_session", "value": cookie, "url": seeded.url}])
    # Only in the top page: a sandboxed preview frame has no storage to write to.
    context.add_init_script(
        f"if (window === window.top) localStorage.setItem('dockyard.csrf', {json.dumps(csrf)})"
    )
    watched = Watched(context.new_page(), seeded)
    yield watched
    context.close()
    watched.check()


def png_size(path: Path) -> tuple[int, int]:
    """Width and height of a PNG (screenshots are checked to hold a picture)."""
    data = io.BytesIO(path.read_bytes()).read(24)
    return struct.unpack(">II", data[16:24])
