"""SageMaker's ``text/csv`` has no header: every line of the body is a row to score.

A script-mode job's model has no signature, so nothing says what a header would be: the first
line must never be dropped as one (two rows once gave one prediction, one row a 500).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sklearn.tree import DecisionTreeRegressor
from tests.runtime.serving.conftest import Running, config, running, variant

from dockyard.models import save_model

X = np.arange(40, dtype=np.float64).reshape(10, 4)
Y = X.sum(axis=1)


@pytest.fixture(scope="module")
def worker() -> Iterator[Running]:
    directory = Path(tempfile.mkdtemp(prefix="dy-"))
    model = DecisionTreeRegressor(random_state=0).fit(X, Y)
    save_model(model, directory / "bare")  # no example: no signature
    cfg = config(directory, [variant("bare", directory / "bare")])
    try:
        with running(cfg) as w:
            yield w
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _csv(rows: np.ndarray) -> bytes:
    return "".join(",".join(repr(float(v)) for v in row) + "\n" for row in rows).encode()


@pytest.mark.parametrize("n", [1, 2, 7])
def test_every_line_is_scored(worker: Running, n: int) -> None:
    response = worker.client.post(
        "/invocations", content=_csv(X[:n]), headers={"content-type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    # Answered in CSV, as asked (no Accept): one prediction per line, each line's own.
    assert [float(line) for line in response.text.splitlines()] == Y[:n].tolist()


def test_csv_out_has_one_line_per_input_line(worker: Running) -> None:
    response = worker.client.post(
        "/invocations",
        content=_csv(X[:3]).rstrip(b"\n"),  # no final newline either
        headers={"content-type": "text/csv", "accept": "text/csv"},
    )
    assert response.status_code == 200, response.text
    assert [float(v) for v in response.text.splitlines()] == Y[:3].tolist()
