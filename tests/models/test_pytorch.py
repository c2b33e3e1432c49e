"""The PyTorch flavor with the real torch: save, load, signatures, formats, integrity, MLflow.

Skipped where torch is not installed (``make install-test`` installs the CPU wheel from
``/opt/wheels`` when the machine has it).
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from dockyard.errors import InvalidArgument, ModelError
from dockyard.models import save_model
from dockyard.models.pyfunc import load_model

torch = pytest.importorskip(
    "torch", reason="torch is not installed (make install-test adds it from /opt/wheels)"
)
nn = torch.nn


class MLP(nn.Module):
    """Dropout and batch norm: predictions differ between train and eval mode."""

    def __init__(self, features: int = 4, classes: int = 3) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(features, 16),
            nn.BatchNorm1d(16),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(16, classes),
        )

    def forward(self, x: Any) -> Any:
        return self.net(x)


class TwoHeads(nn.Module):
    def forward(self, x: Any) -> Any:
        return x * 2, x * 3


def trained_mlp() -> MLP:
    torch.manual_seed(0)
    model = MLP()
    x = torch.randn(64, 4)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()
    optimiser = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(20):
        optimiser.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimiser.step()
    return model  # still in training mode, as a training loop leaves it


def eval_outputs(model: Any, x: Any) -> np.ndarray[Any, Any]:
    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = model(torch.from_numpy(np.array(x, dtype=np.float32))).numpy()
    model.train(was_training)
    return np.asarray(out)


def run_python(code: str, *args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
        cwd=cwd,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_module_loads_and_predicts_as_the_module_in_eval_mode(tmp_path: Path) -> None:
    model = trained_mlp()
    x = torch.randn(6, 4)
    info = save_model(model, tmp_path / "m", input_example=x)
    assert model.training, "saving must not change the caller's module mode"
    spec = info.signature.inputs.tensors[0]  # type: ignore[union-attr]
    assert (spec.dtype, spec.shape) == ("float32", (-1, 4))
    outputs = info.signature.outputs.tensors[0]  # type: ignore[union-attr]
    assert (outputs.dtype, outputs.shape) == ("float32", (-1, 3))
    assert any(line.startswith("torch==") for line in info.requirements)

    loaded = load_model(tmp_path / "m")
    assert loaded.metadata.flavor == "pytorch"
    assert loaded.metadata.library_version == torch.__version__
    assert not loaded.unwrap().training
    rows = np.random.default_rng(3).normal(size=(50, 4))
    expected = eval_outputs(model, rows)
    # float64 rows (what JSON gives) reach the float32 module as float32: exactly equal.
    np.testing.assert_array_equal(loaded.predict(rows), expected)
    np.testing.assert_array_equal(loaded.predict(torch.from_numpy(rows).float()), expected)
    np.testing.assert_array_equal(loaded.predict(rows.tolist()), expected)
    np.testing.assert_array_equal(loaded.predict(rows), loaded.predict(rows))  # dropout off
    assert loaded.predict(rows).dtype == np.float32


def test_a_tensor_that_requires_grad_is_a_fine_example(tmp_path: Path) -> None:
    model = trained_mlp()
    x = torch.randn(3, 4, requires_grad=True)
    save_model(model, tmp_path / "m", input_example=x)
    example = load_model(tmp_path / "m").input_example()
    np.testing.assert_allclose(example, x.detach().numpy(), rtol=1e-6)


def test_data_frame_example_gives_column_signature(tmp_path: Path) -> None:
    model = trained_mlp()
    frame = pd.DataFrame(np.random.default_rng(1).normal(size=(8, 4)), columns=list("abcd"))
    info = save_model(model, tmp_path / "m", input_example=frame)
    assert info.signature is not None
    assert [(c.name, c.type) for c in info.signature.inputs.columns] == [
        (n, "double") for n in "abcd"
    ]
    loaded = load_model(tmp_path / "m")
    expected = eval_outputs(model, frame.to_numpy())
    np.testing.assert_array_equal(loaded.predict(frame), expected)
    # Columns are taken by name, in signature order, whatever order they arrive in.
    np.testing.assert_array_equal(loaded.predict(frame[["d", "c", "b", "a"]]), expected)
    with pytest.raises(InvalidArgument, match="missing column 'd'"):
        loaded.predict(frame[["a", "b", "c"]])


def test_numpy_example_and_bad_shapes_name_the_input(tmp_path: Path) -> None:
    class Conv(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3, padding=1)
            self.head = nn.Linear(2 * 8 * 8, 5)

        def forward(self, x: Any) -> Any:
            return self.head(torch.relu(self.conv(x)).flatten(1))

    model = Conv()
    images = np.random.default_rng(2).random((3, 1, 8, 8)).astype(np.float32)
    info = save_model(model, tmp_path / "m", input_example=images)
    assert info.signature.inputs.tensors[0].shape == (-1, 1, 8, 8)  # type: ignore[union-attr]
    loaded = load_model(tmp_path / "m")
    assert loaded.predict(images).shape == (3, 5)
    with pytest.raises(InvalidArgument, match=r"tensor 'input': expected shape \[-1, 1, 8, 8\]"):
        loaded.predict(images.reshape(3, 64))
    with pytest.raises(InvalidArgument, match="expected float32, received bool"):
        loaded.predict(images > 0.5)


def test_integer_inputs_keep_their_dtype(tmp_path: Path) -> None:
    class Bag(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.EmbeddingBag(10, 3, mode="sum")

        def forward(self, tokens: Any) -> Any:
            return self.embed(tokens)

    model = Bag()
    tokens = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int64)
    save_model(model, tmp_path / "m", input_example=tokens)
    loaded = load_model(tmp_path / "m")
    with torch.no_grad():
        expected = model(torch.from_numpy(tokens)).numpy()
    np.testing.assert_array_equal(loaded.predict([[1, 2, 3], [4, 5, 6]]), expected)
    with pytest.raises(InvalidArgument, match="floats are not cast to integers"):
        loaded.predict(tokens.astype(np.float64))


def test_dict_outputs_are_named_and_tuples_are_refused(tmp_path: Path) -> None:
    class Named(nn.Module):
        def forward(self, x: Any) -> Any:
            return {"double": x * 2, "sum": x.sum(dim=1)}

    x = np.ones((2, 3), dtype=np.float32)
    save_model(Named(), tmp_path / "named", input_example=x)
    out = load_model(tmp_path / "named").predict(x)
    assert set(out) == {"double", "sum"}
    np.testing.assert_array_equal(out["sum"], [3.0, 3.0])
    with pytest.raises(ModelError, match="returned a tuple"):
        save_model(TwoHeads(), tmp_path / "tuple", input_example=x)


TRAIN_SCRIPT = """
import sys
import torch
from torch import nn
from dockyard.models import save_model

class Net(nn.Module):  # defined in the script, as a course's train.py does
    def __init__(self):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))

    def forward(self, x):
        return self.fc(x)

torch.manual_seed(0)
net = Net()
save_model(net, sys.argv[1], input_example=torch.randn(4, 4))
with torch.no_grad():
    print(net.eval()(torch.ones(2, 4)).tolist())
"""

LOAD_SCRIPT = """
import json, sys
import numpy as np
from dockyard.models import load_model

model = load_model(sys.argv[1])
print(json.dumps(model.predict(np.ones((2, 4), dtype=np.float32)).tolist()))
"""


def test_a_class_from_the_training_script_loads_in_another_process(tmp_path: Path) -> None:
    trained = json.loads(run_python(TRAIN_SCRIPT, str(tmp_path / "m")))
    assert json.loads(run_python(LOAD_SCRIPT, str(tmp_path / "m"))) == trained


def test_classes_from_user_files_load_with_code_paths(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "nets.py").write_text(
        "import torch\n\n"
        "class Tiny(torch.nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = torch.nn.Linear(4, 2)\n\n"
        "    def forward(self, x):\n"
        "        return self.fc(x)\n"
    )
    save = (
        "import sys, torch\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "from nets import Tiny\n"
        "from dockyard.models import save_model\n"
        "code = [sys.argv[1] + '/nets.py'] if sys.argv[3] == 'code' else None\n"
        "save_model(Tiny(), sys.argv[2], input_example=torch.ones(2, 4), code_paths=code)\n"
    )
    run_python(save, str(source), str(tmp_path / "with"), "code")
    run_python(save, str(source), str(tmp_path / "without"), "none")
    out = json.loads(run_python(LOAD_SCRIPT, str(tmp_path / "with")))
    assert np.asarray(out).shape == (2, 2)
    failing = subprocess.run(
        [sys.executable, "-c", LOAD_SCRIPT, str(tmp_path / "without")],
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )
    assert failing.returncode != 0
    assert "needs the module 'nets', which is not importable" in failing.stderr
    assert "code_paths" in failing.stderr


class _Planted:
    """Unpickling this creates a file: proof that a pickle ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> Any:
        return (Path.touch, (self.marker,))


def test_a_swapped_model_file_is_refused_before_it_is_unpickled(tmp_path: Path) -> None:
    save_model(trained_mlp(), tmp_path / "m", input_example=torch.randn(2, 4))
    marker = tmp_path / "pwned"
    data = tmp_path / "m" / "data" / "model.pth"
    # A real torch archive whose pickle runs code: what an attacker would put there.
    torch.save(_Planted(marker), data, pickle_module=pickle)
    with pytest.raises(InvalidArgument, match=r"model\.pth was changed") as caught:
        load_model(tmp_path / "m")
    assert caught.value.details["file"] == "data/model.pth"
    assert not marker.exists()


def test_exported_program_is_saved_as_pt2_and_loads_without_its_class(tmp_path: Path) -> None:
    model = trained_mlp().eval()
    x = torch.randn(5, 4)
    program = torch.export.export(model, (x,), dynamic_shapes=({0: torch.export.Dim.AUTO},))
    save_model(program, tmp_path / "m", input_example=x)
    assert sorted(p.name for p in (tmp_path / "m" / "data").iterdir()) == ["model.pt2"]
    manifest = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())
    assert manifest["flavors"]["pytorch"]["serialization_format"] == "pt2"
    # A fresh interpreter has no MLP class: the exported graph needs none.
    out = json.loads(run_python(LOAD_SCRIPT, str(tmp_path / "m")))
    np.testing.assert_allclose(out, eval_outputs(model, np.ones((2, 4))), rtol=1e-5, atol=1e-6)
    assert load_model(tmp_path / "m").predict(np.ones((7, 4))).shape == (7, 3)


def test_exported_program_with_a_fixed_batch_is_refused(tmp_path: Path) -> None:
    program = torch.export.export(trained_mlp().eval(), (torch.randn(5, 4),))
    with pytest.raises(InvalidArgument, match=r"takes exactly 5 rows in input 'x'.*Dim.AUTO"):
        save_model(program, tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_scripted_module_is_saved_as_torchscript(tmp_path: Path) -> None:
    model = trained_mlp().net.eval()  # TorchScript reads annotations: script the Sequential
    with warnings.catch_warnings():  # the test's own call: torch deprecates TorchScript
        warnings.simplefilter("ignore", DeprecationWarning)
        scripted = torch.jit.script(model)
    save_model(scripted, tmp_path / "m", input_example=torch.randn(3, 4))
    with zipfile.ZipFile(tmp_path / "m" / "data" / "model.pth") as archive:
        assert any(name.endswith("constants.pkl") for name in archive.namelist())
    out = json.loads(run_python(LOAD_SCRIPT, str(tmp_path / "m")))
    np.testing.assert_allclose(out, eval_outputs(model, np.ones((2, 4))), rtol=1e-5, atol=1e-6)


def test_objects_that_are_not_modules_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match=r"saves a torch\.nn\.Module or a torch\.export"):
        save_model(torch.ones(3), tmp_path / "m", flavor="pytorch")


@pytest.fixture(scope="module")
def mlflow() -> Any:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Any type hint is inferred")
        import mlflow.pyfunc
        import mlflow.pytorch

    return mlflow


def test_mlflow_and_dockyard_load_each_others_pytorch_packages(
    mlflow: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    model = trained_mlp().eval()
    rows = np.random.default_rng(5).normal(size=(6, 4)).astype(np.float32)
    expected = eval_outputs(model, rows)
    save_model(model, tmp_path / "ours", input_example=rows)
    theirs = mlflow.pyfunc.load_model(str(tmp_path / "ours"))
    np.testing.assert_array_equal(np.asarray(theirs.predict(rows)), expected)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mlflow warns about pickles and pip inference
        mlflow.pytorch.save_model(model, str(tmp_path / "mlflow"), input_example=rows)
    loaded = load_model(tmp_path / "mlflow", allow_unverified=True)
    assert loaded.metadata.flavor == "pytorch"
    np.testing.assert_array_equal(loaded.predict(rows), expected)


def test_torch_stays_out_of_processes_that_load_other_flavors(tmp_path: Path) -> None:
    from sklearn.linear_model import LinearRegression

    x = np.random.default_rng(0).normal(size=(20, 3))
    save_model(LinearRegression().fit(x, x.sum(axis=1)), tmp_path / "m", input_example=x[:3])
    code = """
        import sys
        import dockyard.models, dockyard.runtime.serving.worker, dockyard.runtime.batch._worker
        from dockyard.models import load_model
        load_model(sys.argv[1]).predict([[1.0, 2.0, 3.0]])
        print("torch" in sys.modules)
    """
    env_free = run_python(code, str(tmp_path / "m"))
    assert env_free.strip() == "False"


def test_signature_params_become_forward_keywords(tmp_path: Path) -> None:
    from dockyard.models import infer_signature

    class Tempered(nn.Module):
        def forward(self, x: Any, temperature: float = 1.0) -> Any:
            return torch.softmax(x / temperature, dim=1)

    x = np.array([[1.0, 2.0, 3.0]], dtype=np.float32)
    signature = infer_signature(x, params={"temperature": 1.0})
    save_model(Tempered(), tmp_path / "m", signature=signature)
    model = load_model(tmp_path / "m")
    sharp, flat = model.predict(x), model.predict(x, params={"temperature": 100.0})
    assert sharp[0, 2] > 0.6 and abs(flat[0, 2] - 1 / 3) < 0.01
    with pytest.raises(InvalidArgument, match="unknown param 'temp'"):
        model.predict(x, params={"temp": 2.0})


@pytest.mark.parametrize("dtype", ["float64", "bfloat16"])
def test_modules_of_other_float_dtypes_get_inputs_of_their_dtype(
    tmp_path: Path, dtype: str
) -> None:
    torch.manual_seed(0)
    linear = nn.Linear(3, 2).to(getattr(torch, dtype))
    save_model(linear, tmp_path / "m", input_example=np.ones((2, 3), dtype=np.float32))
    out = load_model(tmp_path / "m").predict(np.ones((4, 3)))
    with torch.no_grad():
        expected = linear(torch.ones(4, 3, dtype=linear.weight.dtype)).float().numpy()
    assert out.dtype == (np.float64 if dtype == "float64" else np.float32)
    np.testing.assert_array_equal(out.astype(np.float32), expected)


def test_a_state_dict_in_place_of_the_module_is_named(tmp_path: Path) -> None:
    from dockyard.models import seal

    model = trained_mlp()
    save_model(model, tmp_path / "m", input_example=torch.randn(2, 4))
    torch.save(model.state_dict(), tmp_path / "m" / "data" / "model.pth")
    seal(tmp_path / "m")  # as someone adopting the folder would: the digests now match
    with pytest.raises(InvalidArgument, match=r"holds a OrderedDict, not a torch\.nn\.Module"):
        load_model(tmp_path / "m")
