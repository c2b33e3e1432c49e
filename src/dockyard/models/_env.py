"""Environment capture: the Python version and pinned requirements a package needs.

Requirements come from what the model actually uses, not from everything installed:

* the modules its pickle refers to (recorded while pickling, see ``flavors._pickle``) or its
  flavor's library, plus the modules imported by its ``code_paths`` (read with :mod:`ast`);
* the runtime Dockyard needs to load and serve any package (numpy, pandas, PyYAML);
* ``extra_requirements`` given by the user.

Each top-level module is mapped to the distribution that installed it (``xgboost`` ->
``xgboost-cpu``), and the distributions' own dependencies are followed, so every line of
``requirements.txt`` is pinned (``name==version``) and an environment built from it gets the
same versions. The files are written as MLflow writes them (``requirements.txt``,
``python_env.yaml``, ``conda.yaml``), so ``mlflow models serve`` can build them too.
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import platform
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from dockyard.errors import InvalidArgument

__all__ = [
    "RUNTIME_MODULES",
    "capture_requirements",
    "code_imports",
    "dockyard_version",
    "python_version",
    "write_env_files",
]

#: What :mod:`dockyard.models` itself imports when it loads and serves a package.
RUNTIME_MODULES = frozenset({"numpy", "pandas", "yaml"})
# Never pinned: Dockyard's runtime is copied into images and environments, not installed by name,
# and packaging tools belong to whoever builds the environment.
_SKIPPED = frozenset({"dockyard", "pip", "setuptools", "wheel"})
REQUIREMENTS = "requirements.txt"
PYTHON_ENV = "python_env.yaml"
CONDA_ENV = "conda.yaml"


def python_version() -> str:
    """This interpreter's version, ``major.minor.micro``."""
    return platform.python_version()


def dockyard_version() -> str:
    """The installed Dockyard version (``0+unknown`` in a copied runtime without metadata)."""
    try:
        return importlib.metadata.version("dockyard")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def code_imports(paths: Iterable[Path]) -> set[str]:
    """Top-level modules imported by the Python files under ``paths``."""
    modules: set[str] = set()
    for root in paths:
        files = sorted(root.rglob("*.py")) if root.is_dir() else [root]
        for file in files:
            if file.suffix != ".py":
                continue
            try:
                tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
            except (SyntaxError, UnicodeDecodeError) as exc:
                raise InvalidArgument(f"code path {file} is not valid Python: {exc}") from exc
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    modules.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    modules.add(node.module.split(".")[0])
    return modules


def capture_requirements(modules: Iterable[str], extra: Iterable[str] = ()) -> list[str]:
    """Pinned requirements (with their dependencies) for ``modules`` plus ``extra`` lines.

    Modules from the standard library, ``__main__`` and modules no installed distribution
    provides (local code) are skipped. ``extra`` lines are kept as given, after being checked
    to be plain requirement specifiers; they replace any captured pin of the same name.
    """
    from packaging.requirements import InvalidRequirement, Requirement

    extra_reqs: dict[str, str] = {}
    for line in extra:
        try:
            req = Requirement(line)
        except InvalidRequirement as exc:
            raise InvalidArgument(
                f"extra_requirements: {line!r} is not a requirement ({exc})",
                field="extra_requirements",
            ) from exc
        extra_reqs[_canonical(req.name)] = str(req)
    providers = _providers(_site_state())
    roots: set[str] = set()
    for module in set(modules) | RUNTIME_MODULES:
        if module in sys.stdlib_module_names or module in ("__main__", "builtins"):
            continue
        roots.update(providers.get(module, ()))
    pinned = _closure(roots - set(_SKIPPED), Requirement)
    pinned.update(extra_reqs)
    return sorted(pinned.values(), key=str.lower)


def _site_state() -> tuple[tuple[str, int], ...]:
    # Installing or removing a distribution changes its site directory's mtime.
    state = []
    for entry in sys.path:
        try:
            state.append((entry, Path(entry or ".").stat().st_mtime_ns))
        except OSError:
            continue
    return tuple(state)


@functools.lru_cache(maxsize=1)
def _providers(site_state: tuple[tuple[str, int], ...]) -> Mapping[str, list[str]]:
    """Top-level module -> distributions; scanning every distribution takes ~0.5 s, so the
    answer is kept until a site directory changes."""
    return importlib.metadata.packages_distributions()


def _closure(roots: Iterable[str], requirement: Any) -> dict[str, str]:
    pinned: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    stack: list[tuple[str, str]] = [(name, "") for name in roots]
    while stack:
        name, extra = stack.pop()
        key = _canonical(name)
        if key in _SKIPPED or (key, extra) in seen:
            continue
        seen.add((key, extra))
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue  # an optional dependency that is not installed
        pinned[key] = f"{dist.metadata['Name']}=={dist.version}"
        for text in dist.requires or ():
            req = requirement(text)
            if req.marker is not None and not req.marker.evaluate({"extra": extra}):
                continue
            stack.extend((req.name, wanted) for wanted in ("", *req.extras))
    return pinned


def write_env_files(model_dir: Path, requirements: list[str], python: str) -> dict[str, str]:
    """Write requirements.txt, python_env.yaml and conda.yaml; return the ``env`` conf."""
    (model_dir / REQUIREMENTS).write_text("".join(f"{line}\n" for line in requirements))
    python_env = {
        "python": python,
        "build_dependencies": ["pip", "setuptools", "wheel"],
        "dependencies": [f"-r {REQUIREMENTS}"],
    }
    (model_dir / PYTHON_ENV).write_text(yaml.safe_dump(python_env, sort_keys=False))
    conda = {
        "channels": ["conda-forge"],
        "dependencies": [f"python={python}", "pip", {"pip": list(requirements)}],
        "name": "dockyard-env",
    }
    (model_dir / CONDA_ENV).write_text(yaml.safe_dump(conda, sort_keys=False))
    return {"conda": CONDA_ENV, "virtualenv": PYTHON_ENV}


def read_requirements(model_dir: Path) -> list[str]:
    """The requirement lines of a package (blank lines and comments dropped)."""
    path = model_dir / REQUIREMENTS
    if not path.is_file():
        return []
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]
