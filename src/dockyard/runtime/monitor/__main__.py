"""``python -m dockyard.runtime.monitor JOB_DIR``."""

from __future__ import annotations

import sys

from dockyard.runtime.monitor._main import run

if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
