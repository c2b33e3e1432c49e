"""The registry's naming rules, URI forms and package checks, each bad input with its message."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dockyard.api.registry import check_alias, check_model_name, parse_version
from dockyard.errors import InvalidArgument
from dockyard.models import save_model, verify
from dockyard.models.uris import LocalRef, RegistryRef, RunRef, S3Ref, parse_model_uri
from dockyard.server.registry._package import inspect

RUN = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("models:/wine/3", RegistryRef(name="wine", version=3)),
        ("models:/wine@champion", RegistryRef(name="wine", alias="champion")),
        ("models:/wine/latest", RegistryRef(name="wine", latest=True)),
        ("models:/red wine.v2/1", RegistryRef(name="red wine.v2", version=1)),
        (f"runs:/{RUN}/model", RunRef(run_id=RUN, path="model")),
        (f"runs:/{RUN}/a/./b/", RunRef(run_id=RUN, path="a/b")),
        (f"runs:/{RUN}", RunRef(run_id=RUN, path="")),
        ("s3://bucket/pre/fix/", S3Ref(bucket="bucket", key="pre/fix")),
        ("/abs/model", LocalRef(Path("/abs/model"))),
        ("file:///abs/model", LocalRef(Path("/abs/model"))),
        ("relative/model", LocalRef(Path("relative/model"))),
    ],
    ids=repr,
)
def test_uri_forms(uri: str, expected: object) -> None:
    assert parse_model_uri(uri) == expected


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("models:/wine/Production", "stages are not supported"),
        ("models:/wine/0", "positive integer"),
        ("models:/wine/99999999999", "positive integer"),
        ("models:/wine", "expected models:/<name>/<version>"),
        ("models:/wine@", "alias must be 1 to 255"),
        ("models:/wine@latest", "reserved"),
        ("models:/@champion", "model name must be 1 to"),
        ("models:/bad@name/1", "invalid alias"),
        ("runs:/a b/model", "'a b' is not a run id"),
        (f"runs:/{RUN}/../../etc", "escapes its root"),
        ("s3:///key", "no bucket"),
        ("file://elsewhere/x", "must name this machine"),
        ("gs://bucket/model", "unsupported scheme 'gs'"),
        ("mlflow-artifacts:/1/x", "unsupported scheme 'mlflow-artifacts'"),
        ("  ", "a model URI is required"),
    ],
    ids=lambda v: v if v.strip() else "blank",
)
def test_bad_uris_name_the_problem(uri: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message) as caught:
        parse_model_uri(uri, "model_uri")
    assert caught.value.field == "model_uri"


@pytest.mark.parametrize("name", ["wine", "Wine_2", "red wine", "a.b-c", "_x", "x" * 256])
def test_good_model_names(name: str) -> None:
    assert check_model_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "a/b", "a@b", "a:b", " lead", "trail ", "-dash", "é", "x" * 257], ids=repr
)
def test_bad_model_names(name: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        check_model_name(name)
    assert caught.value.field == "name"


@pytest.mark.parametrize("alias", ["champion", "challenger", "blue-green", "a_1", "V3x"])
def test_good_aliases(alias: str) -> None:
    assert check_alias(alias) == alias


@pytest.mark.parametrize(
    "alias", ["latest", "LATEST", "v3", "V12", "12", "has space", "a/b", "", "x" * 256], ids=repr
)
def test_bad_aliases(alias: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        check_alias(alias)
    assert caught.value.field == "alias"


@pytest.mark.parametrize("value", ["1", 7, "0042"])
def test_versions(value: str | int) -> None:
    assert parse_version(value) == int(value)


@pytest.mark.parametrize("value", ["one", "1.5", "-1", "0", "", "\u0661", True, 2**31], ids=repr)
def test_versions_that_are_not_positive_integers(value: str | int) -> None:
    with pytest.raises(InvalidArgument, match="version must be a positive integer") as caught:
        parse_version(value)
    assert caught.value.field == "version"


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sklearn.linear_model import LinearRegression

    frame = pd.DataFrame({"a": np.arange(6.0)})
    path = tmp_path_factory.mktemp("pkg") / "model"
    save_model(LinearRegression().fit(frame, frame["a"]), path, input_example=frame.head(2))
    return path


def test_inspect_reads_what_the_registry_records(package: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(package, copy)
    facts = inspect(copy, "src")
    assert (facts.flavor, facts.digest, facts.sealed_by_registry) == (
        "sklearn",
        verify(package),
        False,
    )
    assert facts.library_version and facts.signature and facts.signature["inputs"][0]["name"] == "a"


def _tamper(package: Path, tmp_path: Path, change: str) -> Path:
    copy = tmp_path / "pkg"
    shutil.copytree(package, copy)
    manifest = copy / "MLmodel"
    text = manifest.read_text()
    if change == "file":
        (copy / "model.pkl").write_bytes(b"evil")
    elif change == "extra":
        (copy / "extra.txt").write_text("x")
    elif change == "missing":
        (copy / "model.pkl").unlink()
    elif change == "flavor":
        manifest.write_text(text.replace("loader_module: mlflow.sklearn", "loader_module: evil"))
    elif change == "library":
        start = text.index("sklearn_version: ")
        manifest.write_text(
            text[:start] + "sklearn_version: banana" + text[text.index("\n", start) :]
        )
    elif change == "manifest":
        manifest.write_text("flavors: [")
    elif change == "no-manifest":
        manifest.unlink()
    return copy


@pytest.mark.parametrize(
    ("change", "message", "file"),
    [
        (
            "file",
            r"cannot register src: model\.pkl was changed after the model was saved",
            "model.pkl",
        ),
        ("extra", r"extra\.txt is not listed in MLmodel", "extra.txt"),
        ("missing", r"model\.pkl is listed in MLmodel but missing", "model.pkl"),
        ("flavor", r"unknown flavor: loader_module 'evil'", None),
        ("library", r"unsupported sklearn version 'banana'", None),
        ("manifest", r"MLmodel is not valid YAML", None),
        ("no-manifest", r"src is not a model package: it has no MLmodel file", None),
    ],
    ids=["tampered", "extra-file", "missing-file", "unknown-flavor", "library", "yaml", "none"],
)
def test_bad_packages_are_refused_naming_the_problem(
    package: Path, tmp_path: Path, change: str, message: str, file: str | None
) -> None:
    with pytest.raises(InvalidArgument, match=message) as caught:
        inspect(_tamper(package, tmp_path, change), "src")
    assert caught.value.field == "source"
    assert caught.value.details.get("file") == file
