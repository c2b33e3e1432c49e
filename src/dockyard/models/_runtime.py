"""The model runtime: the part of Dockyard a package needs to load and serve, copied as source.

Container images and per-model environments get a copy of ``dockyard/errors.py`` and
``dockyard/models/`` rather than an installed Dockyard: the runtime needs only numpy, pandas and
PyYAML (which every package pins), not the server's dependencies, and the copy is exactly the
code that wrote the package.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["copy_runtime", "runtime_fingerprint"]

_INIT = '"""Dockyard model runtime (copied from Dockyard to load and serve model packages)."""\n'


def _sources() -> list[tuple[str, Path]]:
    package = Path(__file__).resolve().parent  # dockyard/models
    files = [("dockyard/errors.py", package.parent / "errors.py")]
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
        target.write_bytes(path.read_bytes())
