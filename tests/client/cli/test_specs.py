"""Spec files name local paths relative to themselves, in every spelling the specs accept; the
client uploads them, so the server (which refuses relative paths) gets only store URIs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from dockyard.client.cli._specs import endpoint_paths, job_paths, load_spec, transform_paths
from dockyard.client.http import Client
from dockyard.errors import InvalidArgument
from dockyard.models import save_model
from dockyard.server import Services


@pytest.fixture
def spec_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with a model package, code and data; the current directory is elsewhere."""
    folder = tmp_path / "project"
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "train.py").write_text("print('training')\n")
    for name in ("train", "val", "test"):
        (folder / "data" / name).mkdir(parents=True)
        (folder / "data" / name / "part.csv").write_text("1,2,3\n")
    x = pd.DataFrame(np.arange(12.0).reshape(4, 3), columns=["a", "b", "c"])
    save_model(LinearRegression().fit(x, x["a"]), folder / "model", input_example=x.head(2))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return folder


def _in_store(services: Services, uri: Any) -> bool:
    root = Path(str(services.settings.resolved_artifact_root))
    return isinstance(uri, str) and Path(uri).is_relative_to(root / "data")


def test_a_training_spec_in_every_spelling(api: Client, services: Services, spec_dir: Path) -> None:
    spec = {
        "name": "paths",
        "entry_point": "train.py",
        "source_dir": "src",
        "inputs": {
            "train": "data/train",
            "val": {"S3Uri": "data/val", "content_type": "text/csv"},
            "remote": "s3://bucket/prefix",
        },
    }
    out = job_paths(spec, spec_dir, api)
    assert _in_store(services, out["source_dir"])
    assert _in_store(services, out["inputs"]["train"])
    assert _in_store(services, out["inputs"]["val"]["S3Uri"])
    assert out["inputs"]["val"]["content_type"] == "text/csv"
    assert out["inputs"].pop("remote") == "s3://bucket/prefix"  # a URI goes as it is
    assert api.request("POST", "/api/v1/jobs/training", json=out)["status"] == "Pending"
    sagemaker = {
        "algorithm": "xgboost",
        "hyperparameters": {"num_round": 2},
        "inputs": [
            {"ChannelName": "train", "DataSource": {"S3DataSource": {"S3Uri": "data/train"}}},
            {"ChannelName": "validation", "uri": "data/test"},
        ],
    }
    out = job_paths(sagemaker, spec_dir, api)
    assert _in_store(services, out["inputs"][0]["DataSource"]["S3DataSource"]["S3Uri"])
    assert _in_store(services, out["inputs"][1]["uri"])
    api.request("POST", "/api/v1/jobs/training", json=out)


def test_a_transform_spec_in_sagemakers_spelling(
    api: Client, services: Services, spec_dir: Path
) -> None:
    spec = {
        "ModelUri": "model",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3Uri": "data/test/part.csv"}},
            "ContentType": "text/csv",
        },
        "TransformOutput": {"S3OutputPath": "scored"},
    }
    out, download_to = transform_paths(spec, spec_dir, api)
    assert _in_store(services, out["ModelUri"])
    source = out["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
    assert _in_store(services, source) and source.endswith("/part.csv")
    assert download_to == spec_dir / "scored" and download_to.is_absolute()
    assert out["TransformOutput"] == {}  # written to the store, then downloaded
    assert api.request("POST", "/api/v1/jobs/transform", json=out)["status"] == "Pending"
    native, _ = transform_paths(
        {"model_uri": "model", "input": {"uri": "data/test"}, "output": {"uri": "~/scored"}},
        spec_dir,
        api,
    )
    assert _in_store(services, native["model_uri"]) and _in_store(services, native["input"]["uri"])
    assert native["input"]["display_uri"] == "data/test"  # what errors call it
    assert out["TransformInput"]["display_uri"] == "data/test/part.csv"


def test_a_transform_model_name_is_a_model_on_the_server_and_a_path_a_folder(
    api: Client, services: Services, spec_dir: Path
) -> None:
    spec = {"ModelName": "model", "input": {"uri": "s3://bucket/in.csv"}}
    out, _ = transform_paths(spec, spec_dir, api)
    assert out["ModelName"] == "model"  # a folder of that name next to the spec is not read
    assert "display_uri" not in out["input"]  # a URI is not uploaded: errors name it as is
    out, _ = transform_paths({**spec, "ModelName": "./model"}, spec_dir, api)
    assert _in_store(services, out["ModelName"])  # a path is the package folder, uploaded


def test_an_endpoint_spec_in_both_spellings(
    api: Client, services: Services, spec_dir: Path
) -> None:
    spec = {
        "name": "paths",
        "variants": [
            {"VariantName": "a", "ModelUri": "model", "weight": 1},
            {"name": "b", "model_uri": "./model"},
            {"name": "c", "model": "../project/model"},
        ],
        "shadow": {"name": "s", "model_uri": "model"},
    }
    out = endpoint_paths(spec, spec_dir, api)
    uris = [out["variants"][0]["ModelUri"], out["variants"][1]["model_uri"]]
    uris += [out["variants"][2]["model"], out["shadow"]["model_uri"]]
    assert all(_in_store(services, u) for u in uris), uris
    assert len(set(uris)) == 1  # the same files: uploaded once, by content
    assert api.request("POST", "/api/v1/endpoints", json=out)["status"] == "Creating"


def test_a_missing_local_path_names_its_field(api: Client, spec_dir: Path) -> None:
    from dockyard.errors import InvalidArgument

    with pytest.raises(InvalidArgument) as caught:
        transform_paths({"ModelUri": "nope", "input": {"uri": "x"}}, spec_dir, api)
    assert caught.value.field == "model_uri"
    assert str(spec_dir / "nope") in caught.value.message


def test_a_missing_entry_point_is_named_in_the_folder_the_spec_gave(
    api: Client, spec_dir: Path
) -> None:
    spec = {"entry_point": "trian.py", "source_dir": "src", "inputs": {"train": "data/train"}}
    with pytest.raises(InvalidArgument) as caught:
        job_paths(spec, spec_dir, api)
    assert caught.value.field == "entry_point"
    assert caught.value.message == "entry point 'trian.py' is not a file in src"


@pytest.mark.parametrize(
    ("content", "where"),
    [
        (b"\xff\xfe\x00n\x00a", "byte 0xff at line 1, column 1"),  # UTF-16, as some editors save
        (b"name: x\nvariants: caf\xe9\n", "byte 0xe9 at line 2, column 14"),  # Latin-1
    ],
)
def test_a_spec_file_that_is_not_utf8_is_refused_naming_where(
    tmp_path: Path, content: bytes, where: str
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_bytes(content)
    with pytest.raises(InvalidArgument) as caught:
        load_spec(spec)
    assert str(caught.value).startswith(f"{spec}: not UTF-8 text: {where}")
    assert caught.value.field == "spec"
