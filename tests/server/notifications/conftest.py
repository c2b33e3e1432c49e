from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.server.notifications._receiver import Receiver

from dockyard.server._services import Services
from dockyard.settings import Settings


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver().start()
    yield made
    made.stop()


def make_services(home: Path, **overrides: object) -> Services:
    settings = Settings(
        home=home,
        webhook_allow_private=True,
        notify_retry_base_s=0.05,
        notify_retry_max_s=0.2,
        **overrides,  # type: ignore[arg-type]
    )
    return Services.from_settings(settings)


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    made = make_services(tmp_path)
    loops = made.start_notifications()
    yield made
    for loop in loops:
        loop.stop()
    made.close()
