"""Fixtures for the MLflow adapter's tests: the real ``mlflow`` client pointed at a live server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import mlflow
import pytest
from tests.services.live_server import LiveServer


@pytest.fixture
def tracking_uri(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the MLflow client at the live server, failing fast instead of retrying."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", live_server.url)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")
    # Nothing of another test's fluent state (active run, experiment) may leak into this one.
    mlflow.set_tracking_uri(live_server.url)
    yield live_server.url
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(None)


@pytest.fixture
def experiment_name(request: pytest.FixtureRequest) -> str:
    """A name no other test uses, so tests sharing the server never see each other's data."""
    return f"{request.node.name[:80]}-{uuid.uuid4().hex[:12]}"
