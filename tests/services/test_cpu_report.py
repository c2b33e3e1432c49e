"""The per-module CPU report counts what a test's children used, once they are reaped."""

from __future__ import annotations

import subprocess
import sys

from tests.services.cpu_report import cpu_seconds


def test_a_reaped_childs_cpu_counts() -> None:
    before = cpu_seconds()
    # Arithmetic in a child (about 0.5 s here, well over 0.1 s on any machine), then reaped.
    subprocess.run([sys.executable, "-c", "sum(range(20_000_000))"], check=True)
    assert cpu_seconds() - before >= 0.1
