"""Batch transform through a PyTorch model: worker processes (forked after importing torch),
sharded CSV, filters and join, bad records."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tests.runtime.batch.conftest import features, write_csv

from dockyard.api.batch import TransformSpec
from dockyard.models import save_model
from dockyard.models.pyfunc import load_model
from dockyard.runtime.batch import TransformResult

torch = pytest.importorskip(
    "torch", reason="torch is not installed (make install-test adds it from /opt/wheels)"
)

Run = Callable[..., TransformResult]
Lines = Callable[[str], list[str]]


@pytest.fixture(scope="module")
def mlp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A network over three named float columns a, b, c with two outputs."""
    import pandas as pd

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Dropout(0.3), torch.nn.Linear(8, 2)
    )
    example = pd.DataFrame(features(4), columns=["a", "b", "c"])
    path = tmp_path_factory.mktemp("batch-torch") / "model"
    save_model(net, path, input_example=example)
    return path


def test_csv_through_a_network_in_forked_workers(
    mlp: Path, tmp_path: Path, transform: Run, output_lines: Lines
) -> None:
    rows = features(600, seed=4)
    write_csv(tmp_path / "in" / "scores.csv", rows, ids=True)
    spec = TransformSpec(
        model_uri=str(mlp),
        input={"uri": str(tmp_path / "in"), "content_type": "text/csv"},
        output={"uri": str(tmp_path / "out")},
        data_processing={"input_filter": "$[1:]", "join_source": "Input"},
        max_concurrent_transforms=2,  # the second worker is forked after torch is imported
        shard_bytes=4_000,
    )
    result = transform(spec)
    assert result.status == "Completed"
    assert (result.records, result.bad_records) == (600, 0)
    assert result.shards_total > 2
    lines = output_lines("scores.csv.out")
    assert [int(line.split(",")[0]) for line in lines] == list(range(600))
    predicted = np.asarray([[float(v) for v in line.split(",")[-2:]] for line in lines])
    expected = load_model(mlp).predict(rows)
    # float32 outputs written as text: kernels may differ in the last bits with the batch size.
    np.testing.assert_allclose(predicted, expected, rtol=1e-5, atol=1e-6)


def test_bad_rows_are_skipped_and_named(
    mlp: Path, tmp_path: Path, transform: Run, output_lines: Lines
) -> None:
    good = features(20, seed=5)
    lines = [",".join(repr(float(v)) for v in row) for row in good]
    lines[7] = "1.0,oops,2.0"
    lines[12] = "1.0,2.0"
    (tmp_path / "in.csv").write_text("".join(f"{line}\n" for line in lines))
    spec: dict[str, Any] = {
        "model_uri": str(mlp),
        "input": {"uri": str(tmp_path / "in.csv"), "content_type": "text/csv"},
        "output": {"uri": str(tmp_path / "out")},
        "bad_records": {"on_error": "skip"},
    }
    result = transform(spec)
    assert (result.records, result.bad_records) == (18, 2)
    reported = {bad.line: bad.reason for bad in result.reported_bad_records}
    assert set(reported) == {8, 13}
    assert "column 'b'" in reported[8]
    assert reported[13] == "the record has 2 fields; the model's signature takes 3"
    assert len(output_lines("in.csv.out")) == 18


def test_csv_rows_of_flattened_images_through_a_cnn(
    tmp_path: Path, transform: Run, output_lines: Lines
) -> None:
    torch.manual_seed(1)
    cnn = torch.nn.Sequential(
        torch.nn.Conv2d(1, 3, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(3 * 3 * 3, 4),
        torch.nn.Softmax(dim=1),
    )
    save_model(cnn, tmp_path / "cnn", input_example=torch.rand(2, 1, 6, 6))
    images = np.round(np.random.default_rng(6).random((150, 36)), 4)
    write_csv(tmp_path / "images.csv", images)
    spec = TransformSpec(
        model_uri=str(tmp_path / "cnn"),
        input={"uri": str(tmp_path / "images.csv"), "content_type": "text/csv"},
        output={"uri": str(tmp_path / "out")},
        shard_bytes=3_000,
    )
    result = transform(spec)
    assert (result.records, result.bad_records) == (150, 0)
    predicted = np.asarray(
        [[float(v) for v in line.split(",")] for line in output_lines("images.csv.out")]
    )
    expected = load_model(tmp_path / "cnn").predict(images.reshape(-1, 1, 6, 6).astype(np.float32))
    assert predicted.shape == (150, 4)
    np.testing.assert_allclose(predicted, expected, rtol=1e-5, atol=1e-6)
