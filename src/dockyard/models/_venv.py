"""``build_env``: an isolated virtual environment per package, built with uv and cached.

Environments live under ``<cache>/<key>`` where the key hashes the requirement lines, the Python
``major.minor`` and the runtime fingerprint (model environments get a copy of the model runtime;
training jobs' environments, built by :func:`requirements_env`, do not), so packages with the
same requirements share one environment. A build holds an exclusive lock on
``<cache>/<key>.lock``; the environment counts as ready only once its marker file is written
(atomically, last), so a second process waits for the first and then reuses its result, and a
build that died half-way is started over. uv is tried offline first (its cache usually holds
every wheel already) and then online.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dockyard.errors import DeadlineExceeded, InvalidArgument, Unavailable
from dockyard.models._env import read_requirements
from dockyard.models._integrity import open_package
from dockyard.models._runtime import copy_runtime, runtime_fingerprint

__all__ = ["build_env", "requirements_env"]

READY = ".dockyard-env.json"
_TIMEOUT_S = 900


def build_env(
    path: str | os.PathLike[str],
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    allow_unverified: bool = False,
) -> Path:
    """Build (or reuse) the virtual environment a package's requirements describe.

    Args:
        path: The package directory (verified first: its requirements decide what is installed).
        cache_dir: Where environments are kept; default ``<DOCKYARD_HOME>/envs``.
        allow_unverified: Accept a package without digests (one saved by MLflow).

    Returns:
        The environment directory; its interpreter is ``<dir>/bin/python`` and it can import
        ``dockyard.models`` (the runtime is copied in) to load the package.

    Raises:
        InvalidArgument: A requirement line is not a plain specifier (options such as
            ``--index-url``, ``-e`` or URLs are refused), or uv finds no matching versions.
        Unavailable: uv is missing or could not download what it needs.
        DeadlineExceeded: The build took longer than 15 minutes.
    """
    opened = open_package(path, allow_unverified=allow_unverified)
    python = opened.manifest.python_function.get("python_version")
    return requirements_env(
        read_requirements(opened.path), python, cache_dir=cache_dir, with_runtime=True
    )


def requirements_env(
    lines: list[str],
    python_version: object = None,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    with_runtime: bool = False,
) -> Path:
    """Build (or reuse) an environment with exactly ``lines`` installed (requirements.txt lines).

    The one cache behind :func:`build_env` and training jobs' ``requirements.txt``: the same
    requirements share one environment, whoever asked for it.

    Args:
        lines: Plain requirement specifiers (``xgboost==2.1.1``); options and URLs are refused.
        python_version: ``major.minor`` (or a longer version) of the Python to use; default the
            running one.
        cache_dir: Where environments are kept; default ``<DOCKYARD_HOME>/envs``.
        with_runtime: Copy the model runtime (``dockyard.errors`` + ``dockyard.models``) into
            the environment. Model environments need it; a job's must not have it, since a copy
            named ``dockyard`` would hide the host's full Dockyard from the job's scripts.

    Returns:
        The environment directory (interpreter ``<dir>/bin/python``).
    """
    requirements = _checked(lines)
    python = _python_minor(python_version)
    runtime = runtime_fingerprint() if with_runtime else "none"
    key_text = "\n".join([f"python={python}", f"runtime={runtime}", *sorted(requirements)])
    key = hashlib.sha256(key_text.encode()).hexdigest()[:32]
    root = Path(cache_dir) if cache_dir is not None else _default_cache()
    env_dir = root / key
    if (env_dir / READY).is_file():
        return env_dir
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root / f"{key}.lock"):
        if (env_dir / READY).is_file():
            return env_dir  # another process built it while this one waited
        if env_dir.exists():
            shutil.rmtree(env_dir)  # a build that died half-way
        _build(env_dir, python, requirements, with_runtime)
        marker = {"python": python, "runtime": runtime, "requirements": requirements}
        temporary = env_dir / f"{READY}.tmp"
        temporary.write_text(json.dumps(marker, indent=2))
        temporary.replace(env_dir / READY)
    return env_dir


def _default_cache() -> Path:
    from dockyard.settings import Settings

    return Settings().home / "envs"


def _checked(lines: list[str]) -> list[str]:
    from packaging.requirements import InvalidRequirement, Requirement

    for line in lines:
        try:
            req = Requirement(line)
        except InvalidRequirement as exc:
            raise InvalidArgument(
                f"requirements.txt: {line!r} is not a plain requirement ({exc})",
                details={"line": line},
            ) from exc
        if req.url:
            raise InvalidArgument(
                f"requirements.txt: {line!r} installs from a URL, which is refused",
                details={"line": line},
            )
    return lines


def _python_minor(version: object) -> str:
    parts = str(version).split(".") if version else []
    if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
        return f"{parts[0]}.{parts[1]}"
    return f"{sys.version_info.major}.{sys.version_info.minor}"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released by the kernel if this process dies
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _uv() -> str:
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found is None:
            raise Unavailable("uv is not installed; it builds model environments") from None
        return found


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            command, capture_output=True, text=True, timeout=_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise DeadlineExceeded(f"building the environment took over {_TIMEOUT_S} s") from exc


def _build(env_dir: Path, python: str, requirements: list[str], with_runtime: bool) -> None:
    uv = _uv()
    made = _run([uv, "venv", "--quiet", "--no-project", "--python", python, str(env_dir)])
    if made.returncode != 0:
        raise Unavailable(
            f"uv could not create a Python {python} environment: {made.stderr.strip()}"
        )
    requirements_file = env_dir / "requirements.txt"
    requirements_file.write_text("".join(f"{line}\n" for line in requirements))
    install = [uv, "pip", "install", "--quiet", "--python", str(env_dir / "bin" / "python")]
    install += ["--requirement", str(requirements_file)]
    result = _run([*install, "--offline"]) if requirements else None
    if result is not None and result.returncode != 0:
        result = _run(install)
    if result is not None and result.returncode != 0:
        error = result.stderr.strip()
        cls = InvalidArgument if "No solution found" in error else Unavailable
        raise cls(f"uv could not install the package's requirements: {error[-2000:]}")
    if not with_runtime:
        return
    site = _run(
        [
            str(env_dir / "bin" / "python"),
            "-c",
            "import sysconfig; print(sysconfig.get_path('purelib'))",
        ]
    )
    if site.returncode != 0:
        raise Unavailable(f"the new environment's Python does not run: {site.stderr.strip()}")
    copy_runtime(Path(site.stdout.strip()))
