"""A function module that starts a thread when imported: a warm process must not fork it."""

from __future__ import annotations

import os
import threading
from typing import Any

from tests.server.pipelines._functions import gated

__all__ = ["gated", "ppid"]

_stop = threading.Event()
threading.Thread(target=_stop.wait, daemon=True).start()


def ppid(event: Any) -> int:
    return os.getppid()
