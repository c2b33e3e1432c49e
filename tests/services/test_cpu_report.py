"""The per-module CPU report counts what a test's children used, once they are reaped."""

from __future__ import annotations

import subprocess
import sys

from tests.services.cpu_report import cpu_seconds


def test_a_reaped_childs_cpu_counts() -> None:
    before = cpu_seconds()
    # About 0.2 s of arithmetic in a child, which this process then reaps.
    subprocess.run([sys.executable, "-c", "sum(range(6_000_000))"], check=True)
    assert cpu_seconds() - before >= 0.1
