"""Kinds of job by name, and which queued jobs start: in order; controllers never wait."""

from __future__ import annotations

import pytest

from dockyard.errors import InvalidArgument
from dockyard.plugins import JOB_KINDS, RUNNER_KINDS, load, names
from dockyard.server.jobs._capacity import Need, admit
from dockyard.server.jobs._kinds import MONITORING, TRAINING, TRANSFORM, JobKind, job_kind


def test_kinds_are_found_by_name_on_both_sides() -> None:
    assert job_kind("training") is TRAINING and job_kind("transform") is TRANSFORM
    # Every kind the server knows, its runner knows too.
    assert names(JOB_KINDS) == names(RUNNER_KINDS)
    for name in names(RUNNER_KINDS):
        assert load(RUNNER_KINDS, name, what="job kind").status
    assert TRANSFORM.resumable and TRANSFORM.has_outputs and not TRAINING.resumable
    assert TRAINING.default_experiment == "training-jobs"
    # A monitoring check holds its CPU and writes its files as its outputs; it is not resumed.
    assert job_kind("monitoring") is MONITORING
    assert MONITORING.holds_capacity and MONITORING.has_outputs and not MONITORING.resumable


def test_an_unknown_kind_is_named() -> None:
    with pytest.raises(InvalidArgument) as caught:
        job_kind("tuning")
    assert caught.value.field == "kind"
    assert "training" in caught.value.message


def test_an_unloadable_plugin_path_is_named() -> None:
    with pytest.raises(InvalidArgument) as caught:
        load(JOB_KINDS, "nowhere.at.all:Kind", what="job kind", field="kind", external=True)
    assert "cannot be loaded" in caught.value.message
    with pytest.raises(InvalidArgument):  # a path is only taken where the table allows one
        load(JOB_KINDS, "dockyard.server.jobs._kinds:TRAINING", what="job kind")


def test_jobs_start_in_order_while_they_fit() -> None:
    queued = [("a", Need(1.0)), ("b", Need(2.0)), ("c", Need(1.0))]
    assert admit(queued, used=Need(0.0), capacity=Need(4.0)) == ["a", "b", "c"]
    assert admit(queued, used=Need(1.0), capacity=Need(4.0)) == ["a", "b"]
    # Nothing overtakes the head of the queue, even what would fit.
    big, small = ("big", Need(3.0)), ("small", Need(1.0))
    assert admit([big, small], used=Need(2.0), capacity=Need(4.0)) == []


def test_gpus_are_counted_like_cpus() -> None:
    queued = [("a", Need(1.0, 1)), ("b", Need(1.0, 1)), ("cpu-only", Need(1.0))]
    assert admit(queued, used=Need(0.0), capacity=Need(4.0, 2)) == ["a", "b", "cpu-only"]
    # One GPU held: the second GPU job waits, and the CPU-only job behind it waits too.
    assert admit(queued, used=Need(1.0, 1), capacity=Need(4.0, 2)) == ["a"]
    assert admit(queued, used=Need(0.0), capacity=Need(4.0)) == []


def test_controllers_hold_no_capacity_and_never_wait() -> None:
    controller = JobKind("pipeline", holds_capacity=False)
    assert not controller.holds_capacity
    # A controller queued with 0 CPUs starts even with every CPU taken and a job blocked ahead
    # of it, so it never waits behind the children it will queue.
    queued = [("blocked", Need(4.0)), ("pipeline", Need(0.0)), ("child", Need(1.0))]
    assert admit(queued, used=Need(4.0), capacity=Need(4.0)) == ["pipeline"]
    assert admit(queued, used=Need(0.0), capacity=Need(4.0)) == ["blocked", "pipeline"]
