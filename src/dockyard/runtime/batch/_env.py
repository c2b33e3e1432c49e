"""Which Python the workers run, and the Dockyard code they import.

Workers never import the installed Dockyard: they import a copy of the model runtime
(``dockyard.errors``, ``dockyard.models``) and of this package's worker modules, written once
into the work directory and put first on ``PYTHONPATH``. The same copy therefore serves the
host's interpreter and a model's own environment, which has the model's libraries but not
Dockyard's server dependencies.

With ``env_manager="auto"`` a package whose pinned requirements (or Python version) differ from
what the host has gets its own environment, built (or reused from the cache) by
:func:`dockyard.models.build_env`; otherwise the host's interpreter runs the workers.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Literal

import yaml
from packaging.utils import canonicalize_name

__all__ = ["EnvManager", "WorkerRuntime", "prepare_runtime", "requirement_mismatches"]

EnvManager = Literal["auto", "local", "virtualenv"]

# The worker-side modules: everything a worker imports besides the model runtime (no pydantic,
# no boto3, no server code), as paths under ``dockyard/``; the packages' faces are written anew.
WORKER_MODULES = (
    "runtime/batch/_config.py",
    "runtime/batch/_csv.py",
    "runtime/batch/_csv_arrow.py",
    "runtime/batch/_encode.py",
    "runtime/batch/_finisher.py",
    "runtime/batch/_handlers.py",
    "runtime/batch/_jsonl.py",
    "runtime/batch/_parquet.py",
    "runtime/batch/_records.py",
    "runtime/batch/_scoring.py",
    "runtime/batch/_table.py",
    "runtime/batch/_worker.py",
    "runtime/batch/_workdir.py",
    "api/batch/_handlers.py",
    "api/batch/_jsonpath.py",
)
#: libyaml's safe loader when PyYAML has it (as :mod:`dockyard.models._manifest` reads).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PACKAGE_INIT = '"""Dockyard batch transform worker (copied to run in any environment)."""\n'
_API_BATCH_FACE = (
    _PACKAGE_INIT
    + "from dockyard.api.batch._handlers import refuse_for_handlers\n"
    + "from dockyard.api.batch._jsonpath import JsonPath, JsonPathError\n"
    + '__all__ = ["JsonPath", "JsonPathError", "refuse_for_handlers"]\n'
)


@dataclass(frozen=True, slots=True)
class WorkerRuntime:
    """How to start a worker.

    Attributes:
        python: The interpreter.
        path: The folder put first on ``PYTHONPATH`` (holds the copied ``dockyard`` package).
        own_env: Whether ``python`` is the model's own environment.
        reason: Why that interpreter was chosen (for the log).
        copied: Whether ``path`` holds the runtime copy; without it (the caller forks its
            workers from this process, which runs this very code) ``path`` is only the
            workers' working folder.
    """

    python: str
    path: Path
    own_env: bool
    reason: str
    copied: bool = True


@functools.cache
def _models_module(name: str) -> ModuleType:
    """A standard-library-only module of ``dockyard.models``, loaded without the package.

    Importing ``dockyard.models`` pulls in pandas (~100 MB); the runner only needs these
    helpers, and stays small so that the workers have the memory.
    """
    path = Path(__file__).resolve().parents[2] / "models" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_dockyard_batch_models_{name}", path)
    if spec is None or spec.loader is None:  # pragma: no cover - the file ships with Dockyard
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def requirement_mismatches(model_dir: Path) -> list[str]:
    """The package's requirements (and Python version) that this interpreter does not meet."""
    from packaging.requirements import InvalidRequirement, Requirement

    problems: list[str] = []
    manifest = yaml.load((model_dir / "MLmodel").read_bytes(), Loader=_SAFE_LOADER) or {}
    flavors = manifest.get("flavors") if isinstance(manifest, dict) else None
    pyfunc = flavors.get("python_function", {}) if isinstance(flavors, dict) else {}
    python = str(pyfunc.get("python_version") or "") if isinstance(pyfunc, dict) else ""
    host = f"{sys.version_info.major}.{sys.version_info.minor}"
    if python and ".".join(python.split(".")[:2]) != host:
        problems.append(f"python {python} (this is {host})")
    versions = _installed_versions()
    for line in _models_module("_env").read_requirements(model_dir):
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            problems.append(f"{line} (not a plain requirement)")
            continue
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        installed = _installed_version(requirement.name, versions)
        if installed is None:
            problems.append(f"{line} (not installed)")
            continue
        if not requirement.specifier.contains(installed, prereleases=True):
            problems.append(f"{line} (installed {installed})")
    return problems


def _installed_versions() -> dict[str, str]:
    """Installed distributions' versions by normalized name, read from the names of the
    ``<name>-<version>.dist-info`` folders on ``sys.path`` (the first found wins, as for
    imports): one listing per folder, where asking ``importlib.metadata`` parses a metadata
    file per requirement (~1.5 ms each, a dozen for a typical model before its workers start).
    """
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")  # noqa: PTH208 - names only, no Path each
        except OSError:
            continue
        for name in names:
            if name.endswith(".dist-info"):
                project, _, version = name.removesuffix(".dist-info").partition("-")
                # A tool that left a name's own "-" unescaped splits it wrongly: the rest does
                # not read as a version, and importlib.metadata is asked for that one instead.
                if version[:1].isdigit():
                    found.setdefault(canonicalize_name(project), version)
    return found


def _installed_version(name: str, versions: dict[str, str]) -> str | None:
    """``name``'s installed version: from ``versions``, else (an ``.egg-info`` or any other
    layout) as ``importlib.metadata`` finds it; ``None`` when it is not installed."""
    found = versions.get(canonicalize_name(name))
    if found is not None:
        return found
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def prepare_runtime(
    model_dir: Path, work_dir: Path, env_manager: EnvManager, *, copy: bool = True
) -> WorkerRuntime:
    """Choose the workers' interpreter (building the model's environment if needed).

    ``copy=False``: the host's interpreter gets no runtime copy (its workers will be forked
    from this process); the model's own environment always does.

    Raises:
        InvalidArgument, Unavailable, DeadlineExceeded: Building the environment failed (see
            :func:`dockyard.models.build_env`).
    """

    def host(reason: str) -> WorkerRuntime:
        if copy:
            return WorkerRuntime(sys.executable, _runtime_copy(work_dir), False, reason)
        return WorkerRuntime(sys.executable, work_dir, False, reason, copied=False)

    if env_manager == "local":
        return host("env_manager=local")
    if env_manager == "auto":
        problems = requirement_mismatches(model_dir)
        if not problems:
            return host("the host meets the requirements")
        reason = "the host does not meet: " + "; ".join(problems[:5])
    else:
        reason = "env_manager=virtualenv"
    from dockyard.models import build_env

    path = _runtime_copy(work_dir)
    env_dir = build_env(model_dir)
    return WorkerRuntime(str(env_dir / "bin" / "python"), path, True, reason)


def _runtime_copy(work_dir: Path) -> Path:
    """Copy the worker code into ``work_dir/runtime/<digest>`` (once per code version)."""
    package = Path(__file__).resolve().parents[2]  # dockyard/
    runtime = _models_module("_runtime")
    digest = hashlib.sha256(runtime.runtime_fingerprint().encode())
    for name in WORKER_MODULES:
        digest.update(name.encode() + b"\0" + (package / name).read_bytes())
    target = work_dir / "runtime" / digest.hexdigest()[:16]
    if target.is_dir():
        return target
    building = target.with_name(f".{target.name}.tmp")
    shutil.rmtree(building, ignore_errors=True)
    runtime.copy_runtime(building)
    root = building / "dockyard"
    for name in WORKER_MODULES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        runtime.copy_source(package / name, root / name)
    for face in ("runtime", "runtime/batch", "api"):
        (root / face / "__init__.py").write_text(_PACKAGE_INIT)
    (root / "api" / "batch" / "__init__.py").write_text(_API_BATCH_FACE)
    building.replace(target)  # complete or absent: a crash mid-copy leaves only the .tmp
    return target
