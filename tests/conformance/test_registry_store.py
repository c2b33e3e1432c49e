"""One registry suite, run on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from dockyard.api.registry import (
    ApprovalStatus,
    CreateModelVersion,
    CreateRegisteredModel,
    SetApproval,
)
from dockyard.api.tracking import (
    CreateRun,
    Dataset,
    DatasetInput,
    LifecycleStage,
    LogBatch,
    LogInputs,
    MetricIn,
    TagIn,
)
from dockyard.artifacts.local import LocalArtifactStore
from dockyard.errors import AlreadyExists, InvalidArgument, NotFound
from dockyard.models import save_model, verify
from dockyard.server.actor import Actor, ActorKind, Role
from dockyard.server.auth import Access
from dockyard.server.events import EventLog
from dockyard.server.registry import RegistryService
from dockyard.server.store import open_database
from dockyard.server.tracking import TrackingService

ACTOR = Actor.anonymous()


@dataclass
class Env:
    registry: RegistryService
    tracking: TrackingService
    store: LocalArtifactStore
    package: Path


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sklearn.linear_model import LinearRegression

    frame = pd.DataFrame({"a": np.arange(8.0), "b": np.arange(8.0) % 3})
    path = tmp_path_factory.mktemp("pkg") / "model"
    save_model(LinearRegression().fit(frame, frame["a"]), path, input_example=frame.head(2))
    return path


@pytest.fixture(params=["sqlite", "postgres"])
def env(request: pytest.FixtureRequest, tmp_path: Path, package: Path) -> Iterator[Env]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/r.db"
    else:
        url = request.getfixturevalue("postgres_url")
    db = open_database(url)
    tracking = TrackingService(db, EventLog(db), Access())
    store = LocalArtifactStore(tmp_path / "artifacts")
    yield Env(
        RegistryService(db, tracking, store, EventLog(db), Access()), tracking, store, package
    )
    db.dispose()


def _run_with_model(env: Env, path: str = "model", metrics: dict[str, float] | None = None) -> str:
    run = env.tracking.create_run(ACTOR, CreateRun())
    run_id = run.info.run_id
    for file in env.package.rglob("*"):
        if file.is_file():
            env.store.put_file(
                f"{run.info.artifact_uri}/{path}/{file.relative_to(env.package)}", file
            )
    points = [MetricIn(key=k, value=v, timestamp=1) for k, v in (metrics or {}).items()]
    env.tracking.log_batch(ACTOR, run_id, LogBatch(metrics=points))
    return run_id


def _register(env: Env, name: str, source: str, **kw: Any) -> Any:
    return env.registry.create_model_version(ACTOR, name, CreateModelVersion(source=source, **kw))


def _model(env: Env, name: str, **kw: Any) -> Any:
    return env.registry.create_registered_model(ACTOR, CreateRegisteredModel(name=name, **kw))


def test_registered_model_lifecycle(env: Env) -> None:
    created = _model(env, "wine", description="d", tags=[TagIn(key="team", value="a")])
    assert (created.name, created.tags, created.latest_version) == ("wine", {"team": "a"}, None)
    with pytest.raises(AlreadyExists, match="'wine' already exists"):
        _model(env, "wine")
    for name in ("beer", "cider", "Wine Spritz"):
        _model(env, name)
    page = env.registry.search_registered_models(ACTOR, name_like="%wine%", max_results=1)
    assert [m.name for m in page.items] == ["Wine Spritz"] and page.next_page_token
    rest = env.registry.search_registered_models(
        ACTOR, name_like="%wine%", max_results=1, page_token=page.next_page_token
    )
    assert [m.name for m in rest.items] == ["wine"] and rest.next_page_token is None
    assert env.registry.update_registered_model(ACTOR, "wine", "red").description == "red"
    with pytest.raises(AlreadyExists):
        env.registry.rename_registered_model(ACTOR, "wine", "beer")
    assert env.registry.rename_registered_model(ACTOR, "wine", "vino").name == "vino"
    env.registry.delete_registered_model(ACTOR, "vino")
    with pytest.raises(NotFound, match="'vino' does not exist"):
        env.registry.get_registered_model(ACTOR, "vino")


def test_versions_count_from_one_and_numbers_are_never_reused(env: Env) -> None:
    run_id = _run_with_model(env, metrics={"rmse": 0.5, "r2": float("nan")})
    _model(env, "wine")
    first = _register(env, "wine", f"runs:/{run_id}/model")
    assert (first.version, first.run_id, first.flavor) == (1, run_id, "sklearn")
    assert first.metrics == {"rmse": 0.5, "r2": None} and first.digest == verify(env.package)
    assert first.signature is not None and [c["name"] for c in first.signature["inputs"]] == [
        "a",
        "b",
    ]
    assert first.approval.status is ApprovalStatus.PENDING and first.created_by == "anonymous"
    second = _register(env, "wine", f"runs:/{run_id}/model", description="again")
    env.registry.delete_model_version(ACTOR, "wine", 2)
    assert not env.store.exists(second.storage_location)
    third = _register(env, "wine", f"runs:/{run_id}/model")
    assert third.version == 3 and env.registry.latest_version(ACTOR, "wine").version == 3
    assert env.registry.get_registered_model(ACTOR, "wine").latest_version == 3
    # The snapshot is of registration time; later metrics do not change it.
    env.tracking.log_batch(
        ACTOR, run_id, LogBatch(metrics=[MetricIn(key="rmse", value=9, timestamp=2)])
    )
    assert env.registry.get_model_version(ACTOR, "wine", "1").metrics["rmse"] == 0.5


def test_concurrent_registrations_get_distinct_numbers(env: Env) -> None:
    run_id = _run_with_model(env)
    _model(env, "wine")
    with ThreadPoolExecutor(4) as pool:
        versions = list(
            pool.map(lambda _: _register(env, "wine", f"runs:/{run_id}/model"), range(4))
        )
    assert sorted(v.version for v in versions) == [1, 2, 3, 4]


def test_a_version_is_immutable_when_its_run_changes(env: Env, tmp_path: Path) -> None:
    run_id = _run_with_model(env)
    _model(env, "wine")
    version = _register(env, "wine", f"runs:/{run_id}/model")
    prefix = env.tracking.artifact_prefix(ACTOR, run_id)
    env.store.put_bytes(f"{prefix}/model/model.pkl", b"not the model")
    copy = tmp_path / "copy"
    for entry in env.store.list(version.storage_location, recursive=True):
        env.store.get_file(entry.path, copy / entry.path[len(version.storage_location) + 1 :])
    assert verify(copy, expected_digest=version.digest) == version.digest
    with pytest.raises(InvalidArgument, match=r"model\.pkl was changed"):
        _register(env, "wine", f"runs:/{run_id}/model")


def test_aliases_move_and_follow_their_version(env: Env) -> None:
    run_id = _run_with_model(env)
    _model(env, "wine")
    for _ in range(2):
        _register(env, "wine", f"runs:/{run_id}/model")
    env.registry.set_alias(ACTOR, "wine", "champion", 1)
    assert env.registry.set_alias(ACTOR, "wine", "champion", "2").aliases == ["champion"]
    env.registry.set_alias(ACTOR, "wine", "challenger", 1)
    assert env.registry.get_version_by_alias(ACTOR, "wine", "champion").version == 2
    assert env.registry.get_registered_model(ACTOR, "wine").aliases == {
        "challenger": 1,
        "champion": 2,
    }
    with pytest.raises(NotFound, match="has no version 7") as missing:
        env.registry.set_alias(ACTOR, "wine", "champion", 7)
    assert missing.value.field == "version"
    env.registry.delete_model_version(ACTOR, "wine", 2)
    with pytest.raises(NotFound, match="no alias 'champion'"):
        env.registry.get_version_by_alias(ACTOR, "wine", "champion")
    env.registry.delete_alias(ACTOR, "wine", "challenger")
    with pytest.raises(NotFound):
        env.registry.delete_alias(ACTOR, "wine", "challenger")


def test_approval_tags_and_descriptions(env: Env) -> None:
    run_id = _run_with_model(env)
    _model(env, "wine")
    _register(env, "wine", f"runs:/{run_id}/model", tags=[TagIn(key="k", value="v")])
    ann = Actor(ActorKind.USER, "ann", Role.ADMIN, user_id=7)
    approved = env.registry.set_approval(
        ann, "wine", 1, SetApproval(status=ApprovalStatus.APPROVED, comment="ok")
    )
    assert approved.approval.status is ApprovalStatus.APPROVED
    assert (approved.approval.user, approved.approval.comment) == ("ann", "ok")
    assert approved.approval.time is not None
    history = env.registry.approval_history(ACTOR, "wine", 1)
    assert [(a.status, a.user) for a in history] == [(ApprovalStatus.APPROVED, "ann")]
    env.registry.set_model_version_tag(ACTOR, "wine", 1, "stage", "prod")
    env.registry.delete_model_version_tag(ACTOR, "wine", 1, "k")
    assert env.registry.update_model_version(ACTOR, "wine", 1, "best").tags == {"stage": "prod"}
    with pytest.raises(NotFound, match="no tag 'k'"):
        env.registry.delete_model_version_tag(ACTOR, "wine", 1, "k")
    env.registry.set_registered_model_tag(ACTOR, "wine", "owner", "ann")
    env.registry.delete_registered_model_tag(ACTOR, "wine", "owner")
    assert env.registry.get_registered_model(ACTOR, "wine").tags == {}


def test_search_versions_by_model_and_run(env: Env) -> None:
    a, b = _run_with_model(env), _run_with_model(env)
    for name in ("alpha", "beta"):
        _model(env, name)
    _register(env, "alpha", f"runs:/{a}/model")
    _register(env, "alpha", f"runs:/{b}/model")
    _register(env, "beta", f"runs:/{b}/model")
    everything = env.registry.search_model_versions(ACTOR)
    assert [(v.name, v.version) for v in everything.items] == [
        ("alpha", 2),
        ("alpha", 1),
        ("beta", 1),
    ]
    by_run = env.registry.search_model_versions(ACTOR, run_ids=[b], max_results=1)
    assert [(v.name, v.version) for v in by_run.items] == [("alpha", 2)] and by_run.next_page_token
    assert env.registry.search_model_versions(ACTOR, name="nope").items == []


def test_bad_sources_are_refused_naming_the_problem(env: Env, tmp_path: Path) -> None:
    _model(env, "wine")
    run_id = _run_with_model(env)
    env.tracking.set_run_stage(ACTOR, run_id, LifecycleStage.DELETED)
    with pytest.raises(InvalidArgument, match=f"run {run_id} is deleted"):
        _register(env, "wine", f"runs:/{run_id}/model")
    with pytest.raises(NotFound, match=r"run '0{32}' does not exist"):
        _register(env, "wine", f"runs:/{'0' * 32}/model")
    live = _run_with_model(env)
    with pytest.raises(NotFound, match="names nothing"):
        _register(env, "wine", f"runs:/{live}/elsewhere")
    with pytest.raises(NotFound, match="a file, not a package folder"):
        _register(env, "wine", f"runs:/{live}/model/MLmodel")
    with pytest.raises(NotFound, match="no such folder"):
        _register(env, "wine", str(tmp_path / "absent"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidArgument, match="no MLmodel file"):
        _register(env, "wine", str(tmp_path / "empty"))
    with pytest.raises(InvalidArgument, match="absolute path"):
        _register(env, "wine", "relative/model")
    with pytest.raises(InvalidArgument, match="unsupported scheme 'gs'"):
        _register(env, "wine", "gs://bucket/model")
    with pytest.raises(InvalidArgument, match="contradicts"):
        _register(env, "wine", f"runs:/{live}/model", run_id="f" * 32)
    with pytest.raises(NotFound, match="'nope' does not exist"):
        _register(env, "nope", f"runs:/{live}/model")


def test_register_from_a_local_folder_and_from_another_version(env: Env) -> None:
    run_id = _run_with_model(env, metrics={"acc": 0.9})
    _model(env, "staging")
    _model(env, "prod")
    local = _register(env, "staging", str(env.package), run_id=run_id)
    assert local.run_id == run_id and local.metrics == {"acc": 0.9}
    env.registry.set_alias(ACTOR, "staging", "champion", 1)
    promoted = _register(env, "prod", "models:/staging@champion")
    assert promoted.source == "models:/staging/1" and promoted.run_id == run_id
    assert promoted.digest == local.digest and promoted.metrics == {"acc": 0.9}


def test_lineage_reaches_data_and_code(env: Env) -> None:
    tags = [
        TagIn(key="mlflow.source.git.commit", value="abc123"),
        TagIn(key="dockyard.source.git.dirty", value="true"),
    ]
    run_id = _run_with_model(env)
    env.tracking.log_batch(ACTOR, run_id, LogBatch(tags=tags))
    dataset = Dataset(name="train", digest="d1g3st", source_type="local", source="{}")
    env.tracking.log_inputs(
        ACTOR,
        run_id,
        LogInputs(
            datasets=[DatasetInput(dataset=dataset, tags={"mlflow.data.context": "training"})]
        ),
    )
    _model(env, "wine")
    _register(env, "wine", f"runs:/{run_id}/model")
    lineage = env.registry.lineage(ACTOR, "wine", 1)
    assert lineage.run is not None and lineage.run.run_id == run_id
    assert [(d.name, d.digest, d.context) for d in lineage.datasets] == [
        ("train", "d1g3st", "training")
    ]
    assert lineage.code is not None
    assert (lineage.code.git_commit, lineage.code.git_dirty) == ("abc123", True)
    local = _register(env, "wine", str(env.package))
    assert env.registry.lineage(ACTOR, "wine", local.version).run is None


def test_resolve_names_files_and_digest(env: Env) -> None:
    run_id = _run_with_model(env)
    _model(env, "wine")
    version = _register(env, "wine", f"runs:/{run_id}/model")
    env.registry.set_alias(ACTOR, "wine", "champion", 1)
    for uri in ("models:/wine/1", "models:/wine@champion", "models:/wine/latest"):
        resolved = env.registry.resolve(ACTOR, uri)
        assert (resolved.kind, resolved.version, resolved.digest) == ("registry", 1, version.digest)
    from_run = env.registry.resolve(ACTOR, f"runs:/{run_id}/model")
    assert from_run.digest == version.digest and "MLmodel" in {f.path for f in from_run.files}
    assert from_run.files_url == f"/api/v1/runs/{run_id}/artifacts/model"
    with pytest.raises(InvalidArgument, match="read by the client"):
        env.registry.resolve(ACTOR, "s3://bucket/model")
    with pytest.raises(NotFound, match="has no MLmodel"):
        env.registry.resolve(ACTOR, f"runs:/{run_id}/")
    with pytest.raises(NotFound, match="no registered model files"):
        env.registry.storage_key(ACTOR, "registry/abc/1")
    assert env.registry.storage_key(ACTOR, f"{version.storage_location}/MLmodel").endswith(
        "/MLmodel"
    )
