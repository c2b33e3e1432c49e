"""The model runtime: the part of Dockyard a package needs to load and serve, copied as source.

Container images and per-model environments get a copy of ``dockyard/errors.py``,
``dockyard/lazy.py`` and ``dockyard/models/`` rather than an installed Dockyard: the runtime
needs only numpy, pandas and PyYAML (which every package pins), not the server's dependencies,
and the copy is exactly the code that wrote the package.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

__all__ = ["copy_runtime", "copy_source", "runtime_fingerprint"]

_INIT = '"""Dockyard model runtime (copied from Dockyard to load and serve model packages)."""\n'


def _sources() -> list[tuple[str, Path]]:
    package = Path(__file__).resolve().parent  # dockyard/models
    files = [
        ("dockyard/errors.py", package.parent / "errors.py"),
        ("dockyard/lazy.py", package.parent / "lazy.py"),
    ]
    for path in sorted(package.rglob("*.py")):
        if "__pycache__" not in path.parts:
            files.append((f"dockyard/models/{path.relative_to(package).as_posix()}", path))
    return files


def runtime_fingerprint() -> str:
    """A digest of the runtime sources: an environment built with other sources is rebuilt."""
    digest = hashlib.sha256()
    for name, path in _sources():
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def copy_runtime(destination: Path) -> None:
    """Write the runtime as an importable ``dockyard`` package under ``destination``."""
    (destination / "dockyard").mkdir(parents=True, exist_ok=True)
    (destination / "dockyard" / "__init__.py").write_text(_INIT)
    for name, path in _sources():
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        copy_source(path, target)


def copy_source(source: Path, target: Path) -> None:
    """Copy a module with its modification time and, when present, its compiled bytecode.

    Bytecode records its source's modification time and size, so the copy stays valid for the
    interpreter that compiled it: a process importing the copy skips compiling it (about 0.13 s
    for the runtime), even where ``PYTHONDONTWRITEBYTECODE`` forbids writing a cache.
    """
    shutil.copy2(source, target)
    cache = source.parent / "__pycache__"
    tag = sys.implementation.cache_tag
    if tag is None or not cache.is_dir():
        return
    for compiled in cache.glob(f"{source.stem}.{tag}*.pyc"):
        (target.parent / "__pycache__").mkdir(exist_ok=True)
        shutil.copy2(compiled, target.parent / "__pycache__" / compiled.name)
