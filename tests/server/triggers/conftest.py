from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from dockyard.server import create_app
from dockyard.server._inprocess import InProcessTransport
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.settings import Settings

ROOT = Actor.local("root")


class Clock:
    """Milliseconds that move only when a test moves them."""

    def __init__(self, start_ms: int) -> None:
        self.now = start_ms

    def __call__(self) -> int:
        return self.now


def make_services(
    home: Path, data: Path, *roots: str, database_url: str | None = None, **settings: Any
) -> Services:
    return Services.from_settings(
        Settings(home=home, data_roots=[str(data), *roots], database_url=database_url, **settings)
    )


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "train.csv").write_text("1,2\n3,4\n")
    return folder


@pytest.fixture
def services(tmp_path: Path, data: Path) -> Iterator[Services]:
    made = make_services(tmp_path / "home", data)
    yield made
    made.close()


@pytest.fixture
def client(services: Services) -> Iterator[httpx.Client]:
    app = create_app(services=services)
    transport = InProcessTransport(app, local=False)
    with httpx.Client(transport=transport, base_url="http://localhost") as made:
        yield made
    transport.close()


def training(data: Path, **extra: Any) -> dict[str, Any]:
    """A training target that needs nothing but a CSV file."""
    spec = {
        "algorithm": "xgboost",
        "hyperparameters": {"num_round": "2", "objective": "reg:squarederror"},
        "inputs": {"train": {"uri": str(data / "train.csv"), "content_type": "text/csv"}},
        **extra,
    }
    return {"kind": "training", "spec": spec}
