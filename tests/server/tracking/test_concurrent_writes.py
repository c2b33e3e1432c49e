"""Two server processes on one PostgreSQL database writing the same row at the same moment.

SQLite has one writer at a time, so a row read as missing is still missing when it is inserted.
On PostgreSQL another transaction may insert it in between: the insert then waits for that
transaction and fails on the unique key once it commits. Each test holds such an insert open in
a connection of its own, lets the service's write reach the same key (and wait on it), then
commits, which is that interleaving made certain.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tests.services.postgres import connect, race

from dockyard.api.tracking import (
    CreateLoggedModel,
    CreateRun,
    Dataset,
    DatasetInput,
    LogBatch,
    LogInputs,
    ParamIn,
)
from dockyard.server.actor import Actor
from dockyard.server.auth import Access
from dockyard.server.events import EventLog
from dockyard.server.store import open_database
from dockyard.server.tracking import LoggedModelService, TrackingService

ACTOR = Actor.anonymous()


@pytest.fixture
def tracking(postgres_url: str) -> Iterator[TrackingService]:
    db = open_database(postgres_url)
    yield TrackingService(db, EventLog(db), Access())
    db.dispose()


@pytest.fixture
def logged_models(postgres_url: str) -> Iterator[LoggedModelService]:
    db = open_database(postgres_url)
    yield LoggedModelService(db, EventLog(db), Access())
    db.dispose()


@pytest.fixture
def other(postgres_url: str) -> Iterator[Any]:
    """Another server's connection, its transaction left open."""
    with connect(postgres_url) as conn:
        yield conn


def test_a_param_logged_by_two_servers_at_once_is_stored_once(
    tracking: TrackingService, other: Any
) -> None:
    # A client's retry sent to another server process while the first request still runs.
    run_id = tracking.create_run(ACTOR, CreateRun()).info.run_id
    other.execute("INSERT INTO params (run_id, key, value) VALUES (%s, 'alpha', '0.5')", (run_id,))
    batch = LogBatch(params=[ParamIn(key="alpha", value="0.5"), ParamIn(key="l1", value="1")])
    race(other, lambda: tracking.log_batch(ACTOR, run_id, batch))
    assert tracking.get_run(ACTOR, run_id).params == {"alpha": "0.5", "l1": "1"}


def test_a_dataset_logged_by_two_runs_at_once_is_recorded_once(
    tracking: TrackingService, other: Any
) -> None:
    # Parallel trials of a tuning job each log the same training data in one experiment.
    run_id = tracking.create_run(ACTOR, CreateRun()).info.run_id
    other.execute(
        "INSERT INTO datasets (dataset_id, experiment_id, name, digest, source_type, source) "
        "VALUES ('d-other', 0, 'train', 'abc123', 'local', 's3://lake/train')"
    )
    dataset = Dataset(name="train", digest="abc123", source_type="local", source="s3://lake/train")
    request = LogInputs(datasets=[DatasetInput(dataset=dataset, tags={"context": "train"})])
    race(other, lambda: tracking.log_inputs(ACTOR, run_id, request))
    (logged,) = tracking.get_run(ACTOR, run_id).inputs
    assert (logged.dataset.name, logged.dataset.digest) == ("train", "abc123")


def test_a_logged_models_param_logged_twice_at_once_is_stored_once(
    logged_models: LoggedModelService, other: Any
) -> None:
    model = logged_models.create(ACTOR, CreateLoggedModel(experiment_id="0", name="m"))
    other.execute(
        "INSERT INTO logged_model_params (model_id, key, value) VALUES (%s, 'alpha', '0.5')",
        (model.model_id,),
    )
    params = [ParamIn(key="alpha", value="0.5")]
    race(other, lambda: logged_models.log_params(ACTOR, model.model_id, params))
    assert logged_models.get(ACTOR, model.model_id).params == {"alpha": "0.5"}
