"""Every change to a run is in the event log: a rename made with a status change too."""

from __future__ import annotations

from dockyard.api.tracking import CreateExperiment, CreateRun, RunStatus, UpdateRun
from dockyard.server._services import Services
from dockyard.server.actor import Actor

ACTOR = Actor.system()


def test_a_run_renamed_as_it_ends_has_its_new_name_in_the_event_log(services: Services) -> None:
    experiment = services.tracking.create_experiment(ACTOR, CreateExperiment(name="audited"))
    run = services.tracking.create_run(
        ACTOR, CreateRun(experiment_id=experiment.experiment_id, run_name="before")
    )
    services.tracking.update_run(
        ACTOR, run.info.run_id, UpdateRun(status=RunStatus.FINISHED, run_name="after")
    )
    changes = services.events.read(types=["run.*"], resource_id=run.info.run_id)
    bodies = [e.body for e in changes if e.type != "run.created"]
    assert bodies == [{"status": "FINISHED", "previous": "RUNNING", "run_name": "after"}]
