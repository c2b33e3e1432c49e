"""A logged model names the run that produced it: that run lists it, and ``runs:/<run>/<name>``
means it when the run's own folder has no ``<name>`` (MLflow 3). Only who may log into a run may
name it, so nobody slips their files under another account's run."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from dockyard.models import save_model
from dockyard.server import create_app
from dockyard.server._inprocess import InProcessTransport
from dockyard.settings import Settings

PASSWORD = "correct horse battery"
MLF = "/api/2.0/mlflow"
ART = "/api/2.0/mlflow-artifacts/artifacts"


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    frame = pd.DataFrame({"a": np.arange(6.0), "b": np.arange(6.0) % 2})
    path = tmp_path_factory.mktemp("pkg") / "model"
    save_model(LinearRegression().fit(frame, frame["a"]), path, input_example=frame.head(2))
    return path


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, dict[str, Any]]]:
    settings = Settings(home=tmp_path_factory.mktemp("team"), allowed_hosts=["dy.test"])
    transport = InProcessTransport(create_app(settings), local=False)
    with httpx.Client(transport=transport, base_url="http://dy.test") as client:
        headers: dict[str, Any] = {}
        for name, role in (("admin", "admin"), ("alice", "member"), ("mallory", "member")):
            body = {"name": name, "role": role, "password": PASSWORD}
            made = client.post("/api/v1/users", json=body, headers=headers.get("admin", {}))
            assert made.status_code == 201, made.text
            basic = base64.b64encode(f"{name}:{PASSWORD}".encode()).decode()
            token = client.post(
                "/api/v1/tokens", json={"name": "t"}, headers={"Authorization": f"Basic {basic}"}
            )
            assert token.status_code == 201, token.text
            headers[name] = {"Authorization": f"Bearer {token.json()['token']}"}
        yield client, headers
    transport.close()


def _logged_model(
    client: httpx.Client, who: dict[str, str], run_id: str, package: Path
) -> httpx.Response:
    """``log_model`` as MLflow 3 does it: a model naming its source run, then its files."""
    body = {"experiment_id": "0", "name": "model", "source_run_id": run_id}
    made = client.post(f"{MLF}/logged-models", json=body, headers=who)
    if made.status_code != 200:
        return made
    model_id = made.json()["model"]["info"]["model_id"]
    for file in sorted(package.rglob("*")):
        if file.is_file():
            path = f"{ART}/0/models/{model_id}/artifacts/{file.relative_to(package).as_posix()}"
            stored = client.put(path, content=file.read_bytes(), headers=who)
            assert stored.status_code == 200, stored.text
    return made


def test_only_who_may_log_into_a_run_names_it_as_a_models_source(
    team: tuple[httpx.Client, dict[str, Any]], package: Path
) -> None:
    client, headers = team
    alice, mallory = headers["alice"], headers["mallory"]
    # The Default experiment: everyone signed in may add runs and models to it.
    run = client.post("/api/v1/runs", json={"experiment_id": "0"}, headers=alice).json()
    run_id = run["info"]["run_id"]
    own = _logged_model(client, alice, run_id, package)
    assert own.status_code == 200, own.text
    # Mallory reads alice's run, not log into it: a newer "model" of that run would be what
    # alice registers from runs:/<run>/model.
    planted = _logged_model(client, mallory, run_id, package)
    assert planted.status_code == 403, planted.text
    assert f"run {run_id} belongs to alice" in planted.json()["message"]
    client.post("/api/v1/registered-models", json={"name": "alices"}, headers=alice)
    version = client.post(
        "/api/v1/registered-models/alices/versions",
        json={"source": f"runs:/{run_id}/model"},
        headers=alice,
    )
    assert version.status_code == 201, version.text
    assert version.json()["logged_model_id"] == own.json()["model"]["info"]["model_id"]
    # A model naming a run of its own creator, or no run, is as before.
    mine = client.post("/api/v1/runs", json={"experiment_id": "0"}, headers=mallory).json()
    assert _logged_model(client, mallory, mine["info"]["run_id"], package).status_code == 200
    body = {"experiment_id": "0", "name": "free"}
    assert client.post(f"{MLF}/logged-models", json=body, headers=mallory).status_code == 200


def test_an_account_made_again_under_a_deleted_authors_name_changes_none_of_its_runs(
    team: tuple[httpx.Client, dict[str, Any]],
) -> None:
    """A run's and a logged model's author is the account that made them, by id: the Default
    experiment lets everyone add runs, and only their authors change them."""
    client, headers = team

    def sign_in(password: str) -> dict[str, str]:
        body = {"name": "carol", "role": "member", "password": password}
        made = client.post("/api/v1/users", json=body, headers=headers["admin"])
        assert made.status_code == 201, made.text
        basic = base64.b64encode(f"carol:{password}".encode()).decode()
        token = client.post(
            "/api/v1/tokens", json={"name": "t"}, headers={"Authorization": f"Basic {basic}"}
        )
        return {"Authorization": f"Bearer {token.json()['token']}"}

    carol = sign_in(PASSWORD)
    run_id = client.post("/api/v1/runs", json={"experiment_id": "0"}, headers=carol).json()["info"][
        "run_id"
    ]
    body = {"experiment_id": "0", "name": "model", "source_run_id": run_id}
    model = client.post(f"{MLF}/logged-models", json=body, headers=carol).json()["model"]
    model_id = model["info"]["model_id"]
    tag = {"run_id": run_id, "key": "k", "value": "mine"}
    assert client.post(f"{MLF}/runs/set-tag", json=tag, headers=carol).status_code == 200
    gone = client.delete("/api/v1/users/carol", headers=headers["admin"])
    assert gone.status_code == 204, gone.text
    again = sign_in(PASSWORD + " again")
    taken = client.post(f"{MLF}/runs/set-tag", json=tag | {"value": "theirs"}, headers=again)
    assert taken.status_code == 403, taken.text
    tags = {"tags": [{"key": "k", "value": "theirs"}]}
    retagged = client.patch(f"{MLF}/logged-models/{model_id}/tags", json=tags, headers=again)
    assert retagged.status_code == 403, retagged.text
    # Their own new run is theirs to change
    mine = client.post("/api/v1/runs", json={"experiment_id": "0"}, headers=again).json()
    tag_own = {"run_id": mine["info"]["run_id"], "key": "k", "value": "v"}
    assert client.post(f"{MLF}/runs/set-tag", json=tag_own, headers=again).status_code == 200
