"""A job's own environment: ``requirements.txt`` in its source folder, built once and cached.

Built by :func:`dockyard.models._venv.requirements_env`, the same cache model environments use.
The job's pinned packages come first on ``sys.path``; the host's follow, so a script can still
``import dockyard`` to log metrics without listing Dockyard's own dependencies, and then the
stand-ins for SageMaker's toolkits (:mod:`dockyard.runtime.runner._compat`).
"""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path

from dockyard.runtime.runner._compat import SHIMS

__all__ = ["job_python"]

_PTH = "zz-dockyard-host.pth"


def job_python(code_dir: Path, cache_dir: Path) -> str | None:
    """The interpreter for a job whose code has a ``requirements.txt`` (None when it has none)."""
    requirements = code_dir / "requirements.txt"
    if not requirements.is_file():
        return None
    from dockyard.models import requirements_env

    lines = [
        line.split("#", 1)[0].strip()
        for line in requirements.read_text().splitlines()
        if line.split("#", 1)[0].strip()
    ]
    env = requirements_env(lines, cache_dir=cache_dir)
    # A .pth file's lines are appended to sys.path after the environment's own site-packages:
    # the job's versions win, the host fills the gaps, and the SageMaker stand-ins come last.
    content = f"{sysconfig.get_path('purelib')}\n{SHIMS}\n"
    for site in env.glob("lib/python*/site-packages"):
        pth = site / _PTH
        if not pth.exists() or pth.read_text() != content:
            temporary = site / f".{_PTH}.{os.getpid()}"
            temporary.write_text(content)
            temporary.replace(pth)
    return str(env / "bin" / "python")
