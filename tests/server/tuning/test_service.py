"""Who may create, read and stop a tuning job (in process, no jobs run)."""

from __future__ import annotations

import pytest
from tests.server.tuning.conftest import ROOT, account, spec

from dockyard.api.tuning import TuningJobStatus
from dockyard.errors import AlreadyExists, InvalidArgument, NotFound, PermissionDenied
from dockyard.server._services import Services
from dockyard.server.actor import Role
from dockyard.server.auth import CreateUser, UpdateUser


def test_create_describe_list_and_stop(services: Services) -> None:
    alice = account(services, "alice")
    made = services.tuning.create(alice, spec())
    assert made.status is TuningJobStatus.IN_PROGRESS and made.run_id
    run = services.tracking.get_run(alice, made.run_id)
    assert run.params["strategy"] == "Random" and run.tags["dockyard.tuning.name"] == "t"
    assert [j.name for j in services.tuning.page(alice).items] == ["t"]
    assert services.tuning.trials(alice, "t") == []
    stopped = services.tuning.stop(alice, "t")
    assert stopped.status is TuningJobStatus.STOPPING
    types = [e.type for e in services.events.read(types=["tuning.*"])]
    assert types == ["tuning.started", "tuning.stop_requested"]


def test_bad_requests_name_their_field(services: Services) -> None:
    alice = account(services, "alice")
    services.tuning.create(alice, spec())
    with pytest.raises(AlreadyExists) as taken:
        services.tuning.create(alice, spec())
    assert taken.value.field == "name"
    with pytest.raises(InvalidArgument) as missing:
        services.tuning.create(alice, spec("u", entry_point="nothing.py"))
    assert missing.value.field == "training_job.entry_point"
    with pytest.raises(InvalidArgument) as status:
        services.tuning.page(alice, status=["Running"])
    assert status.value.field == "status"
    with pytest.raises(NotFound):
        services.tuning.get(alice, "nobody")


def test_only_members_create_and_only_the_creator_or_a_manager_stops(
    services: Services,
) -> None:
    alice, bob = account(services, "alice"), account(services, "bob")
    viewer = account(services, "vic", Role.VIEWER)
    with pytest.raises(PermissionDenied):
        services.tuning.create(viewer, spec())
    services.tuning.create(alice, spec())
    with pytest.raises(PermissionDenied):
        services.tuning.stop(bob, "t")
    assert services.tuning.stop(ROOT, "t").status is TuningJobStatus.STOPPING


def test_a_creator_demoted_to_viewer_stops_no_more(services: Services) -> None:
    services.auth.create_user(ROOT, CreateUser(name="alice", password="alice-password-1"))
    alice = services.auth.by_password("alice", "alice-password-1", "test")
    services.tuning.create(alice, spec())
    services.auth.update_user(ROOT, "alice", UpdateUser(role=Role.VIEWER))
    demoted = services.auth.by_password("alice", "alice-password-1", "test")
    assert demoted.role is Role.VIEWER
    with pytest.raises(PermissionDenied):
        services.tuning.stop(demoted, "t")
    assert services.tuning.get(ROOT, "t").status is TuningJobStatus.IN_PROGRESS


def test_an_account_made_again_under_a_deleted_creators_name_does_not_own_its_jobs(
    services: Services,
) -> None:
    services.auth.create_user(ROOT, CreateUser(name="alice", password="alice-password-1"))
    alice = services.auth.by_password("alice", "alice-password-1", "test")
    services.tuning.create(alice, spec())
    services.auth.delete_user(ROOT, "alice")
    services.auth.create_user(ROOT, CreateUser(name="alice", password="alice-password-2"))
    other = services.auth.by_password("alice", "alice-password-2", "test")
    assert other.user_id != alice.user_id  # the id of the account that created the job
    with pytest.raises(PermissionDenied):
        services.tuning.stop(other, "t")
    assert services.tuning.get(ROOT, "t").status is TuningJobStatus.IN_PROGRESS
