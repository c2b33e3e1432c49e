"""``dockyard models`` in-process (click's runner) over the embedded default."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import dockyard as dy
from dockyard.client.cli import cli
from dockyard.client.sdk import reset_context
from dockyard.models.pyfunc import load_model
from dockyard.settings import Settings


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("DOCKYARD_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DOCKYARD_URI", raising=False)
    reset_context(Settings(home=tmp_path / "home"))
    yield CliRunner()
    reset_context(Settings(home=tmp_path / "home"))


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame({"a": rng.random(30), "b": rng.random(30)})


@pytest.fixture
def wine(runner: CliRunner, frame: pd.DataFrame) -> str:
    """A registered model ``wine`` with version 1, logged from a run; returns the run id."""
    from sklearn.linear_model import LinearRegression

    dy.set_experiment("cli-models")
    with dy.start_run() as run:
        dy.log_input(frame, name="train", context_name="training")
        dy.log_metric("rmse", 0.25)
        estimator = LinearRegression().fit(frame, frame["a"] * 2 + frame["b"])
        dy.log_model(estimator, "model", input_example=frame.head(3), registered_model_name="wine")
    return run.run_id


def _ok(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _json(runner: CliRunner, *args: str) -> Any:
    return json.loads(_ok(runner, *args, "--json"))


def test_list_show_alias_approve_lineage(runner: CliRunner, wine: str) -> None:
    table = _ok(runner, "models", "list")
    assert table.splitlines()[0].split() == ["NAME", "LATEST", "ALIASES", "UPDATED"]
    assert table.splitlines()[1].split()[:2] == ["wine", "1"]

    assert "models:/wine@champion -> version 1" in _ok(
        runner, "models", "alias", "wine", "champion", "1"
    )
    shown = _json(runner, "models", "show", "wine")
    assert shown["aliases"] == {"champion": 1} and [v["version"] for v in shown["versions"]] == [1]

    approved = _json(runner, "models", "approve", "wine", "1", "--comment", "holdout ok")
    me = f"local:{getpass.getuser()}"  # the embedded server acts as the user who runs it
    assert approved["approval"]["status"] == "Approved" and approved["approval"]["user"] == me
    detail = _ok(runner, "models", "show", "wine", "1")
    assert f"approval: Approved by {me}" in detail and "holdout ok" in detail

    lineage = _json(runner, "models", "lineage", "wine", "1")
    assert lineage["run"]["run_id"] == wine
    assert [(d["name"], d["context"]) for d in lineage["datasets"]] == [("train", "training")]
    human = _ok(runner, "models", "lineage", "wine", "1")
    assert f"run: {wine}" in human and "train" in human

    assert "removed alias" in _ok(runner, "models", "alias", "wine", "champion", "--delete")
    assert _json(runner, "models", "show", "wine")["aliases"] == {}


def test_register_a_local_folder(runner: CliRunner, wine: str, tmp_path: Path) -> None:
    local = dy.download_model("models:/wine/1")
    registered = _json(
        runner, "models", "register", str(local.path), "--name", "wine-copy", "--tag", "k=v"
    )
    assert registered["version"] == 1 and registered["digest"] == local.digest
    assert registered["tags"] == {"k": "v"} and registered["source"].startswith("runs:/")


def test_convert_registers_with_the_source_lineage(
    runner: CliRunner, wine: str, frame: pd.DataFrame, tmp_path: Path
) -> None:
    out = _json(
        runner,
        "models",
        "convert",
        "models:/wine/1",
        "--to",
        "onnx",
        "-o",
        str(tmp_path / "onnx"),
        "--register-as",
        "wine-onnx",
    )
    assert out["registered"] == "models:/wine-onnx/1"
    assert 0 <= out["max_abs_diff"] <= out["tolerance"] and out["rows_checked"] == 3
    onnx = dy.load_model("models:/wine-onnx/1")
    assert onnx.metadata.flavor == "onnx"
    np.testing.assert_allclose(
        onnx.predict(frame).reshape(-1), dy.load_model("models:/wine/1").predict(frame), atol=1e-4
    )
    assert _json(runner, "models", "lineage", "wine-onnx", "1")["run"]["run_id"] == wine


def test_convert_without_output_names_no_folder_it_removed(runner: CliRunner, wine: str) -> None:
    out = _json(runner, "models", "convert", "models:/wine/1", "--to", "onnx", "--register-as", "w")
    assert out["registered"] == "models:/w/1"
    assert out["path"] is None  # the temporary folder it was written to is gone


def test_a_logged_pytorch_model_converts_and_reports_the_difference(
    runner: CliRunner, tmp_path: Path
) -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed")
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(2 * 6 * 6, 3)
    )
    images = torch.randn(4, 1, 8, 8)
    dy.set_experiment("cli-torch")
    with dy.start_run():
        logged = dy.log_model(net, "model", input_example=images, registered_model_name="digits")
    assert logged.flavor == "pytorch"
    text = _ok(
        runner, "models", "convert", "models:/digits/1", "--to", "onnx", "-o", str(tmp_path / "o")
    )
    assert "max abs difference" in text and "on 4 rows (tolerance 0.0001)" in text
    converted = load_model(tmp_path / "o")
    batch = np.random.default_rng(0).normal(size=(9, 1, 8, 8)).astype(np.float32)
    expected = dy.load_model("models:/digits/1").predict(batch)
    np.testing.assert_allclose(converted.predict(batch), expected, atol=1e-5)


def test_build_image_and_env(
    runner: CliRunner, wine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = _json(runner, "models", "build-image", "models:/wine/latest", "-o", str(tmp_path / "ctx"))
    assert (tmp_path / "ctx" / "Dockerfile").is_file()
    assert load_model(
        tmp_path / "ctx" / "model", expected_digest=out["digest"]
    ).metadata.flavor == ("sklearn")

    # Building a real environment needs uv and wheels; what the command owes is to hand
    # build_env the verified, downloaded package and report where the environment is.
    seen: list[Path] = []

    def fake_build_env(path: Path) -> Path:
        seen.append(Path(path))
        return tmp_path / "env"

    monkeypatch.setattr("dockyard.models.build_env", fake_build_env)
    env = _json(runner, "models", "env", "models:/wine/1")
    assert env["python"] == str(tmp_path / "env" / "bin" / "python")
    assert (seen[0] / "MLmodel").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "nope"], "registered model 'nope' does not exist"),
        (["show", "wine", "x1"], "version must be a positive integer, got 'x1'"),
        (["alias", "wine", "champion", "9"], "has no version 9"),
        (["alias", "wine", "latest", "1"], "reserved"),
        (["convert", "models:/wine/1", "--to", "onnx"], "--output"),
        (["env", "models:/wine/stage"], "not a version number"),
        (["register", "/no/such/folder", "--name", "x"], "not a model package"),
    ],
    ids=[
        "unknown-model",
        "bad-version",
        "missing-version",
        "bad-alias",
        "no-output",
        "stage",
        "no-folder",
    ],
)
def test_errors_are_one_line(runner: CliRunner, wine: str, args: list[str], message: str) -> None:
    result = runner.invoke(cli, ["models", *args])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and message in result.output
    assert len(result.output.strip().splitlines()) == 1
