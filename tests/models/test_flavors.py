"""Every flavor saves, loads and predicts under its signature; bad packages are refused clearly."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from dockyard.errors import InvalidArgument
from dockyard.models import save_model, seal
from dockyard.models.flavors.python_model import PythonModel
from dockyard.models.pyfunc import load_model


@pytest.mark.parametrize("name", ["sklearn", "xgboost", "lightgbm"])
def test_tabular_flavors_match_native_predict_and_enforce_signature(
    name: str, packages: dict[str, Path], frame: pd.DataFrame, request: pytest.FixtureRequest
) -> None:
    native = request.getfixturevalue(
        {"sklearn": "sklearn_model", "xgboost": "xgb_model", "lightgbm": "lgbm_model"}[name]
    )
    model = load_model(packages[name])
    assert model.metadata.flavor == name
    np.testing.assert_array_equal(model.predict(frame), native.predict(frame))
    with pytest.raises(InvalidArgument, match="column 'b': expected long, received double"):
        model.predict(frame.assign(b=frame["b"] + 0.5))


def test_xgboost_booster(tmp_path: Path, xgb_model: Any, frame: pd.DataFrame) -> None:
    import xgboost

    booster = xgb_model.get_booster()
    save_model(booster, tmp_path / "m", input_example=frame.head(3))
    model = load_model(tmp_path / "m")
    assert type(model.unwrap()).__name__ == "Booster"
    expected = booster.predict(xgboost.DMatrix(frame))
    np.testing.assert_allclose(model.predict(frame), expected)


def test_booster_arrays_predict_in_place_as_a_dmatrix_would() -> None:
    import xgboost

    from dockyard.models.flavors.xgboost import BoosterPredictor

    rng = np.random.default_rng(1)
    train = rng.normal(size=(300, 3))
    labels = (train[:, 0] + train[:, 1] > 0).astype(int)
    params = {"objective": "binary:logistic", "max_depth": 3}
    booster = xgboost.train(params, xgboost.DMatrix(train, label=labels), num_boost_round=10)
    data = rng.normal(size=(500, 3))
    data[::7, 1] = np.nan  # missing values take the same branch both ways
    predictor = BoosterPredictor(booster)
    expected = booster.predict(xgboost.DMatrix(data))
    np.testing.assert_array_equal(predictor.predict(data, None), expected)
    np.testing.assert_array_equal(predictor.predict(data.astype(np.float32), {}), expected)
    # Booster.predict's own keywords still work (they go through a DMatrix).
    margins = predictor.predict(data, {"output_margin": True})
    np.testing.assert_array_equal(
        margins, booster.predict(xgboost.DMatrix(data), output_margin=True)
    )
    assert not np.array_equal(margins, expected)


def test_booster_frames_predict_in_place_and_keep_the_feature_name_check(xgb_model: Any) -> None:
    import xgboost

    from dockyard.models.flavors.xgboost import BoosterPredictor

    booster = xgb_model.get_booster()  # trained on a DataFrame: it knows columns a, b, c
    frame = pd.DataFrame(np.random.default_rng(2).normal(size=(200, 3)), columns=["a", "b", "c"])
    predictor = BoosterPredictor(booster)
    expected = booster.predict(xgboost.DMatrix(frame))
    np.testing.assert_array_equal(predictor.predict(frame, None), expected)
    with pytest.raises(ValueError, match="feature_names mismatch"):
        predictor.predict(frame.rename(columns={"c": "z"}), None)


_PRELOAD = """
import json, sys
import numpy as np
from dockyard.models import load_model
from dockyard.models.pyfunc import preload_libraries
preload_libraries(sys.argv[1], dedicated=sys.argv[2] == "dedicated")
imported = "sklearn" in sys.modules
model = load_model(sys.argv[1])
prediction = model.predict(np.zeros((2, 3))).tolist()
import sklearn  # still importable afterwards
print(json.dumps({"sklearn": imported, "prediction": prediction}))
"""


@pytest.mark.parametrize(
    ("kind", "mode", "imports_sklearn"),
    [
        ("booster", "dedicated", False),
        ("booster", "shared", True),
        ("classifier", "dedicated", False),  # it predicts through its Booster
        ("classifier", "shared", True),
    ],
)
def test_dedicated_preload_leaves_scikit_learn_out(
    tmp_path: Path, xgb_model: Any, kind: str, mode: str, imports_sklearn: bool
) -> None:
    model = xgb_model.get_booster() if kind == "booster" else xgb_model
    example = pd.DataFrame(np.ones((3, 3)), columns=["a", "b", "c"])
    save_model(model, tmp_path / "m", input_example=example)
    expected = load_model(tmp_path / "m").predict(np.zeros((2, 3))).tolist()
    argv = [sys.executable, "-c", _PRELOAD, str(tmp_path / "m"), mode]
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report == {"sklearn": imports_sklearn, "prediction": expected}


def test_lightgbm_booster_is_saved_as_text(
    tmp_path: Path, lgbm_model: Any, frame: pd.DataFrame
) -> None:
    booster = lgbm_model.booster_
    save_model(booster, tmp_path / "m", input_example=frame.head(3))
    assert (tmp_path / "m" / "model.lgb").read_text().startswith("tree")
    np.testing.assert_allclose(load_model(tmp_path / "m").predict(frame), booster.predict(frame))


def test_onnx_graph(tmp_path: Path) -> None:
    import onnxruntime
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.linear_model import LinearRegression

    x = np.random.default_rng(1).random((50, 3)).astype(np.float32)
    regression = LinearRegression().fit(x, x.sum(axis=1))
    graph = convert_sklearn(regression, initial_types=[("x", FloatTensorType([None, 3]))])
    save_model(graph, tmp_path / "m", input_example=x[:2])
    model = load_model(tmp_path / "m")
    session = onnxruntime.InferenceSession(
        graph.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    np.testing.assert_allclose(model.predict(x), session.run(None, {"x": x})[0])
    np.testing.assert_allclose(model.predict(x.astype(np.float64)), session.run(None, {"x": x})[0])
    with pytest.raises(InvalidArgument, match=r"expected shape \[-1, 3\]"):
        model.predict(x[:, :2])


def test_pytorch_module(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    module = torch.nn.Linear(3, 1)
    x = np.random.default_rng(1).random((4, 3)).astype(np.float32)
    save_model(module, tmp_path / "m", input_example=x)
    model = load_model(tmp_path / "m")
    with torch.no_grad():
        expected = module(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model.predict(x), expected)


class Doubler(PythonModel):
    def predict(self, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> Any:
        factor = (params or {}).get("factor", 2)
        return model_input["a"].to_numpy() * factor


def test_python_model_with_params(tmp_path: Path) -> None:
    from dockyard.models import infer_signature

    example = pd.DataFrame({"a": [1.0, 2.0]})
    signature = infer_signature(example, params={"factor": 2})
    save_model(Doubler(), tmp_path / "m", input_example=example, signature=signature)
    model = load_model(tmp_path / "m")
    assert model.predict(example).tolist() == [2.0, 4.0]
    assert model.predict(example, params={"factor": 3}).tolist() == [3.0, 6.0]
    with pytest.raises(InvalidArgument, match="unknown param 'factr'"):
        model.predict(example, params={"factr": 3})


def test_python_model_code_paths_and_artifacts_load_in_a_fresh_interpreter(tmp_path: Path) -> None:
    code = tmp_path / "src" / "scaler_model.py"
    code.parent.mkdir()
    code.write_text(
        textwrap.dedent(
            """
            import json

            from dockyard.models import PythonModel


            class Scaler(PythonModel):
                def load_context(self, context):
                    with open(context.artifacts["config"]) as handle:
                        self.factor = json.load(handle)["factor"]

                def predict(self, model_input, params=None):
                    return model_input["a"].to_numpy() * self.factor
            """
        )
    )
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"factor": 10}))
    sys.path.insert(0, str(code.parent))
    try:
        from scaler_model import Scaler  # type: ignore[import-not-found]

        info = save_model(
            Scaler(),
            tmp_path / "m",
            input_example=pd.DataFrame({"a": [1.0]}),
            code_paths=[code],
            artifacts={"config": config},
        )
    finally:
        sys.path.remove(str(code.parent))
        sys.modules.pop("scaler_model", None)
    assert info.flavor == "python_model"
    assert (tmp_path / "m" / "code" / "scaler_model.py").is_file()
    assert (tmp_path / "m" / "artifacts" / "config" / "config.json").is_file()
    config.write_text(json.dumps({"factor": -1}))  # the package keeps its own copy
    script = (
        "import sys\nfrom dockyard.models import load_model\n"
        "m = load_model(sys.argv[1])\nprint(m.predict({'a': [1.0, 2.0]}).tolist())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "m")],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert out.stdout.strip() == "[10.0, 20.0]"
    assert not list((tmp_path / "m").rglob("__pycache__"))  # loading wrote nothing into it


def test_unknown_flavor_and_undetectable_model_are_refused(
    tmp_path: Path, package_copy: Callable[[str], Path]
) -> None:
    with pytest.raises(InvalidArgument, match=re.escape("no flavor saves a builtins.object")):
        save_model(object(), tmp_path / "m")
    with pytest.raises(InvalidArgument, match="unknown flavor 'keras'"):
        save_model(object(), tmp_path / "m", flavor="keras")
    path = package_copy("sklearn")
    _edit(
        path,
        lambda body: body["flavors"]["python_function"].update(loader_module="mlflow.transformers"),
    )
    with pytest.raises(
        InvalidArgument, match=re.escape("unknown flavor: loader_module 'mlflow.transformers'")
    ):
        load_model(path)


@pytest.mark.parametrize(
    ("name", "key", "version", "message"),
    [
        ("sklearn", "sklearn_version", "0.24.2", r"needs sklearn 0\.24\.x \(saved with 0\.24\.2\)"),
        ("xgboost", "xgb_version", "99.0.0", r"needs xgboost 99\.x"),
        ("lightgbm", "lgb_version", "99.1.0", r"needs lightgbm 99\.x"),
    ],
    ids=["sklearn-minor", "xgboost-newer-major", "lightgbm-newer-major"],
)
def test_unsupported_library_version_is_refused_with_env_hint(
    package_copy: Callable[[str], Path], name: str, key: str, version: str, message: str
) -> None:
    path = package_copy(name)
    _edit(path, lambda body: body["flavors"][name].update({key: version}))
    with pytest.raises(InvalidArgument, match=message) as caught:
        load_model(path)
    assert "build_env" in caught.value.message
    assert caught.value.details["required"] == version


def test_older_xgboost_major_is_accepted(
    package_copy: Callable[[str], Path], frame: pd.DataFrame
) -> None:
    path = package_copy("xgboost")
    _edit(path, lambda body: body["flavors"]["xgboost"].update(xgb_version="2.1.0"))
    assert load_model(path).predict(frame.head(2)).shape == (2,)


def test_pickle_from_another_python_minor_is_refused(package_copy: Callable[[str], Path]) -> None:
    path = package_copy("sklearn")
    _edit(path, lambda body: body["flavors"]["python_function"].update(python_version="3.8.10"))
    with pytest.raises(InvalidArgument, match=re.escape("pickled under Python 3.8.10")):
        load_model(path)


def test_missing_library_is_refused_with_env_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # importing torch fails, installed or not
    path = tmp_path / "m"
    (path / "data").mkdir(parents=True)
    (path / "data" / "model.pth").write_bytes(b"never read")
    (path / "data" / "pickle_module_info.txt").write_text("cloudpickle")
    manifest = {
        "flavors": {
            "python_function": {"loader_module": "mlflow.pytorch", "data": "data"},
            "pytorch": {"model_data": "data", "pytorch_version": "2.5.1"},
        }
    }
    (path / "MLmodel").write_text(yaml.safe_dump(manifest))
    seal(path)
    with pytest.raises(
        InvalidArgument, match=re.escape("needs torch 2.5.1, which is not installed")
    ) as caught:
        load_model(path)
    assert "build_env" in caught.value.message


def _edit(path: Path, change: Callable[[dict[str, Any]], object]) -> None:
    """Change a package's manifest (digests cover the other files, so it still verifies)."""
    manifest = path / "MLmodel"
    body = yaml.safe_load(manifest.read_text())
    change(body)
    manifest.write_text(yaml.safe_dump(body))
