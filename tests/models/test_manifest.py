"""The MLmodel manifest: MLflow's layout, and clear errors for malformed ones."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from dockyard.errors import InvalidArgument, NotFound
from dockyard.models._manifest import parse_manifest
from dockyard.models.pyfunc import load_model


def test_saved_manifest_has_mlflow_layout_and_dockyard_section(packages: dict[str, Path]) -> None:
    body = yaml.safe_load((packages["sklearn"] / "MLmodel").read_text())
    assert body["flavors"]["python_function"]["loader_module"] == "mlflow.sklearn"
    assert body["flavors"]["sklearn"]["serialization_format"] == "cloudpickle"
    assert len(body["model_uuid"]) == 32
    assert isinstance(body["signature"]["inputs"], str)  # JSON strings, as MLflow stores them
    assert body["saved_input_example_info"]["type"] == "dataframe"
    assert "mlflow_version" not in body
    section = body["dockyard"]
    assert section["flavor"] == "sklearn"
    assert section["version"]
    assert set(section["digests"]) == {
        "model.pkl",
        "requirements.txt",
        "python_env.yaml",
        "conda.yaml",
        "input_example.json",
        "serving_input_example.json",
    }


def test_unknown_keys_survive_a_round_trip() -> None:
    text = b"flavors: {sklearn: {pickled_model: m.pkl}}\nmlflow_version: 3.17.2\nmetadata: {a: 1}\n"
    manifest = parse_manifest(text)
    again = yaml.safe_load(manifest.to_yaml())
    assert again["mlflow_version"] == "3.17.2"
    assert again["metadata"] == {"a": 1}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("flavors: [unclosed", "not valid YAML"),
        ("- a list\n", "must be a YAML mapping"),
        ("model_uuid: x\n", "non-empty 'flavors' mapping"),
        ("flavors: {sklearn: 3}\n", "flavors.sklearn must be a mapping"),
        (
            "flavors: {sklearn: {}}\nsignature: {inputs: '[{'}\n",
            "signature.inputs is not valid JSON",
        ),
        (
            'flavors: {sklearn: {}}\nsignature: {inputs: \'[{"type": "complex"}]\'}\n',
            "unknown column type 'complex'",
        ),
        ("flavors: {sklearn: {}}\ndockyard: {digests: {a: nothex}}\n", "needs a sha256 hex digest"),
        (
            "flavors: {sklearn: {}}\ndockyard: {digests: {../x: '" + "0" * 64 + "'}}\n",
            "not a plain relative path",
        ),
        ("flavors: {sklearn: {}}\ndockyard: {format: 99}\n", "newer than this Dockyard reads"),
    ],
    ids=[
        "bad-yaml",
        "not-mapping",
        "no-flavors",
        "flavor-not-mapping",
        "signature-json",
        "unknown-column-type",
        "bad-digest",
        "path-traversal",
        "future-format",
    ],
)
def test_malformed_manifest_is_refused_naming_the_problem(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        parse_manifest(text.encode())


def test_missing_package_or_manifest_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no model package"):
        load_model(tmp_path / "nowhere")
    with pytest.raises(NotFound, match="has no MLmodel"):
        load_model(tmp_path)


def test_manifest_file_reference_outside_the_package_is_refused(
    package_copy: Callable[[str], Path],
) -> None:
    path = package_copy("xgboost")
    manifest = path / "MLmodel"
    body = yaml.safe_load(manifest.read_text())
    body["flavors"]["xgboost"]["data"] = "../../etc/passwd"
    manifest.write_text(yaml.safe_dump(body))
    with pytest.raises(
        InvalidArgument, match=re.escape("flavors.xgboost.data: '../../etc/passwd' is not a plain")
    ):
        load_model(path)


def test_manifest_cannot_name_arbitrary_classes(package_copy: Callable[[str], Path]) -> None:
    path = package_copy("xgboost")
    manifest = path / "MLmodel"
    body = yaml.safe_load(manifest.read_text())
    body["flavors"]["xgboost"]["model_class"] = "os.system"
    manifest.write_text(yaml.safe_dump(body))
    with pytest.raises(
        InvalidArgument, match=re.escape("'os.system' is not an XGBoost model class")
    ):
        load_model(path)
