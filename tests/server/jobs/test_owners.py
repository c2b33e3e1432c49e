"""Who controls a job as its submitter: the submitting account, by id, while it may write."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.api.jobs import JobStatus, TrainingJobSpec
from dockyard.errors import PermissionDenied
from dockyard.server._services import Services
from dockyard.server.actor import Actor, Role
from dockyard.server.auth import CreateUser, UpdateUser
from dockyard.settings import Settings

SCRIPTS = Path(__file__).parent / "scripts"
ROOT = Actor.local("root")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", uri=None, data_roots=[str(SCRIPTS)])


def _member(services: Services, password: str) -> Actor:
    services.auth.create_user(ROOT, CreateUser(name="alice", password=password))
    return services.auth.by_password("alice", password, "test")


def _queue(services: Services, actor: Actor) -> None:
    spec = TrainingJobSpec(entry_point="identity.py", source_dir=str(SCRIPTS), name="queued")
    services.jobs.submit(actor, spec)


def test_a_submitter_demoted_to_viewer_stops_the_job_no_more(services: Services) -> None:
    services.auth.create_user(ROOT, CreateUser(name="root", role=Role.ADMIN))
    _queue(services, _member(services, "alice-password-1"))
    services.auth.update_user(ROOT, "alice", UpdateUser(role=Role.VIEWER))
    demoted = services.auth.by_password("alice", "alice-password-1", "test")
    with pytest.raises(PermissionDenied):
        services.jobs.stop(demoted, "queued")
    assert services.jobs.get(ROOT, "queued").status is JobStatus.PENDING


def test_an_account_made_again_under_a_deleted_submitters_name_gets_nothing_of_the_job(
    services: Services,
) -> None:
    services.auth.create_user(ROOT, CreateUser(name="root", role=Role.ADMIN))
    _queue(services, _member(services, "alice-password-1"))
    services.auth.delete_user(ROOT, "alice")
    other = _member(services, "alice-password-2")
    with pytest.raises(PermissionDenied):
        services.jobs.stop(other, "queued")
    assert services.jobs.get(ROOT, "queued").status is JobStatus.PENDING
    # Nor would the job, once started, run with a token of the new account
    with services.db.read() as conn:
        row = services.jobs._repo.row(conn, "queued")
    assert services.jobs.runner_token(row) is None
