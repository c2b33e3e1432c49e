"""A job named into no experiment goes to its kind's default one, made by the first job that
needs it: jobs submitted at once on a fresh server all land there."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from dockyard.api.jobs import Job, TrainingJobSpec
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.settings import Settings

ACTOR = Actor.system()
AT_ONCE = 16


def test_jobs_submitted_at_once_share_the_default_experiment_the_first_makes(
    services: Services, settings: Settings
) -> None:
    code = settings.home / "artifacts" / "data" / "code"
    code.mkdir(parents=True)
    (code / "train.py").write_text("print('trained')\n")
    together = threading.Barrier(AT_ONCE)

    def submit(i: int) -> Job:
        spec = TrainingJobSpec(name=f"at-once-{i}", entry_point="train.py", source_dir=str(code))
        together.wait(timeout=30)
        return services.jobs.submit(ACTOR, spec)

    with ThreadPoolExecutor(AT_ONCE) as pool:
        jobs = list(pool.map(submit, range(AT_ONCE)))
    assert len({job.experiment_id for job in jobs}) == 1
    assert services.tracking.get_experiment_by_name(ACTOR, "training-jobs")


def test_a_deleted_default_experiment_is_named_with_how_to_restore_it(
    services: Services, settings: Settings
) -> None:
    """Jobs that name no experiment go to their kind's; once an admin deletes it, submitting
    one says which experiment that is and how to get it back, not an experiment id the spec
    never gave."""
    import pytest

    from dockyard.api.tracking import LifecycleStage
    from dockyard.errors import InvalidArgument

    code = settings.home / "artifacts" / "data" / "code"
    code.mkdir(parents=True)
    (code / "train.py").write_text("print('trained')\n")
    first = services.jobs.submit(
        ACTOR, TrainingJobSpec(name="before", entry_point="train.py", source_dir=str(code))
    )
    services.tracking.set_experiment_stage(ACTOR, first.experiment_id, LifecycleStage.DELETED)
    spec = TrainingJobSpec(name="after", entry_point="train.py", source_dir=str(code))
    with pytest.raises(InvalidArgument) as refused:
        services.jobs.submit(ACTOR, spec)
    assert refused.value.field == "experiment"
    assert refused.value.message == (
        f"experiment 'training-jobs' is deleted: restore it (dockyard experiments restore "
        f"{first.experiment_id}), where work that names no experiment goes, or name another "
        "experiment"
    )
    named = TrainingJobSpec(
        name="named", entry_point="train.py", source_dir=str(code), experiment="training-jobs"
    )
    with pytest.raises(InvalidArgument, match=r"is deleted: restore it \(dockyard experiments"):
        services.jobs.submit(ACTOR, named)
