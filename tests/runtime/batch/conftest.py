"""Models, input files and a runner for the batch transform tests.

The models are small custom Python models (``batch_test_models.py``, shipped in each package as
code) so a worker process starts with numpy and pandas only; one XGBoost package covers a real
library flavor. Packages are saved once per session.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from dockyard.api.batch import TransformSpec
from dockyard.models import save_model
from dockyard.models.pyfunc import PyFuncModel, load_model
from dockyard.runtime.batch import TransformResult, run_transform
from dockyard.runtime.batch._config import MB, ShardTask, WorkerConfig
from dockyard.runtime.batch._worker import make_codec, run_shard

MODELS_SOURCE = '''
"""Test models for batch transform (shipped as code in each package)."""

import time

import numpy as np
import pandas as pd

from dockyard.models import PythonModel


class Linear(PythonModel):
    """y = X @ weights + bias; refuses a poison value, optionally sleeps per batch."""

    def __init__(self, weights, bias=0.0, poison=None, delay=0.0, outputs=1):
        self.weights = list(weights)
        self.bias = bias
        self.poison = poison
        self.delay = delay
        self.outputs = outputs

    def predict(self, model_input, params=None):
        if self.delay:
            time.sleep(self.delay)
        values = np.asarray(model_input, dtype=np.float64)
        if self.poison is not None and (values == self.poison).any():
            raise ValueError(f"poison value {self.poison} in the input")
        y = values @ np.asarray(self.weights) + self.bias
        if self.outputs == 1:
            return y
        return np.stack([y, -y], axis=1)


class Crash(PythonModel):
    """Ends its process in the middle of a predict call (a segfault, an OOM kill...)."""

    def predict(self, model_input, params=None):
        import os

        os._exit(3)


class BatchSize(PythonModel):
    """Predicts, for every row, the number of rows in its predict call."""

    def predict(self, model_input, params=None):
        return np.full(len(model_input), len(model_input), dtype=np.int64)
'''

WEIGHTS = (1.5, -2.0, 0.25)
COLUMNS = ("a", "b", "c")


def _models_module(root: Path) -> Any:
    path = root / "batch_test_models.py"
    path.write_text(MODELS_SOURCE)
    sys.path.insert(0, str(root))
    try:
        import batch_test_models  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(root))
    return batch_test_models


@pytest.fixture(scope="session", autouse=True)
def _worker_bytecode_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Let worker processes cache compiled bytecode for the session.

    Where site-packages hold no ``.pyc`` files and ``PYTHONDONTWRITEBYTECODE`` is set, every
    worker would compile pandas from source (seconds each); a cache outside the source tree
    keeps that to the first worker.
    """
    with pytest.MonkeyPatch.context() as env:
        env.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
        env.setenv("PYTHONPYCACHEPREFIX", str(tmp_path_factory.mktemp("pycache")))
        yield


@pytest.fixture(scope="session")
def example() -> pd.DataFrame:
    """Three float columns a, b, c."""
    rng = np.random.default_rng(7)
    return pd.DataFrame(rng.normal(size=(5, 3)), columns=list(COLUMNS))


@pytest.fixture(scope="session")
def packages(tmp_path_factory: pytest.TempPathFactory, example: pd.DataFrame) -> dict[str, Path]:
    """Saved packages by name (never modify them)."""
    root = tmp_path_factory.mktemp("batch-packages")
    module = _models_module(root)
    code = [root / "batch_test_models.py"]
    built = {
        "linear": (module.Linear(WEIGHTS, bias=0.5), example),
        "two_outputs": (module.Linear(WEIGHTS, outputs=2), example),
        "poison": (module.Linear(WEIGHTS, poison=-999.0), example),
        "slow": (module.Linear(WEIGHTS, delay=0.15), example),
        "batch_size": (module.BatchSize(), example),
        "crash": (module.Crash(), None),
        "tensor": (module.Linear(WEIGHTS), example.to_numpy()),
        "unsigned": (module.Linear(WEIGHTS), None),
    }
    out = {}
    for name, (model, sample) in built.items():
        save_model(model, root / name, input_example=sample, code_paths=code)
        out[name] = root / name
    return out


@pytest.fixture(scope="session")
def xgb_package(tmp_path_factory: pytest.TempPathFactory, example: pd.DataFrame) -> Path:
    """An XGBoost regressor over a, b, c."""
    import xgboost

    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(200, 3)), columns=list(COLUMNS))
    target = frame.to_numpy() @ np.asarray(WEIGHTS)
    model = xgboost.XGBRegressor(n_estimators=5, max_depth=2).fit(frame, target)
    path = tmp_path_factory.mktemp("batch-xgb") / "model"
    save_model(model, path, input_example=example)
    return path


def expected_linear(rows: np.ndarray[Any, Any], bias: float = 0.5) -> np.ndarray[Any, Any]:
    """What the ``linear`` package predicts for rows of a, b, c."""
    return rows @ np.asarray(WEIGHTS) + bias


def features(count: int, seed: int = 0) -> np.ndarray[Any, Any]:
    """``count`` rows of three features with short decimal text (exact to read back)."""
    rng = np.random.default_rng(seed)
    return np.round(rng.normal(size=(count, 3)), 4)


def write_csv(path: Path, rows: np.ndarray[Any, Any], *, ids: bool = False) -> list[str]:
    """Rows as CSV lines (with an id column first if ``ids``); returns the lines written."""
    lines = [
        (f"{i}," if ids else "") + ",".join(repr(float(v)) for v in row)
        for i, row in enumerate(rows)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines))
    return lines


def write_jsonl(path: Path, records: list[Any]) -> None:
    """One JSON value per line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


@pytest.fixture
def transform(tmp_path: Path) -> Callable[..., TransformResult]:
    """Run a transform with a fresh work directory (``work=`` to reuse one)."""

    def run(spec: TransformSpec | dict[str, Any], **options: Any) -> TransformResult:
        work = options.pop("work", tmp_path / "work")
        options.setdefault("env_manager", "local")
        return run_transform(spec, work, **options)

    return run


@pytest.fixture
def output_lines(tmp_path: Path) -> Callable[[str], list[str]]:
    """The lines of ``<tmp>/out/<name>``."""

    def read(name: str) -> list[str]:
        return (tmp_path / "out" / name).read_text().splitlines()

    return read


@pytest.fixture(scope="session")
def loaded(packages: dict[str, Path]) -> dict[str, PyFuncModel]:
    """Each package loaded once, for scoring shards in this process."""
    return {name: load_model(path) for name, path in packages.items()}


class Scored:
    """What scoring one file as a single shard produced."""

    def __init__(self, text: str, marker: dict[str, Any], messages: list[dict[str, Any]]) -> None:
        self.text = text
        self.lines = text.splitlines()
        self.marker = marker
        self.messages = messages

    @property
    def bad(self) -> list[tuple[int, str]]:
        """``(line, reason)`` of each reported bad record."""
        return [(b["line"], b["reason"]) for b in self.marker["reported"]]


@pytest.fixture
def score_file(tmp_path: Path, loaded: dict[str, PyFuncModel]) -> Callable[..., Scored]:
    """Score a whole file as one shard in this process (the worker's code, no process)."""

    def run(
        model: str | PyFuncModel, source: Path, *, kind: str = "lines", **settings: Any
    ) -> Scored:
        chosen = loaded[model] if isinstance(model, str) else model
        content_type = settings.pop("content_type", "text/csv")
        config = WorkerConfig(
            model_path=str(chosen.metadata.path),
            content_type=content_type,
            accept=settings.pop("accept", content_type),
            whole_file=settings.pop("whole_file", False),
            single_record=settings.pop("single_record", False),
            batch_bytes=settings.pop("batch_bytes", 6 * MB),
            max_record_bytes=settings.pop("max_record_bytes", 6 * MB),
            input_filter=settings.pop("input_filter", "$"),
            output_filter=settings.pop("output_filter", "$"),
            join=settings.pop("join", False),
            assemble_line=settings.pop("assemble_line", True),
            fail_fast=settings.pop("fail_fast", False),
            max_reported=settings.pop("max_reported", 100),
        )
        assert not settings, f"unknown settings {settings}"
        row_groups: tuple[int, ...] = ()
        if kind == "parquet":
            import pyarrow.parquet as pq

            row_groups = tuple(range(pq.ParquetFile(source).metadata.num_row_groups))
        size = source.stat().st_size
        task = ShardTask(
            shard_id="00000-00000",
            uri=str(source),
            path=str(source),
            kind=kind,  # type: ignore[arg-type]
            start=0,
            end=size if kind == "lines" else -1,
            first_line=1,
            row_groups=row_groups,
            part_path=str(tmp_path / "shard.part"),
            marker_path=str(tmp_path / "shard.json"),
            nbytes=size,
        )
        messages: list[dict[str, Any]] = []
        marker = run_shard(task, config, chosen, make_codec(config, chosen), messages.append)
        return Scored((tmp_path / "shard.part").read_text(), marker, messages)

    return run
