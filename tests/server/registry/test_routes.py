"""The native registry API over HTTP (in-process app): shapes, statuses, headers and bad input."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pandas as pd
import pytest

from dockyard.client.http import Client
from dockyard.errors import AlreadyExists, InvalidArgument, NotFound, PermissionDenied
from dockyard.models import save_model, verify
from dockyard.server import Services

Log = Callable[..., str]


def _raw(api: Client, method: str, path: str, **kw: Any) -> httpx.Response:
    return api._http.request(method, path, **kw)


@pytest.fixture
def wine(api: Client, log_package: Log) -> str:
    """Model ``wine`` with version 1 from a run; returns the run id."""
    run_id = log_package()
    api.request("POST", "/api/v1/registered-models", json={"name": "wine"})
    body = {"source": f"runs:/{run_id}/model"}
    api.request("POST", "/api/v1/registered-models/wine/versions", json=body)
    return run_id


def test_register_alias_approve_and_read_back(
    api: Client, log_package: Log, registry_package: Path
) -> None:
    run_id = log_package()
    model = api.request(
        "POST",
        "/api/v1/registered-models",
        json={"name": "wine", "description": "red", "tags": [{"key": "team", "value": "a"}]},
    )
    assert model["latest_version"] is None and model["tags"] == {"team": "a"}
    created = _raw(
        api,
        "POST",
        "/api/v1/registered-models/wine/versions",
        json={"source": f"runs:/{run_id}/model", "tags": [{"key": "k", "value": "v"}]},
    )
    assert created.status_code == 201
    version = created.json()
    me = f"local:{getpass.getuser()}"  # the embedded server acts as its process's user
    assert (version["version"], version["created_by"], version["run_id"]) == (1, me, run_id)
    assert version["digest"] == verify(registry_package) and version["status"] == "READY"

    moved = api.request(
        "PUT", "/api/v1/registered-models/wine/aliases/champion", json={"version": 1}
    )
    assert moved["aliases"] == ["champion"]
    by_alias = api.request("GET", "/api/v1/registered-models/wine/aliases/champion")
    assert by_alias["version"] == 1
    approval = _raw(
        api,
        "POST",
        "/api/v1/registered-models/wine/versions/1/approval",
        json={"status": "Rejected", "comment": "drift"},
    ).json()["approval"]
    assert (approval["status"], approval["user"], approval["comment"]) == ("Rejected", me, "drift")
    listing = api.request("GET", "/api/v1/registered-models", params={"name_like": "WI%"})
    assert [m["name"] for m in listing["registered_models"]] == ["wine"]
    assert listing["registered_models"][0]["aliases"] == {"champion": 1}
    versions = api.request("GET", "/api/v1/registered-models/wine/versions")["model_versions"]
    assert [v["version"] for v in versions] == [1]
    lineage = api.request("GET", "/api/v1/registered-models/wine/versions/1/lineage")
    assert lineage["run"]["run_id"] == run_id and lineage["model_version"]["version"] == 1

    patched = api.request(
        "PATCH", "/api/v1/registered-models/wine/versions/1", json={"description": "v1"}
    )
    assert patched["description"] == "v1"
    assert _raw(api, "PUT", "/api/v1/registered-models/wine/tags/owner", json={"value": "ann"})
    api.request("PUT", "/api/v1/registered-models/wine/versions/1/tags/gate", json={"value": "ok"})
    api.request("DELETE", "/api/v1/registered-models/wine/versions/1/tags/k")
    assert api.request("GET", "/api/v1/registered-models/wine/versions/1")["tags"] == {"gate": "ok"}
    assert api.request("GET", "/api/v1/registered-models/wine")["tags"] == {
        "team": "a",
        "owner": "ann",
    }


def test_files_are_listed_and_downloaded(api: Client, wine: str, registry_package: Path) -> None:
    files = api.request("GET", "/api/v1/registered-models/wine/versions/1/files")["files"]
    expected = sorted(p.name for p in registry_package.iterdir())
    assert sorted(f["path"] for f in files) == expected
    got = _raw(api, "GET", "/api/v1/registered-models/wine/versions/1/files/MLmodel")
    assert got.status_code == 200 and got.content == (registry_package / "MLmodel").read_bytes()
    resolved = api.request("GET", "/api/v1/model-uris", params={"uri": "models:/wine/latest"})
    assert resolved["files_url"] == "/api/v1/registered-models/wine/versions/1/files"
    escape = _raw(api, "GET", "/api/v1/registered-models/wine/versions/1/files/..%2F..%2Fx")
    assert escape.status_code == 400


def test_a_non_latin_1_file_of_a_version_downloads(
    api: Client, log_package: Log, registry_frame: pd.DataFrame, tmp_path: Path
) -> None:
    from sklearn.linear_model import LinearRegression

    (tmp_path / "数据.csv").write_bytes(b"a,b\n1,2\n")
    estimator = LinearRegression().fit(registry_frame, registry_frame["a"])
    save_model(estimator, tmp_path / "pkg", code_paths=[tmp_path / "数据.csv"])
    run_id = log_package(tmp_path / "pkg")
    api.request("POST", "/api/v1/registered-models", json={"name": "intl"})
    api.request(
        "POST", "/api/v1/registered-models/intl/versions", json={"source": f"runs:/{run_id}/model"}
    )
    got = _raw(
        api, "GET", f"/api/v1/registered-models/intl/versions/1/files/code/{quote('数据.csv')}"
    )
    assert got.status_code == 200, got.text
    assert got.content == b"a,b\n1,2\n"
    assert got.headers["content-disposition"].endswith("filename*=UTF-8''%E6%95%B0%E6%8D%AE.csv")


def test_deleting_removes_files_and_aliases(api: Client, wine: str, services: Services) -> None:
    api.request("PUT", "/api/v1/registered-models/wine/aliases/champion", json={"version": 1})
    key = api.request("GET", "/api/v1/registered-models/wine/versions/1")["storage_location"]
    assert _raw(api, "DELETE", "/api/v1/registered-models/wine/versions/1").status_code == 204
    assert not services.artifacts.exists(key)
    with pytest.raises(NotFound, match="no alias 'champion'"):
        api.request("GET", "/api/v1/registered-models/wine/aliases/champion")
    assert _raw(api, "DELETE", "/api/v1/registered-models/wine").status_code == 204
    with pytest.raises(NotFound):
        api.request("GET", "/api/v1/registered-models/wine")


@pytest.mark.parametrize(
    ("method", "path", "body", "error", "message"),
    [
        ("GET", "/api/v1/registered-models/nope", None, NotFound, "'nope' does not exist"),
        ("GET", "/api/v1/registered-models/wine/versions/9", None, NotFound, "has no version 9"),
        (
            "PUT",
            "/api/v1/registered-models/wine/aliases/champion",
            {"version": 9},
            NotFound,
            "'wine' has no version 9",
        ),
        (
            "GET",
            "/api/v1/registered-models/wine/versions/abc",
            None,
            InvalidArgument,
            "version must be a positive integer, got 'abc'",
        ),
        (
            "PUT",
            "/api/v1/registered-models/wine/aliases/champion",
            {"version": "two"},
            InvalidArgument,
            "version",
        ),
        (
            "PUT",
            "/api/v1/registered-models/wine/aliases/v2",
            {"version": 1},
            InvalidArgument,
            "reserved",
        ),
        ("POST", "/api/v1/registered-models", {"name": "a/b"}, InvalidArgument, "name"),
        ("POST", "/api/v1/registered-models", {"name": "wine"}, AlreadyExists, "already exists"),
        (
            "POST",
            "/api/v1/registered-models/wine/versions/1/approval",
            {"status": "Maybe"},
            InvalidArgument,
            "status",
        ),
        (
            "POST",
            "/api/v1/registered-models/wine/versions",
            {"source": "ftp://x/y"},
            InvalidArgument,
            "unsupported scheme 'ftp'",
        ),
        (
            "GET",
            "/api/v1/model-uris?uri=models:/wine/Staging",
            None,
            InvalidArgument,
            "stages are not supported",
        ),
        (
            "PUT",
            "/api/v1/registered-models/wine/tags/..%2Fx",
            {"value": "v"},
            InvalidArgument,
            "key",
        ),
        (
            "POST",
            "/api/v1/registered-models/wine/versions",
            {"source": "~nouser/model"},
            InvalidArgument,
            "cannot expand '~nouser'",
        ),
        ("GET", "/api/v1/model-uris?uri=~nouser/model", None, InvalidArgument, "~nouser"),
        (
            "POST",
            "/api/v1/registered-models/wine/versions",
            {"source": "/" + "n" * 300},
            PermissionDenied,
            "outside the allowed roots",
        ),
    ],
    ids=[
        "unknown-model",
        "unknown-version",
        "alias-on-missing-version",
        "version-not-integer",
        "alias-version-not-integer",
        "alias-reserved",
        "bad-name",
        "duplicate",
        "bad-approval",
        "bad-scheme",
        "stage-uri",
        "bad-tag-key",
        "unknown-user-source",
        "unknown-user-uri",
        "name-too-long",
    ],
)
def test_bad_input_is_refused_naming_it(
    api: Client,
    wine: str,
    method: str,
    path: str,
    body: Any,
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        api.request(method, path, json=body)


def test_registering_a_deleted_runs_model_is_400(api: Client, wine: str) -> None:
    api.request("DELETE", f"/api/v1/runs/{wine}")
    response = _raw(
        api,
        "POST",
        "/api/v1/registered-models/wine/versions",
        json={"source": f"runs:/{wine}/model"},
    )
    assert response.status_code == 400
    assert f"run {wine} is deleted" in response.json()["error"]["message"]


def test_a_tampered_package_is_refused_naming_the_file(
    api: Client, wine: str, log_package: Log
) -> None:
    run_id = log_package()
    api.request("PUT", f"/api/v1/runs/{run_id}/artifacts/model/model.pkl", content=b"evil")
    response = _raw(
        api,
        "POST",
        "/api/v1/registered-models/wine/versions",
        json={"source": f"runs:/{run_id}/model"},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert "model.pkl was changed" in error["message"] and error["details"]["file"] == "model.pkl"
    versions = api.request("GET", "/api/v1/registered-models/wine/versions")["model_versions"]
    assert [v["version"] for v in versions] == [1]


def test_openapi_lists_the_registry(api: Client) -> None:
    paths = api.request("GET", "/api/v1/openapi.json")["paths"]
    assert "/api/v1/registered-models/{name}/aliases/{alias}" in paths
    assert "/api/v1/model-uris" in paths
