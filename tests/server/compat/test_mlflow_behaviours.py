"""Behaviours MLflow's clients (and MLflow's own REST tests) rely on, through the real client.

Experiment search and its ordering, the words of errors clients match, artifact_location and
parent-run tags accepted as MLflow accepts them, a registry that records sources it cannot copy,
deprecated stages, and the tracking API's artifact listing.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from mlflow import MlflowClient
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException

from dockyard.server import create_app
from dockyard.server._inprocess import InProcessTransport
from dockyard.settings import Settings

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")  # mlflow's stage deprecation


def _names(experiments: list[object], prefix: str) -> list[str]:
    return [e.name.removeprefix(prefix) for e in experiments if e.name.startswith(prefix)]  # type: ignore[attr-defined]


def test_experiment_search_filters_and_orders_as_mlflow(tracking_uri: str) -> None:
    client = MlflowClient()
    p = f"x{uuid.uuid4().hex[:8]}-"
    for name, tags in (("a", {"key": "value"}), ("ab", {"key": "vaLue"}), ("Abc", None)):
        client.create_experiment(p + name, tags=tags)

    def found(**kwargs: object) -> list[str]:
        return _names(list(client.search_experiments(**kwargs)), p)  # type: ignore[arg-type]

    # Newest first by default.
    assert found() == ["Abc", "ab", "a"]
    assert found(filter_string=f"attribute.name = '{p}a'") == ["a"]
    assert found(filter_string=f"name != '{p}a' AND name LIKE '{p}%'") == ["Abc", "ab"]
    assert found(filter_string=f"name LIKE '{p}a%'") == ["ab", "a"]  # LIKE is case-sensitive
    assert found(filter_string=f"name ILIKE '{p}a%'") == ["Abc", "ab", "a"]
    assert found(filter_string="tag.key = 'value'") == ["a"]
    assert found(filter_string="tags.key != 'value'") == ["ab"]  # a missing tag fails too
    assert found(filter_string="tag.key ILIKE '%alu%'") == ["ab", "a"]
    assert found(filter_string="creation_time > 0") == ["Abc", "ab", "a"]
    assert found(order_by=["name DESC"]) == ["ab", "a", "Abc"]  # by code point
    assert found(order_by=["name"]) == ["Abc", "a", "ab"]
    with pytest.raises(MlflowException, match="invalid filter") as bad:
        client.search_experiments(filter_string="metrics.x > 1")
    assert bad.value.error_code == "INVALID_PARAMETER_VALUE"

    ids = {
        e.name: e.experiment_id
        for e in client.search_experiments(filter_string=f"name LIKE '{p}%'")
    }
    client.delete_experiment(ids[p + "ab"])
    deleted = client.search_experiments(view_type=ViewType.DELETED_ONLY)
    assert _names(list(deleted), p) == ["ab"]
    pages, token = [], None
    while True:
        page = client.search_experiments(
            filter_string=f"name LIKE '{p}%'", max_results=1, page_token=token
        )
        pages += _names(list(page), p)
        token = page.token
        if not token:
            break
    assert pages == ["Abc", "a"]


def test_create_experiment_checks_types_in_mlflows_order_and_ignores_artifact_location(
    tracking_uri: str, experiment_name: str
) -> None:
    url = f"{tracking_uri}/api/2.0/mlflow/experiments/create"
    wrong_location = httpx.post(url, json={"name": experiment_name, "artifact_location": 9.0})
    assert wrong_location.status_code == 400
    assert "Invalid value 9.0 for parameter 'artifact_location'" in wrong_location.text
    wrong_tags = httpx.post(
        url, json={"name": experiment_name, "artifact_location": "x", "tags": "5"}
    )
    assert wrong_tags.status_code == 400
    assert "Invalid value \\\"5\\\" for parameter 'tags'" in wrong_tags.text

    client = MlflowClient()
    experiment_id = client.create_experiment(
        experiment_name, artifact_location="/somewhere/else", tags={"k": "v"}
    )
    experiment = client.get_experiment(experiment_id)
    # Artifacts stay in Dockyard's store, behind its permission checks.
    assert experiment.artifact_location == f"mlflow-artifacts:/{experiment_id}"
    assert experiment.tags == {"k": "v"}


def test_a_parent_run_tag_need_not_name_a_run(tracking_uri: str, experiment_name: str) -> None:
    client = MlflowClient()
    experiment_id = client.create_experiment(experiment_name)
    run = client.create_run(experiment_id, tags={"mlflow.parentRunId": "7"})
    assert client.get_run(run.info.run_id).data.tags["mlflow.parentRunId"] == "7"
    parent = client.create_run(experiment_id)
    child = client.create_run(experiment_id, tags={"mlflow.parentRunId": parent.info.run_id})
    nested = client.search_runs(
        [experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
    )
    assert [r.info.run_id for r in nested] == [child.info.run_id]


def test_errors_are_worded_as_mlflow_words_them(tracking_uri: str, experiment_name: str) -> None:
    client = MlflowClient()
    name = f"words-{uuid.uuid4().hex[:8]}"
    run_id = client.create_run(client.create_experiment(experiment_name)).info.run_id
    with pytest.raises(MlflowException, match=r"Run .+ not found"):
        client.delete_tag("0" * 32, "t")
    with pytest.raises(MlflowException, match="No tag with name: nope"):
        client.delete_tag(run_id, "nope")
    client.delete_run(run_id)
    with pytest.raises(MlflowException, match=f"The run {run_id} must be in the 'active' state"):
        client.set_tag(run_id, "t", "v")
    with pytest.raises(MlflowException, match=f"Registered Model with name={name} not found"):
        client.get_registered_model(name)
    client.create_registered_model(name)
    with pytest.raises(MlflowException, match=r"Registered Model .+ already exists") as exists:
        client.create_registered_model(name)
    assert exists.value.error_code == "RESOURCE_ALREADY_EXISTS"
    with pytest.raises(MlflowException, match=r"Model Version .+ not found"):
        client.get_model_version(name, "3")


def test_sources_the_server_does_not_hold_are_recorded_as_references(
    tracking_uri: str, experiment_name: str
) -> None:
    client = MlflowClient()
    name = f"refs-{uuid.uuid4().hex[:8]}"
    client.create_registered_model(name)
    first = client.create_model_version(name, "runs:/run_id/model", "run_id", tags={"k": 1})
    assert (first.version, first.status, first.run_id, first.tags) == (
        "1",
        "READY",
        "run_id",
        {"k": "1"},
    )
    assert client.get_model_version_download_uri(name, "1") == "runs:/run_id/model"
    client.set_registered_model_alias(name, "champion", "1")
    copy = client.copy_model_version(f"models:/{name}@champion", name)
    assert copy.source == f"models:/{name}/1"
    assert client.get_model_version_download_uri(name, copy.version) == "runs:/run_id/model"
    # A run id that contradicts the source is refused, as MLflow refuses it.
    with pytest.raises(MlflowException, match="contradicts") as contradicts:
        client.create_model_version(name, "runs:/run_id/model", "other_run")
    assert contradicts.value.error_code == "INVALID_PARAMETER_VALUE"

    model = client.create_logged_model(client.create_experiment(experiment_name))
    registered = client.create_model_version(name, model.artifact_location, model_id=model.model_id)
    noted = client.get_logged_model(model.model_id).tags["mlflow.modelVersions"]
    assert noted == f'[{{"name": "{name}", "version": {registered.version}}}]'
    # The folder is recorded as the logged model it is.
    assert client.get_model_version(name, registered.version).source == model.model_uri


def test_a_reference_cannot_be_loaded_and_says_why(tracking_uri: str) -> None:
    client = MlflowClient()
    name = f"unloadable-{uuid.uuid4().hex[:8]}"
    client.create_registered_model(name)
    client.create_model_version(name, "runs:/elsewhere/model", "elsewhere")
    answer = httpx.get(f"{tracking_uri}/api/v1/model-uris", params={"uri": f"models:/{name}/1"})
    assert answer.status_code == 404
    assert "recorded as a reference to runs:/elsewhere/model" in answer.text


def test_s3_sources_outside_the_allowed_roots_are_refused_at_once(tracking_uri: str) -> None:
    client = MlflowClient()
    name = f"s3-{uuid.uuid4().hex[:8]}"
    client.create_registered_model(name)
    with pytest.raises(MlflowException, match="outside the allowed roots") as raised:
        client.create_model_version(name, "s3://no-such-bucket/model")
    assert raised.value.error_code == "PERMISSION_DENIED"


def test_s3_sources_the_server_cannot_read_answer_a_clear_client_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A bucket the server may read from, but no credentials to read it with.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    settings = Settings(home=tmp_path / "home", data_roots=["s3://models-bucket"])
    transport = InProcessTransport(create_app(settings))
    api = "http://dockyard.test/api/2.0/mlflow"
    with httpx.Client(transport=transport) as http:
        http.post(f"{api}/registered-models/create", json={"name": "m"}).raise_for_status()
        answer = http.post(
            f"{api}/model-versions/create",
            json={"name": "m", "source": "s3://models-bucket/wine"},
        )
    transport.close()
    # Not a 5xx, which MLflow's client would retry for minutes.
    assert answer.status_code == 400, answer.text
    assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "cannot read s3://models-bucket/wine: no usable AWS credentials" in answer.text


def test_deprecated_stages_move_versions_and_latest_versions_follow(tracking_uri: str) -> None:
    client = MlflowClient()
    name = f"stages-{uuid.uuid4().hex[:8]}"
    client.create_registered_model(name)
    stages = ["Archived", "Production", "Archived", "Production", "Staging", "Staging", "None"]
    for version, stage in enumerate(stages, start=1):
        client.create_model_version(name, "runs:/run_id/model", "run_id")
        if stage != "None":
            moved = client.transition_model_version_stage(name, str(version), stage)
            assert moved.current_stage == stage

    def latest(wanted: list[str] | None) -> dict[str, str]:
        return {v.current_stage: v.version for v in client.get_latest_versions(name, wanted)}

    assert latest(["None"]) == {"None": "7"}
    assert latest(["Staging", "None"]) == {"Staging": "6", "None": "7"}
    assert latest(None) == {"Archived": "3", "Production": "4", "Staging": "6", "None": "7"}
    assert {v.version for v in client.get_registered_model(name).latest_versions} == {
        "3",
        "4",
        "6",
        "7",
    }
    client.transition_model_version_stage(name, "2", "production", archive_existing_versions=True)
    assert client.get_model_version(name, "4").current_stage == "Archived"
    with pytest.raises(MlflowException, match="is not one of None, Staging") as bad:
        client.transition_model_version_stage(name, "1", "Shipped")
    assert bad.value.error_code == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize("stage", ["Archived", "None"])
def test_archiving_the_others_of_an_inactive_stage_is_refused_as_mlflow_refuses_it(
    tracking_uri: str, stage: str
) -> None:
    # It was accepted and the flag ignored: MLflow refuses it, naming the active stages.
    client = MlflowClient()
    name = f"stages-{uuid.uuid4().hex[:8]}"
    client.create_registered_model(name)
    client.create_model_version(name, "runs:/run_id/model", "run_id")
    with pytest.raises(MlflowException, match="is not an Active stage") as refused:
        client.transition_model_version_stage(name, "1", stage, archive_existing_versions=True)
    assert refused.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "'Staging', 'Production'" in refused.value.message
    assert client.get_model_version(name, "1").current_stage == "None"


def test_model_version_search_filters_and_orders_as_mlflow(tracking_uri: str) -> None:
    client = MlflowClient()
    prefix = f"mvs{uuid.uuid4().hex[:6]}"
    names = [f"{prefix}{i:02d}" for i in range(3)]
    for name in names:
        client.create_registered_model(name)
    created = []
    for name in [*names, names[0]]:
        run = f"r{len(created)}"
        created.append(client.create_model_version(name, f"runs:/{run}/model", run))
    client.set_model_version_tag(names[1], "1", "gate", "ok")

    def found(filter_string: str, **kwargs: object) -> list[tuple[str, str]]:
        return [
            (v.name, v.version)
            for v in client.search_model_versions(filter_string, **kwargs)  # type: ignore[arg-type]
            if v.name.startswith(prefix)
        ]

    everything = f"name LIKE '{prefix}%'"
    # Newest update first.
    assert found(everything) == [(names[0], "2"), (names[2], "1"), (names[1], "1"), (names[0], "1")]
    assert found(f"{everything} AND source_path = 'runs:/r1/model'") == [(names[1], "1")]
    assert found(f"name IN ('{names[0]}', '{names[2]}') AND version_number > 1") == [
        (names[0], "2")
    ]
    assert found("tags.gate = 'ok'") == [(names[1], "1")]
    assert found(f"{everything} AND tags.gate != 'ok'") == [
        (names[0], "2"),
        (names[2], "1"),
        (names[0], "1"),
    ]
    assert found(everything, order_by=["name DESC"]) == [
        (names[2], "1"),
        (names[1], "1"),
        (names[0], "2"),
        (names[0], "1"),
    ]
    models = client.search_registered_models(f"name LIKE '{prefix}%'", order_by=["name DESC"])
    assert [m.name for m in models] == names[::-1]
    assert client.search_registered_models(f"name LIKE '{prefix.upper()}%'") == []
    assert len(client.search_registered_models(f"name ILIKE '{prefix.upper()}%'")) == 3


def test_the_tracking_api_lists_a_runs_artifacts(
    tracking_uri: str, experiment_name: str, tmp_path: Path
) -> None:
    client = MlflowClient()
    run_id = client.create_run(client.create_experiment(experiment_name)).info.run_id
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "f.txt").write_text("hi")
    client.log_artifacts(run_id, str(tmp_path), "out")
    url = f"{tracking_uri}/api/2.0/mlflow/artifacts/list"
    listed = httpx.get(url, params={"run_id": run_id, "path": "out/dir"}).json()
    assert listed["root_uri"].endswith(f"/{run_id}/artifacts")
    assert listed["files"] == [{"path": "out/dir/f.txt", "is_dir": False, "file_size": 2}]
    bad = httpx.get(url, params={"run_id": run_id, "path": "../path"})
    assert (bad.status_code, bad.json()) == (
        400,
        {"error_code": "INVALID_PARAMETER_VALUE", "message": "Invalid path"},
    )
