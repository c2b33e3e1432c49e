"""The benches' imports of Dockyard resolve.

Benches are run by hand (``bench/``), several as scripts embedded in a string and started in a
process of their own: nothing else notices when a module moves and leaves a bench importing
it from where it was.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"
FROM_IMPORT = re.compile(r"^\s*from (dockyard[\w.]*) import ([\w, ]+)$", re.MULTILINE)
PLAIN_IMPORT = re.compile(r"^\s*import (dockyard[\w.]*)(?: as \w+)?$", re.MULTILINE)


def _resolves(module: str, name: str) -> bool:
    found = importlib.import_module(module)
    if hasattr(found, name):
        return True
    try:
        importlib.import_module(f"{module}.{name}")
    except ModuleNotFoundError:
        return False
    return True


def test_every_dockyard_import_in_a_bench_resolves() -> None:
    broken: list[str] = []
    seen = 0
    for path in sorted(BENCH.glob("*.py")):
        text = path.read_text()
        for module, names in FROM_IMPORT.findall(text):
            for name in (n.strip() for n in names.split(",")):
                seen += 1
                if not _resolves(module, name):
                    broken.append(f"{path.name}: from {module} import {name}")
        for module in PLAIN_IMPORT.findall(text):
            seen += 1
            try:
                importlib.import_module(module)
            except ModuleNotFoundError:
                broken.append(f"{path.name}: import {module}")
    assert seen > 20  # the patterns still see the benches' imports
    assert not broken, broken
