"""LazyModule imports its module on the first attribute read, and only then."""

from __future__ import annotations

import subprocess
import sys

from dockyard.lazy import LazyModule


def test_the_first_attribute_read_imports() -> None:
    code = (
        "import sys\n"
        "from dockyard.lazy import LazyModule\n"
        "lazy = LazyModule('csv')\n"
        "before = 'csv' in sys.modules\n"
        "dialect = lazy.excel\n"
        "print(before, 'csv' in sys.modules, dialect is sys.modules['csv'].excel)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == ["False", "True", "True"]


def test_repr_says_whether_imported() -> None:
    lazy = LazyModule("json")
    assert "not imported yet" in repr(lazy)
    assert lazy.dumps([1]) == "[1]"
    assert "(imported)" in repr(lazy)


def test_a_name_mapped_to_its_own_module_is_the_module() -> None:
    code = (
        "import sys\n"
        "import dockyard as dy\n"
        "before = 'dockyard.client.sdk.steps' in sys.modules\n"
        "dy.steps\n"
        "steps = sys.modules['dockyard.client.sdk.steps']\n"
        "print(before, dy.steps is steps, dy.Retry is dy.steps.Retry)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == ["False", "True", "True"]
