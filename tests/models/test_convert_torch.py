"""PyTorch packages export to ONNX, checked for equivalence, or are refused with the reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from dockyard.errors import InvalidArgument
from dockyard.models import DEFAULT_TOLERANCE, convert_to_onnx, save_model
from dockyard.models.pyfunc import load_model

torch = pytest.importorskip(
    "torch", reason="torch is not installed (make install-test adds it from /opt/wheels)"
)
nn = torch.nn


class CNN(nn.Module):
    """A small image classifier: convolution, batch norm, pooling, softmax."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2)
        )
        self.head = nn.Linear(4 * 4 * 4, 10)

    def forward(self, x: Any) -> Any:
        return torch.softmax(self.head(self.features(x).flatten(1)), dim=1)


def record_of(path: Path) -> dict[str, Any]:
    conversion: dict[str, Any] = yaml.safe_load((path / "MLmodel").read_text())["dockyard"][
        "conversion"
    ]
    return conversion


def test_cnn_converts_and_predicts_like_the_source_on_any_batch(tmp_path: Path) -> None:
    torch.manual_seed(0)
    images = torch.randn(5, 1, 8, 8)
    save_model(CNN(), tmp_path / "src", input_example=images)
    info = convert_to_onnx(tmp_path / "src", tmp_path / "onnx")  # checked on the example
    assert info.flavor == "onnx"
    record = record_of(tmp_path / "onnx")
    assert record["source_flavor"] == "pytorch"
    assert record["converter"].startswith("torch.onnx")
    assert record["rows_checked"] == 5
    assert 0 <= record["max_abs_diff"] <= 1e-6 < record["tolerance"] == DEFAULT_TOLERANCE

    source, converted = load_model(tmp_path / "src"), load_model(tmp_path / "onnx")
    assert converted.metadata.signature == source.metadata.signature
    for rows in (1, 33):  # the batch axis is dynamic
        batch = np.random.default_rng(rows).normal(size=(rows, 1, 8, 8)).astype(np.float32)
        np.testing.assert_allclose(converted.predict(batch), source.predict(batch), atol=1e-6)
    with pytest.raises(InvalidArgument, match=r"expected shape \[-1, 1, 8, 8\]"):
        converted.predict(np.zeros((2, 64), dtype=np.float32))


def test_column_model_converts_and_takes_the_same_columns(tmp_path: Path) -> None:
    torch.manual_seed(1)
    mlp = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    frame = pd.DataFrame(np.random.default_rng(0).normal(size=(40, 4)), columns=list("abcd"))
    save_model(mlp, tmp_path / "src", input_example=frame.head(3))
    convert_to_onnx(tmp_path / "src", tmp_path / "onnx", dataset=frame)
    assert record_of(tmp_path / "onnx")["rows_checked"] == 40
    converted = load_model(tmp_path / "onnx").predict(frame[["d", "c", "b", "a"]])
    np.testing.assert_allclose(converted, load_model(tmp_path / "src").predict(frame), atol=1e-6)


def test_difference_beyond_tolerance_is_refused_with_the_measure(tmp_path: Path) -> None:
    from tests.models._drifting import Drifting

    rows = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
    save_model(Drifting(), tmp_path / "src", input_example=rows)
    with pytest.raises(InvalidArgument, match="ONNX outputs differ from the source by") as caught:
        convert_to_onnx(tmp_path / "src", tmp_path / "onnx")  # the default tolerance, 1e-4
    assert caught.value.details["max_abs_diff"] > 1e-4
    assert not (tmp_path / "onnx").exists()


def test_refusals_give_the_reason(tmp_path: Path) -> None:
    class Pair(nn.Module):
        def forward(self, a: Any, b: Any) -> Any:
            return a + b

    class Named(nn.Module):
        def forward(self, x: Any) -> Any:
            return {"y": x * 2}

    x = np.ones((3, 2), dtype=np.float32)
    program = torch.export.export(
        nn.Linear(2, 1).eval(), (torch.ones(3, 2),), dynamic_shapes=({0: torch.export.Dim.AUTO},)
    )
    cases: list[tuple[Any, Any, str]] = [
        (Pair(), {"a": x, "b": x}, "several tensors (a, b)"),
        (Named(), x, "several outputs"),
        (program, x, "torch.export program (pt2) does not convert"),
        (nn.Linear(2, 1), None, "no input signature"),
    ]
    for index, (model, example, reason) in enumerate(cases):
        if isinstance(example, dict):
            from dockyard.models import infer_signature

            save_model(model, tmp_path / f"m{index}", signature=infer_signature(example))
        else:
            save_model(model, tmp_path / f"m{index}", input_example=example)
        with pytest.raises(InvalidArgument, match="cannot convert to ONNX") as caught:
            convert_to_onnx(tmp_path / f"m{index}", tmp_path / f"o{index}", dataset=example)
        assert reason in caught.value.message
