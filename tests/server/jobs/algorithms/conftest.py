"""SageMaker-style job directories for the built-in algorithms, and ways to run them.

A job is run in-process through the same ``run()`` the module's ``main`` calls (fast: XGBoost
and scikit-learn are imported once), or as ``python -m dockyard.algorithms.<name>`` in a
subprocess exactly as the runner starts it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

SRC = Path(__file__).resolve().parents[4] / "src"


@dataclass
class Result:
    """What a run left behind."""

    status: int
    out: str
    err: str
    root: Path

    @property
    def failure(self) -> str | None:
        path = self.root / "output" / "failure"
        return path.read_text() if path.exists() else None

    @property
    def model_dir(self) -> Path:
        return self.root / "model"


@dataclass
class Job:
    """A job directory laid out as SageMaker's ``/opt/ml``."""

    root: Path
    channels: list[str] = field(default_factory=list)

    def environ(self) -> dict[str, str]:
        env = {
            "SM_MODEL_DIR": str(self.root / "model"),
            "SM_OUTPUT_DIR": str(self.root / "output"),
            "SM_OUTPUT_DATA_DIR": str(self.root / "output" / "data"),
            "SM_INPUT_CONFIG_DIR": str(self.root / "input" / "config"),
            "SM_CHANNELS": json.dumps(self.channels),
            "SM_NUM_CPUS": "1",
            "SM_CURRENT_HOST": "algo-1",
        }
        for name in self.channels:
            env[f"SM_CHANNEL_{name.upper()}"] = str(self.root / "input" / "data" / name)
        return env

    def run(self, algorithm: str, capsys: pytest.CaptureFixture[str]) -> Result:
        """Run in this process, as ``main()`` would."""
        from dockyard.algorithms import _contract

        module = _module(algorithm)
        capsys.readouterr()
        status = _contract.run(
            module.train, algorithm=algorithm, environ=self.environ(), cwd=self.root
        )
        captured = capsys.readouterr()
        return Result(status, captured.out, captured.err, self.root)

    def run_process(self, algorithm: str) -> Result:
        """Run as the runner does: ``python -m`` in the job directory."""
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SM_")},
            **self.environ(),
            "PYTHONPATH": str(SRC),
        }
        module = "dockyard.algorithms." + algorithm.replace("-", "_")
        proc = subprocess.run(
            [sys.executable, "-m", module],
            check=False,
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr, self.root)


def _module(algorithm: str) -> Any:
    if algorithm == "xgboost":
        from dockyard.algorithms import xgboost

        return xgboost
    from dockyard.algorithms import linear_learner

    return linear_learner


Files = Mapping[str, str | bytes]
MakeJob = Callable[..., Job]


@pytest.fixture
def make_job(tmp_path: Path) -> MakeJob:
    """``make_job(hyperparameters, train={"a.csv": text}, validation=..., content_types=...)``."""

    def make(
        hyperparameters: Mapping[str, str],
        content_types: Mapping[str, str] | None = None,
        **channels: Files,
    ) -> Job:
        root = tmp_path / "job"
        config = root / "input" / "config"
        config.mkdir(parents=True)
        (config / "hyperparameters.json").write_text(json.dumps(dict(hyperparameters)))
        types = content_types or {}
        data_config = {
            name: {"ContentType": types.get(name, "text/csv"), "TrainingInputMode": "File"}
            for name in channels
        }
        (config / "inputdataconfig.json").write_text(json.dumps(data_config))
        for name, files in channels.items():
            folder = root / "input" / "data" / name
            folder.mkdir(parents=True)
            for filename, content in files.items():
                path = folder / filename
                path.parent.mkdir(parents=True, exist_ok=True)
                if isinstance(content, bytes):
                    path.write_bytes(content)
                else:
                    path.write_text(content)
        (root / "model").mkdir()
        return Job(root, list(channels))

    return make


def csv_text(labels: np.ndarray[Any, Any], features: np.ndarray[Any, Any]) -> str:
    """SageMaker's training CSV: label first, no header."""
    rows = np.column_stack([labels, features])
    return "\n".join(",".join(repr(float(v)) for v in row) for row in rows) + "\n"


@dataclass(frozen=True)
class Split:
    """A regression data set split three ways."""

    train: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]
    validation: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]
    test: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]


def _split(x: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> Split:
    n = len(y)
    a, b = int(n * 0.6), int(n * 0.8)
    return Split((x[:a], y[:a]), (x[a:b], y[a:b]), (x[b:], y[b:]))


@pytest.fixture(scope="session")
def nonlinear() -> Split:
    """y = 3 x0 - 2 x1 + x2^2 + small noise: trees fit it well, a mean predictor does not."""
    rng = np.random.default_rng(7)
    x = rng.uniform(-2, 2, size=(600, 4))
    y = 3 * x[:, 0] - 2 * x[:, 1] + x[:, 2] ** 2 + rng.normal(0, 0.1, 600)
    return _split(x, y)


@pytest.fixture(scope="session")
def linear() -> Split:
    """y = x @ w + 5 + small noise, with features on very different scales."""
    rng = np.random.default_rng(11)
    x = rng.normal(size=(500, 3)) * np.array([1.0, 10.0, 0.1])
    y = x @ np.array([2.0, -0.3, 15.0]) + 5 + rng.normal(0, 0.05, 500)
    return _split(x, y)


@pytest.fixture(scope="session")
def binary() -> Split:
    """Labels 0/1 from a linear rule with a little label noise."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(600, 3))
    y = ((x @ np.array([1.5, -2.0, 0.5]) + rng.normal(0, 0.3, 600)) > 0).astype(float)
    return _split(x, y)
