"""Which interpreter runs the workers, and the runtime copy they import."""

from __future__ import annotations

import logging
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from tests.runtime.batch.conftest import expected_linear, features, write_csv

import dockyard.models
from dockyard.api.batch import TransformSpec
from dockyard.models import seal
from dockyard.runtime.batch import TransformResult
from dockyard.runtime.batch._env import (
    WORKER_MODULES,
    EnvManager,
    _installed_versions,
    prepare_runtime,
    requirement_mismatches,
)

Run = Callable[..., TransformResult]


def _retargeted(package: Path, tmp_path: Path) -> Path:
    """A sealed copy of ``package`` whose requirements this interpreter does not meet."""
    copy = tmp_path / "needs-other-numpy"
    shutil.copytree(package, copy)
    requirements = copy / "requirements.txt"
    requirements.write_text(requirements.read_text() + "numpy==0.0.1\n")
    seal(copy)
    return copy


def test_a_package_saved_here_needs_no_environment_of_its_own(packages: dict[str, Path]) -> None:
    assert requirement_mismatches(packages["linear"]) == []


def test_mismatched_requirements_and_python_are_listed(
    packages: dict[str, Path], tmp_path: Path
) -> None:
    copy = _retargeted(packages["linear"], tmp_path)
    manifest = copy / "MLmodel"
    manifest.write_text(
        manifest.read_text().replace(
            f"python_version: {sys.version_info.major}.{sys.version_info.minor}",
            "python_version: 3.9",
        )
    )
    problems = requirement_mismatches(copy)
    assert f"numpy==0.0.1 (installed {np.__version__})" in problems
    assert any(p.startswith("python 3.9") for p in problems)


def test_installed_versions_are_read_as_imports_find_them(
    packages: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two folders on the path hold the same project: the first one is what imports load.
    first, second = tmp_path / "first", tmp_path / "second"
    (first / "Dock_Yard_Demo-2.0.1.dist-info").mkdir(parents=True)
    (second / "dock_yard_demo-1.0.dist-info").mkdir(parents=True)
    (second / "zz_only_second-3.1.dist-info").mkdir()
    monkeypatch.setattr(
        sys, "path", [str(first), str(tmp_path / "missing"), str(second), *sys.path]
    )
    copy = tmp_path / "needs"
    shutil.copytree(packages["linear"], copy)
    requirements = copy / "requirements.txt"
    requirements.write_text(
        requirements.read_text()
        + "dock-yard.demo==1.0\nzz-only-second>=3\nsurely-not-installed-here==1\n"
    )
    seal(copy)
    assert requirement_mismatches(copy) == [
        "dock-yard.demo==1.0 (installed 2.0.1)",
        "surely-not-installed-here==1 (not installed)",
    ]


def test_a_dist_info_name_that_does_not_split_into_name_and_version_is_not_guessed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "zz-only-second-9.dist-info").mkdir()  # a name whose own "-" was not escaped
    (tmp_path / "good_name-1.2.dist-info").mkdir()
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    assert _installed_versions() == {"good-name": "1.2"}


def test_the_runtime_copy_holds_only_worker_code(packages: dict[str, Path], tmp_path: Path) -> None:
    runtime = prepare_runtime(packages["linear"], tmp_path, "local")
    assert runtime.python == sys.executable
    assert not runtime.own_env
    root = runtime.path / "dockyard"
    copied = {p.relative_to(root).as_posix() for p in root.rglob("*.py") if "models" not in p.parts}
    faces = {"__init__.py", "errors.py", "lazy.py", "api/__init__.py", "api/batch/__init__.py"}
    faces |= {"runtime/__init__.py", "runtime/batch/__init__.py"}
    assert copied == faces | set(WORKER_MODULES)
    assert (runtime.path / "dockyard" / "models" / "pyfunc.py").is_file()
    assert not (runtime.path / "dockyard" / "server").exists()
    assert prepare_runtime(packages["linear"], tmp_path, "local").path == runtime.path


@pytest.mark.parametrize("env_manager", ["local", "auto"])
def test_workers_forked_from_this_process_get_no_copy(
    env_manager: EnvManager, packages: dict[str, Path], tmp_path: Path
) -> None:
    runtime = prepare_runtime(packages["linear"], tmp_path, env_manager, copy=False)
    assert (runtime.python, runtime.own_env, runtime.copied) == (sys.executable, False, False)
    assert runtime.path == tmp_path
    assert not (tmp_path / "runtime").exists()


def test_a_package_with_other_requirements_runs_in_its_own_environment(
    packages: dict[str, Path],
    tmp_path: Path,
    transform: Run,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    built: list[Path] = []

    def fake_build_env(path: Path) -> Path:
        # Stands in for uv: an "environment" that is this interpreter's prefix.
        built.append(Path(path))
        return Path(sys.prefix)

    monkeypatch.setattr(dockyard.models, "build_env", fake_build_env)
    model = _retargeted(packages["linear"], tmp_path)
    rows = features(20)
    write_csv(tmp_path / "in.csv", rows)
    spec = TransformSpec(
        model_uri=str(model),
        input={"uri": str(tmp_path / "in.csv")},
        output={"uri": str(tmp_path / "out")},
    )
    with caplog.at_level(logging.INFO, logger="dockyard.runtime.batch"):
        result = transform(spec, env_manager="auto")
    assert built == [model]
    assert result.worker_python == str(Path(sys.prefix) / "bin" / "python")
    ready = [r.getMessage() for r in caplog.records if "ready" in r.getMessage()]
    assert ready and all(f"dockyard from {tmp_path / 'work' / 'runtime'}" in m for m in ready)
    got = [float(v) for v in (tmp_path / "out" / "in.csv.out").read_text().split()]
    np.testing.assert_allclose(got, expected_linear(rows))
