"""The layout's rules, checked on every import statement under ``src/dockyard``.

The folders say which process runs the code (README, "Layout"):

- ``dockyard.server.*`` runs in the server; ``dockyard.runtime.*`` in the processes it starts (a
  job's runner, batch and serving workers), which reach the server only over HTTP;
  ``dockyard.client.sdk`` and ``dockyard.client.cli`` in users' processes;
  ``dockyard.client.http`` is the HTTP client all of them share.
- Everything else (``api``, ``models``, ``artifacts``, ``algorithms``, ``settings``, ``errors``...)
  is shared and imports none of them.

Function-level and ``TYPE_CHECKING`` imports count: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
SIDES = ("api", "server", "runtime", "client")

# Which side may import which. The SDK embeds the server in-process (the default without a
# server URL), and a job's runner logs through the SDK; nothing imports the runtime.
MAY_IMPORT = {
    "shared": {"shared", "http"},
    "http": {"shared", "http"},
    "server": {"shared", "http", "server"},
    "runtime": {"shared", "http", "client", "runtime"},
    "client": {"shared", "http", "client", "server"},
    "entry": {"shared", "http", "client", "server", "runtime", "entry"},
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in (SRC / "dockyard").rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def package(module: str) -> str:
    """The package a module belongs to: two levels under a side (``dockyard.server.jobs``),
    one elsewhere (``dockyard.models``); the server's own files form ``dockyard.server``."""
    parts = module.split(".")
    if len(parts) >= 3 and parts[1] in SIDES:
        if parts[1] == "server" and (
            parts[2].startswith("_") or parts[2] in ("routes", "compat", "ui")
        ):
            return "dockyard.server"
        return ".".join(parts[:3])
    return ".".join(parts[:2])


def side(pkg: str) -> str:
    parts = pkg.split(".")
    if parts[1:2] in (["server"], ["runtime"]):
        return parts[1]
    if pkg in ("dockyard.client.sdk", "dockyard.client.cli"):
        return "client"
    if pkg == "dockyard.client.http":
        return "http"
    if pkg in ("dockyard", "dockyard.__main__", "dockyard.demo"):
        return "entry"
    return "shared"


def _imports() -> Iterator[tuple[str, str, int]]:
    """(importing module, imported module, line) for every import of Dockyard's own code."""
    for module, path in MODULES.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = module.split(".") if is_package else module.split(".")[:-1]
                    base = base[: len(base) - node.level + 1]
                    target = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    target = node.module or ""
                for alias in node.names:
                    full = f"{target}.{alias.name}"
                    yield module, full if full in MODULES else target, node.lineno
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    yield module, alias.name, node.lineno


def _edges() -> list[tuple[str, str, str, int]]:
    """(importing module, imported module, its package, line) across packages."""
    out = []
    for module, imported, line in _imports():
        target = imported if imported.startswith("dockyard") else ""
        while target and target not in MODULES:
            target = target.rpartition(".")[0]
        if not target or target == "dockyard":
            continue
        if package(module) != package(target):
            out.append((module, target, package(target), line))
    return out


EDGES = _edges()


def test_each_side_imports_only_what_it_may() -> None:
    wrong = [
        f"{module}:{line} ({side(package(module))}) imports {target} ({side(pkg)})"
        for module, target, pkg, line in EDGES
        if side(pkg) not in MAY_IMPORT[side(package(module))]
    ]
    assert wrong == []


def test_no_package_imports_another_packages_private_modules() -> None:
    wrong = [
        f"{module}:{line} imports {target}"
        for module, target, pkg, line in EDGES
        if any(
            part.startswith("_") and not part.startswith("__")
            for part in target[len(pkg) :].split(".")
        )
    ]
    assert wrong == []


def test_packages_import_each_other_without_cycles() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for module, _target, pkg, _line in EDGES:
        graph[package(module)].add(pkg)
    cycles = []
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*path[path.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_the_rules_see_the_layout() -> None:
    # The checks above are only as good as their view of the tree: every side has packages.
    sides = {side(package(module)) for module in MODULES}
    assert sides == set(MAY_IMPORT)
    assert len(EDGES) > 300
