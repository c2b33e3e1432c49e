"""The server's side of the warm process leaves nothing open when it ends it."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

from dockyard.runtime.runner._zygote import Zygote


def test_closing_the_warm_process_closes_its_pipes(tmp_path: Path) -> None:
    warm = Zygote(sys.executable, dict(os.environ), tmp_path / "warm.log")
    proc = warm._start()  # what the first spawn does
    warm._proc = proc
    assert proc.stdin is not None and proc.stdout is not None
    warm.close()
    assert proc.returncode is not None and proc.stdin.closed
    # The reading thread sees the end of the output, closes it and ends.
    for thread in threading.enumerate():
        if thread.name == "zygote":
            thread.join(10)
    assert proc.stdout.closed
