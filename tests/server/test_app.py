"""The app as built: FastAPI's own OpenTelemetry stays off unless the operator set it up."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard.server import Services, create_app
from dockyard.server._app import _telemetry
from dockyard.settings import Settings


def _no_otel(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("OTEL_"):
            monkeypatch.delenv(name)
    monkeypatch.delenv("FASTAPI_OTEL_AUTO_CONFIGURE", raising=False)


def test_fastapi_looks_for_no_telemetry_providers_unless_asked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _no_otel(monkeypatch)
    services = Services.from_settings(Settings(home=tmp_path / "home"))
    try:
        app = create_app(services=services)
        config = getattr(app, "_telemetry", None)
        if config is not None:  # a FastAPI with native telemetry: off
            assert not (config["tracing"] or config["metrics"] or config["logs"])
    finally:
        services.close()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    assert _telemetry() == {}  # set up by the operator: FastAPI's defaults
    _no_otel(monkeypatch)
    monkeypatch.setenv("FASTAPI_OTEL_AUTO_CONFIGURE", "true")
    assert _telemetry() == {}
