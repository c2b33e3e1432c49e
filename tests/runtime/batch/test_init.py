"""The public surface of dockyard.runtime.batch, pinned."""

from __future__ import annotations

import subprocess
import sys

import dockyard.runtime.batch


def test_public_names() -> None:
    assert dockyard.runtime.batch.__all__ == [
        "BadRecord",
        "FileReport",
        "Progress",
        "RayShards",
        "TransformResult",
        "prepare_limits",
        "run_transform",
        "shown_location",
    ]
    for name in dockyard.runtime.batch.__all__:
        assert getattr(dockyard.runtime.batch, name).__doc__


def test_the_runner_does_not_import_pandas() -> None:
    # The runner process stays small: the memory belongs to the workers.
    code = (
        "import sys, dockyard.runtime.batch; print('pandas' in sys.modules, 'numpy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
