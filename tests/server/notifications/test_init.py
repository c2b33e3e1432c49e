"""The public surface of dockyard.server.notifications is pinned, and clients import it light."""

from __future__ import annotations

import subprocess
import sys

import dockyard.server.notifications


def test_public_names_are_unique_and_importable() -> None:
    names = dockyard.server.notifications.__all__
    assert len(set(names)) == len(names)
    for name in names:
        assert getattr(dockyard.server.notifications, name) is not None


def test_clients_import_the_entities_without_the_database_or_a_client_pool() -> None:
    code = (
        "import sys, dockyard.api.notifications as n; n.SubscriptionConfig; "
        "print(sorted(m for m in ('sqlalchemy', 'httpx') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
