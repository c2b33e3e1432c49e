"""Environment capture (pinned, from what the model uses) and build_env with uv."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from dockyard.errors import InvalidArgument
from dockyard.models import build_env, save_model, seal
from dockyard.models._venv import requirements_env
from dockyard.models.flavors.python_model import PythonModel


def _requirements(path: Path) -> dict[str, str]:
    lines = (path / "requirements.txt").read_text().split()
    pairs = [line.split("==") for line in lines]
    assert all(len(pair) == 2 for pair in pairs), lines  # every line pinned
    return {name.lower(): pin for name, pin in pairs}


def test_requirements_are_pinned_from_what_the_model_uses(packages: dict[str, Path]) -> None:
    sk = _requirements(packages["sklearn"])
    assert sk["scikit-learn"] == version("scikit-learn")
    for needed in ("numpy", "scipy", "joblib", "threadpoolctl", "pandas", "pyyaml", "cloudpickle"):
        assert needed in sk, needed  # scikit-learn's dependencies and the runtime's
    assert not {"xgboost-cpu", "lightgbm", "mlflow", "dockyard", "pip"} & set(sk)
    xgb = _requirements(packages["xgboost"])
    assert xgb["xgboost-cpu"] == version("xgboost-cpu")  # the distribution, not the module name
    assert "lightgbm" not in xgb


class UsesLightGBM(PythonModel):
    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        return model_input


def test_code_path_imports_and_extra_requirements(tmp_path: Path) -> None:
    code = tmp_path / "helpers.py"
    code.write_text("import lightgbm\nimport helpers_local\nfrom os import path\n")
    save_model(
        UsesLightGBM(),
        tmp_path / "m",
        code_paths=[code],
        extra_requirements=["requests>=2", "numpy==1.26.4"],
    )
    reqs = (tmp_path / "m" / "requirements.txt").read_text().split()
    assert f"lightgbm=={version('lightgbm')}" in reqs
    assert "requests>=2" in reqs
    assert "numpy==1.26.4" in reqs and f"numpy=={version('numpy')}" not in reqs
    assert not any(line.startswith("helpers") for line in reqs)
    with pytest.raises(InvalidArgument, match="extra_requirements: 'not a req!'"):
        save_model(UsesLightGBM(), tmp_path / "m2", extra_requirements=["not a req!"])


def test_env_files_follow_mlflow(packages: dict[str, Path]) -> None:
    path = packages["sklearn"]
    python = ".".join(map(str, sys.version_info[:3]))
    assert yaml.safe_load((path / "python_env.yaml").read_text()) == {
        "python": python,
        "build_dependencies": ["pip", "setuptools", "wheel"],
        "dependencies": ["-r requirements.txt"],
    }
    conda = yaml.safe_load((path / "conda.yaml").read_text())
    assert conda["dependencies"][0] == f"python={python}"
    assert conda["dependencies"][2]["pip"] == (path / "requirements.txt").read_text().split()


@pytest.mark.parametrize(
    "line",
    ["--index-url https://evil.example/simple", "-e git+https://x/y", "pkg @ https://x/y.whl"],
    ids=["index-option", "editable", "url"],
)
def test_build_env_refuses_requirements_that_are_not_plain(
    package_copy: Callable[[str], Path], tmp_path: Path, line: str
) -> None:
    path = package_copy("sklearn")
    (path / "requirements.txt").write_text(f"{line}\n")
    seal(path)
    with pytest.raises(InvalidArgument, match=r"requirements\.txt: ") as caught:
        build_env(path, cache_dir=tmp_path / "envs")
    assert caught.value.details["line"] == line
    assert not (tmp_path / "envs").exists() or not any((tmp_path / "envs").iterdir())


@pytest.mark.slow
def test_build_env_builds_once_and_serves_the_model(
    packages: dict[str, Path], tmp_path: Path, frame: pd.DataFrame, sklearn_model: Any
) -> None:
    cache = tmp_path / "envs"
    # Two concurrent builds of the same requirements: one builds, the other waits and reuses.
    with ThreadPoolExecutor(2) as pool:
        built = list(pool.map(lambda _: build_env(packages["sklearn"], cache_dir=cache), range(2)))
    assert built[0] == built[1]
    env = built[0]
    assert sorted(p.name for p in cache.iterdir() if not p.name.endswith(".lock")) == [env.name]
    started = time.perf_counter()
    assert build_env(packages["sklearn"], cache_dir=cache) == env
    assert time.perf_counter() - started < 1  # cached: no uv call
    script = (
        "import sys, dockyard, sklearn\n"
        "from dockyard.models import load_model\n"
        "m = load_model(sys.argv[1])\n"
        "print(dockyard.__file__)\nprint(sklearn.__version__)\n"
        "print(m.predict([{'a': 0.95, 'b': 9, 'c': 0.0}, {'a': 0.0, 'b': 0, 'c': 0.0}]).tolist())\n"
    )
    out = subprocess.run(
        [str(env / "bin" / "python"), "-c", script, str(packages["sklearn"])],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout.split("\n")
    assert out[0].startswith(str(env))  # the runtime copied into the environment
    assert out[1] == version("scikit-learn")
    rows = pd.DataFrame({"a": [0.95, 0.0], "b": [9, 0], "c": [0.0, 0.0]})
    assert out[2] == str(sklearn_model.predict(rows).tolist())
    assert re.fullmatch(r"[0-9a-f]{32}", env.name)

    # The same requirements without the runtime (a training job's environment) are kept apart:
    # a copied ``dockyard`` there would hide the host's full Dockyard from the job's scripts.
    lines = (packages["sklearn"] / "requirements.txt").read_text().split()
    bare = requirements_env(lines, cache_dir=cache)
    assert bare != env
    assert not list(bare.glob("lib/python*/site-packages/dockyard"))
    assert list(env.glob("lib/python*/site-packages/dockyard/models/__init__.py"))
