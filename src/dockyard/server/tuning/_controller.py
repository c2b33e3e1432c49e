"""One pass over one tuning job: follow its trials, stop the ones the strategy gives up on,
decide whether it has finished, and start trials while there is room.

Every step is a database write the next pass reads back, so a pass may stop anywhere (a
crash, a new leader) and the next one goes on::

    Pending      the trial's number and hyperparameters are recorded; its job may or may not
                 be submitted yet. A pass submits it unless a job of its name exists: the
                 name (``<tuning job>-<number>``) is the idempotency key.
    InProgress   the job runs. With early stopping (or Hyperband) each new step of the
                 objective goes to the pruner; a trial it stops gets the job's stop (SIGTERM,
                 its checkpoint kept) and ends Stopped, "stopped early".
    ended        Completed with the objective's final value; a failed job is run once more
                 (``-r1``) before the trial ends Failed.

The tuning job ends when its trials have all run (``MaxNumberOfTrainingJobs``, or the whole
grid), its objective reached ``TargetObjectiveMetricValue``, the best objective did not improve
for ``MaxNumberOfTrainingJobsNotImproving`` trials, ``MaxRuntimeInSeconds`` passed, or a stop
was asked: running trials are stopped first, then it is marked Completed (Failed when no trial
completed, Stopped after a stop).
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from typing import Any

import orjson
from optuna.trial import TrialState

from dockyard.api.jobs import Job, JobStatus, TrainingJobSpec
from dockyard.api.tracking import LogBatch, MetricIn, RunStatus, UpdateRun
from dockyard.api.tuning import (
    STOPPED_EARLY,
    ObjectiveType,
    TrialStatus,
    TuningJobSpec,
    TuningJobStatus,
)
from dockyard.errors import DockyardError, NotFound
from dockyard.limits import LIMITS
from dockyard.server.actor import Actor
from dockyard.server.tracking import now_ms
from dockyard.server.tuning import _views
from dockyard.server.tuning._records import dump_steps, record, steps_of
from dockyard.server.tuning._service import TuningService
from dockyard.server.tuning._strategy import Searcher, TrialRecord

__all__ = ["TuningController"]

log = logging.getLogger("dockyard.server.tuning")

#: A failed trial runs this many jobs in all.
ATTEMPTS = 2
#: How often a running trial's steps are read when no strategy judges them (they are shown).
_STEPS_S = 1.0
_RUN_END = {
    TuningJobStatus.COMPLETED: RunStatus.FINISHED,
    TuningJobStatus.FAILED: RunStatus.FAILED,
    TuningJobStatus.STOPPED: RunStatus.KILLED,
}


def trial_job(row: Any, number: int, attempt: int) -> str:
    """The job name of a trial's attempt (1-based): the key that makes submitting it again find
    the job already there."""
    base = f"{row.name}-{number:03d}"
    return base if attempt == 1 else f"{base}-r{attempt - 1}"


def _text(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


class TuningController:
    """Drives tuning jobs, one pass at a time (:meth:`advance`)."""

    def __init__(self, service: TuningService) -> None:
        self._service = service
        self._repo = service.repo
        self._db = service.db
        # What each running trial was last judged on (its steps, the trials that had ended):
        # the same again decides the same, so the study is not rebuilt for it. Lost on a
        # restart, which only costs one more decision.
        self._judged: dict[tuple[str, int], tuple[int, int]] = {}
        # When each running trial's steps were last read (monotonic), by (tuning job, trial).
        self._steps_read: dict[tuple[str, int], float] = {}

    def advance(self, row: Any) -> None:
        """One pass over the tuning job ``row`` (see the module docstring)."""
        spec = TuningJobSpec.model_validate_json(row.spec)
        try:
            owner = self._service.owner(row)
        except DockyardError as exc:
            self._finish(row, None, TuningJobStatus.FAILED, f"its creator: {exc.message}")
            return
        searcher = Searcher(spec.config, row.name)
        following = [t for t in self._trials(row) if not TrialStatus(t.status).is_terminal]
        jobs = self._service.jobs.find_many([t.job for t in following])
        for trial in following:
            self._follow(row, spec, searcher, owner, trial, jobs.get(trial.job))
        row = self._reload(row)
        trials = self._trials(row)
        ending = self._ending(row, spec, trials)
        running = [t for t in trials if not TrialStatus(t.status).is_terminal]
        if ending is not None:
            for trial in running:
                self._stop(row, owner, trial, pruned=False)
            if not running:
                self._finish(row, owner, *ending)
            return
        self._launch(row, spec, searcher, owner, trials)

    # -- reading ----------------------------------------------------------------------------------

    def _trials(self, row: Any) -> list[Any]:
        with self._db.read() as conn:
            return self._repo.trials(conn, row.tuning_id)

    def _reload(self, row: Any) -> Any:
        with self._db.read() as conn:
            return self._repo.by_id(conn, row.tuning_id)

    def _objective(self, owner: Actor, run_id: str | None, key: str) -> dict[int, float]:
        """The objective metric of a trial's run, by step (the last value of each step)."""
        if run_id is None:
            return {}
        try:
            page = self._service.tracking.metric_history(
                owner, run_id, key, max_results=LIMITS.history_max_results, page_token=None
            )
        except NotFound:
            return {}
        return {p.step: p.value for p in page.items if math.isfinite(p.value)}

    def _records(self, row: Any, trials: list[Any]) -> list[TrialRecord]:
        records = [record(t) for t in trials]
        parents = self._service.parent_trials(row)
        # Warm-start trials come first, numbered below 0: they seed the strategy and count
        # against no limit.
        records.extend(
            TrialRecord(-1 - i, orjson.loads(t.params), TrialState.COMPLETE, t.value)
            for i, t in enumerate(parents)
        )
        return records

    # -- following a trial ------------------------------------------------------------------------

    def _follow(
        self,
        row: Any,
        spec: TuningJobSpec,
        searcher: Searcher,
        owner: Actor,
        trial: Any,
        job: Job | None,
    ) -> None:
        """One trial's step: ``job`` is its job as this pass read it (None: none exists)."""
        if trial.status == TrialStatus.PENDING:
            self._submit(row, spec, owner, trial)
            return
        if job is None:  # deleted under it: nothing to wait for
            self._end_trial(row, trial, TrialStatus.FAILED, None, "its job was deleted")
            return
        key = (row.tuning_id, trial.number)
        if not (job.status.is_terminal or searcher.stops_early):
            # Its steps are only shown while it runs: read them at most every _STEPS_S, not on
            # every pass another trial's end starts.
            now = time.monotonic()
            if now - self._steps_read.get(key, -math.inf) < _STEPS_S:
                return
            self._steps_read[key] = now
        steps = self._objective(owner, job.run_id, spec.config.objective.metric_name)
        if steps and steps != steps_of(trial):
            with self._db.write() as conn:
                self._repo.change_trial(
                    conn, row.tuning_id, trial.number, intermediate=dump_steps(steps)
                )
        if not job.status.is_terminal:
            # On a new step, and when trials it is compared with have ended.
            if searcher.stops_early and steps and not trial.pruned:
                self._consider_stopping(row, searcher, owner, trial, steps)
            return
        if job.status is JobStatus.COMPLETED:
            if steps:
                value = steps[max(steps)]
                self._end_trial(row, trial, TrialStatus.COMPLETED, value, None)
            else:
                metric = spec.config.objective.metric_name
                reason = f"the objective metric {metric!r} was not logged"
                self._end_trial(row, trial, TrialStatus.FAILED, None, reason)
        elif job.status is JobStatus.STOPPED:
            reason = STOPPED_EARLY if trial.pruned else (job.failure_reason or "stopped")
            self._end_trial(row, trial, TrialStatus.STOPPED, None, reason)
        elif trial.attempts < ATTEMPTS and not row.stop_requested:
            self._retry(row, trial, job.failure_reason or "failed")
        else:
            self._end_trial(row, trial, TrialStatus.FAILED, None, job.failure_reason or "failed")

    def _consider_stopping(
        self, row: Any, searcher: Searcher, owner: Actor, trial: Any, steps: dict[int, float]
    ) -> None:
        trials = self._trials(row)
        ended = sum(1 for t in trials if TrialStatus(t.status).is_terminal)
        key, basis = (row.tuning_id, trial.number), (len(steps), ended)
        if self._judged.get(key) == basis:
            return
        self._judged[key] = basis
        records = [record(t, steps if t.number == trial.number else None) for t in trials]
        stop, attrs = searcher.should_stop(records, trial.number)
        if attrs != orjson.loads(trial.system_attrs):
            with self._db.write() as conn:
                self._repo.change_trial(
                    conn, row.tuning_id, trial.number, system_attrs=orjson.dumps(attrs).decode()
                )
        if stop:
            self._stop(row, owner, trial, pruned=True, step=max(steps))

    def _stop(self, row: Any, owner: Actor, trial: Any, *, pruned: bool, step: int = 0) -> None:
        if trial.status == TrialStatus.PENDING:
            self._end_trial(row, trial, TrialStatus.STOPPED, None, "the tuning job ended")
            return
        if pruned:
            with self._db.write() as conn:
                self._repo.change_trial(conn, row.tuning_id, trial.number, pruned=True)
                self._service.event(
                    conn,
                    owner,
                    "tuning.trial.pruned",
                    row.name,
                    {"number": trial.number, "job": trial.job, "step": step},
                )
        reason = STOPPED_EARLY if pruned else "the tuning job ended"
        with contextlib.suppress(NotFound):  # deleted under it: its end is seen next pass
            self._service.jobs.stop(owner, trial.job, reason=reason)

    def _submit(self, row: Any, spec: TuningJobSpec, owner: Actor, trial: Any) -> None:
        jobs = self._service.jobs
        try:
            try:
                job = jobs.get(owner, trial.job)  # submitted before a crash: done already
            except NotFound:
                job = jobs.submit(owner, self._trial_spec(row, spec, trial))
        except DockyardError as exc:
            reason = f"{exc.field}: {exc.message}" if exc.field else exc.message
            self._end_trial(row, trial, TrialStatus.FAILED, None, reason)
            return
        tags = job.spec.get("tags") or {}
        if (tags.get("dockyard.tuning.name"), tags.get("dockyard.tuning.trial")) != (
            row.name,
            str(trial.number),
        ):  # a job of that name that this trial did not submit: never adopt it
            reason = f"a job named {trial.job} exists that is not this trial's"
            self._end_trial(row, trial, TrialStatus.FAILED, None, reason)
            return
        with self._db.write() as conn:
            self._repo.change_trial(
                conn,
                row.tuning_id,
                trial.number,
                status=TrialStatus.IN_PROGRESS.value,
                run_id=job.run_id,
            )
            self._service.event(
                conn,
                owner,
                "tuning.trial.started",
                row.name,
                {"number": trial.number, "job": trial.job, "attempt": trial.attempts},
            )

    def _trial_spec(self, row: Any, spec: TuningJobSpec, trial: Any) -> TrainingJobSpec:
        base = spec.training_job
        hyper = dict(base.hyperparameters)
        hyperband = spec.config.hyperband
        if hyperband.resource_parameter and hyperband.max_resource is not None:
            hyper[hyperband.resource_parameter] = str(hyperband.max_resource)
        hyper.update({k: _text(v) for k, v in orjson.loads(trial.params).items()})
        tags = {
            **base.tags,
            "mlflow.parentRunId": row.run_id,
            "dockyard.tuning.name": row.name,
            "dockyard.tuning.trial": str(trial.number),
        }
        experiment = base.experiment or spec.experiment or "tuning-jobs"
        return base.model_copy(
            update={
                "name": trial.job,
                "hyperparameters": hyper,
                "tags": tags,
                "experiment": experiment,
            }
        )

    def _retry(self, row: Any, trial: Any, reason: str) -> None:
        job = trial_job(row, trial.number, trial.attempts + 1)
        with self._db.write() as conn:
            self._repo.change_trial(
                conn,
                row.tuning_id,
                trial.number,
                job=job,
                status=TrialStatus.PENDING.value,
                attempts=trial.attempts + 1,
                intermediate="{}",
                system_attrs="{}",
                run_id=None,
            )
            self._service.event(
                conn,
                Actor.system("tuning"),
                "tuning.trial.retried",
                row.name,
                {
                    "number": trial.number,
                    "failed_job": trial.job,
                    "job": job,
                    "reason": reason[:300],
                },
            )

    def _end_trial(
        self, row: Any, trial: Any, status: TrialStatus, value: float | None, reason: str | None
    ) -> None:
        self._judged.pop((row.tuning_id, trial.number), None)
        self._steps_read.pop((row.tuning_id, trial.number), None)
        kind = {
            TrialStatus.COMPLETED: "tuning.trial.completed",
            TrialStatus.FAILED: "tuning.trial.failed",
            TrialStatus.STOPPED: "tuning.trial.stopped",
        }[status]
        body: dict[str, Any] = {"number": trial.number, "job": trial.job}
        if value is not None:
            body["objective"] = value
        if reason:
            body["reason"] = reason[:300]
        with self._db.write() as conn:
            self._repo.change_trial(
                conn,
                row.tuning_id,
                trial.number,
                status=status.value,
                value=value,
                reason=reason[:1000] if reason else None,
                end_time=now_ms(),
            )
            self._service.event(conn, Actor.system("tuning"), kind, row.name, body)
        if value is not None and row.run_id:
            self._log_progress(row, trial.number, value)

    def _log_progress(self, row: Any, number: int, value: float) -> None:
        """The objective of each trial, and the best so far, on the tuning job's run: the
        objective over time."""
        spec = TuningJobSpec.model_validate_json(row.spec)
        best = _views.best_of(self._trials(row), spec.config.objective.type)
        now = now_ms()
        metrics = [MetricIn(key="objective", value=value, timestamp=now, step=number)]
        if best is not None:
            metrics.append(
                MetricIn(key="best_objective", value=best.value, timestamp=now, step=number)
            )
        try:
            self._service.tracking.log_batch(
                Actor.system("tuning"), row.run_id, LogBatch(metrics=metrics)
            )
        except DockyardError as exc:  # the run deleted meanwhile: the trials still say it
            log.warning("tuning job %s: %s", row.name, exc.message)

    # -- the tuning job ---------------------------------------------------------------------------

    def _ending(
        self, row: Any, spec: TuningJobSpec, trials: list[Any]
    ) -> tuple[TuningJobStatus, str] | None:
        """Why the tuning job ends now, and how; None while it goes on."""
        config = spec.config
        done = [t for t in trials if t.status == TrialStatus.COMPLETED and t.value is not None]
        if row.stop_requested:
            return TuningJobStatus.STOPPED, "stopped on request"
        limit = config.resource_limits.max_runtime_s
        if limit is not None and now_ms() - row.created_time >= limit * 1000:
            return self._outcome(done, f"MaxRuntimeInSeconds ({limit} s) reached")
        best = _views.best_of(trials, config.objective.type)
        target = config.completion_criteria.target_objective_value
        if best is not None and target is not None:
            reached = (
                best.value >= target
                if config.objective.type is ObjectiveType.MAXIMIZE
                else best.value <= target
            )
            if reached:
                return TuningJobStatus.COMPLETED, (
                    f"the objective reached TargetObjectiveMetricValue {target:g} "
                    f"(trial {best.number}: {best.value:g})"
                )
        patience = config.completion_criteria.best_objective_not_improving
        if best is not None and patience is not None:
            after = [t for t in done if (t.end_time or 0) > (best.end_time or 0)]
            if len(after) >= patience.max_jobs_not_improving:
                return TuningJobStatus.COMPLETED, (
                    f"the best objective did not improve in {len(after)} trials"
                )
        finished = all(TrialStatus(t.status).is_terminal for t in trials)
        if finished and len(trials) >= config.max_jobs:
            return self._outcome(done, f"all {len(trials)} training jobs ran")
        return None

    @staticmethod
    def _outcome(done: list[Any], reason: str) -> tuple[TuningJobStatus, str]:
        if done:
            return TuningJobStatus.COMPLETED, reason
        return TuningJobStatus.FAILED, f"{reason}; no trial completed"

    def _launch(
        self,
        row: Any,
        spec: TuningJobSpec,
        searcher: Searcher,
        owner: Actor,
        trials: list[Any],
    ) -> None:
        config = spec.config
        running = sum(1 for t in trials if not TrialStatus(t.status).is_terminal)
        room = min(
            config.resource_limits.max_parallel_jobs - running, config.max_jobs - len(trials)
        )
        for _ in range(max(0, room)):
            with self._db.read() as conn:
                number = self._repo.next_number(conn, row.tuning_id)
            try:
                proposal = searcher.propose(self._records(row, self._trials(row)), number)
            except Exception as exc:  # the sampler itself broke: it would on every pass
                log.exception("tuning job %s: the strategy failed", row.name)
                if not any(not TrialStatus(t.status).is_terminal for t in self._trials(row)):
                    self._finish(row, owner, TuningJobStatus.FAILED, f"the strategy failed: {exc}")
                return
            if proposal is None:  # every grid point has a trial (max_jobs is the grid's size)
                return
            with self._db.write() as conn:
                self._repo.add_trial(
                    conn,
                    tuning_id=row.tuning_id,
                    number=number,
                    job=trial_job(row, number, 1),
                    status=TrialStatus.PENDING.value,
                    params=orjson.dumps(proposal.params).decode(),
                    created_time=now_ms(),
                )
                trial = self._repo.trials(conn, row.tuning_id)[-1]
            self._submit(row, spec, owner, trial)

    def _finish(self, row: Any, owner: Actor | None, status: TuningJobStatus, reason: str) -> None:
        with self._db.write() as conn:
            values: dict[str, Any] = {"status": status.value, "end_time": now_ms()}
            if status is TuningJobStatus.FAILED:
                values["failure_reason"] = reason[:1000]
            else:
                values["completion_reason"] = reason[:1000]
            self._repo.change(conn, row.tuning_id, **values)
            trials = self._repo.trials(conn, row.tuning_id)
            spec = TuningJobSpec.model_validate_json(row.spec)
            best = _views.best_of(trials, spec.config.objective.type)
            body: dict[str, Any] = {"status": status.value, "reason": reason[:300]}
            if best is not None:
                body["best_trial"] = best.number
                body["best_job"] = best.job
                body["objective"] = best.value
            kind = {
                TuningJobStatus.COMPLETED: "tuning.completed",
                TuningJobStatus.FAILED: "tuning.failed",
                TuningJobStatus.STOPPED: "tuning.stopped",
            }[status]
            self._service.event(conn, owner or Actor.system("tuning"), kind, row.name, body)
        if row.run_id:
            try:
                self._service.tracking.update_run(
                    Actor.system("tuning"), row.run_id, UpdateRun(status=_RUN_END[status])
                )
            except DockyardError as exc:
                log.warning("tuning job %s: %s", row.name, exc.message)
