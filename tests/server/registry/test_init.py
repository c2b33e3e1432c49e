"""The registry's public surface is pinned; clients fetch models without the server's layers."""

from __future__ import annotations

import subprocess
import sys

import dockyard.server.registry


def test_public_names() -> None:
    assert dockyard.server.registry.__all__ == [
        "RegistryService",
    ]
    for name in dockyard.server.registry.__all__:
        assert getattr(dockyard.server.registry, name) is not None


def test_fetching_clients_do_not_load_the_database_or_s3_layers() -> None:
    # Jobs, endpoints and batch workers import this to fetch models; they must start fast.
    script = (
        "import sys, dockyard.models.uris, dockyard.client.sdk\n"
        "heavy = [m for m in ('sqlalchemy', 'boto3', 'dockyard.server') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
