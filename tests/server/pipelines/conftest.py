from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.server.pipelines._core import StandInCore

from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.pipelines import TaskRunner
from dockyard.settings import Settings

ROOT = Actor.local("root")


class Clock:
    """Milliseconds that move only when a test moves them."""

    def __init__(self, start_ms: int = 1_800_000_000_000) -> None:
        self.now = start_ms

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["sqlite", "postgresql"])
def shell(request: pytest.FixtureRequest, tmp_path: Path, clock: Clock) -> Iterator[Services]:
    """Services whose pipelines run on the stand-in core and a clock the test moves, over
    SQLite and PostgreSQL (row locks, insert-or-ignore claims and the event log's ordering
    differ between them)."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    made = Services.from_settings(
        Settings(
            home=tmp_path / "home",
            data_roots=[str(tmp_path)],
            database_url=url,
            pipeline_functions={
                "double": "tests.server.pipelines._functions:double",
                "block": "tests.server.pipelines._functions:block",
                "starts": "tests.server.pipelines._functions:starts",
                "note": "tests.server.pipelines._functions:note",
            },
        )
    )
    made.pipelines.engine.core = StandInCore()
    made.pipelines.engine.clock = clock
    yield made
    made.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def services(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Services]:
    """Services on the real core, over SQLite and PostgreSQL."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    made = Services.from_settings(Settings(home=tmp_path / "home", database_url=url))
    yield made
    made.close()


@pytest.fixture
def runner(shell: Services) -> Iterator[TaskRunner]:
    made = TaskRunner(
        shell.db, shell.pipelines.engine, shell.pipelines.integrations, lambda row: ROOT
    )
    yield made
    made.close()
