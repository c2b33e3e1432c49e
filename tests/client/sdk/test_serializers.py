"""What a Predictor sends: a DataFrame reaches the model as ``model.predict`` would take it."""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from tests.runtime.serving.conftest import Running, config, running, variant

import dockyard as dy
from dockyard.models import save_model

X = np.arange(12.0).reshape(4, 3)
Y = X @ np.array([1.0, 2.0, 3.0])


@pytest.fixture(scope="module")
def worker() -> Iterator[Running]:
    """A model whose signature names its columns as trainers make them up (f0, f1, f2)."""
    directory = Path(tempfile.mkdtemp(prefix="dy-"))
    example = pd.DataFrame(X[:2], columns=["f0", "f1", "f2"])
    model = LinearRegression().fit(pd.DataFrame(X, columns=example.columns), Y)
    save_model(model, directory / "made-up", input_example=example)
    try:
        with running(config(directory, [variant("made-up", directory / "made-up")])) as w:
            yield w
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_a_frame_read_without_a_header_is_scored_by_position(worker: Running) -> None:
    frame = pd.read_csv(io.StringIO("0,1,2\n3,4,5\n"), header=None)
    assert list(frame.columns) == [0, 1, 2]
    predictor = dy.Predictor(worker.url)
    try:
        np.testing.assert_allclose(predictor.predict(frame), Y[:2])
    finally:
        predictor.close()


def test_a_frame_with_other_names_is_still_refused_naming_the_column(worker: Running) -> None:
    frame = pd.DataFrame(X[:1], columns=["0", "1", "2"])  # text labels are names, not positions
    predictor = dy.Predictor(worker.url)
    try:
        with pytest.raises(dy.InvalidArgument, match="missing column 'f0'"):
            predictor.predict(frame)
    finally:
        predictor.close()
