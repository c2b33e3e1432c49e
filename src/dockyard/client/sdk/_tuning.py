"""Hyperparameter tuning from Python, in the SageMaker Python SDK's shape::

    tuner = dy.HyperparameterTuner(
        estimator,
        objective_metric_name="validation:rmse",
        objective_type="Minimize",
        hyperparameter_ranges={
            "eta": dy.ContinuousParameter(0.01, 0.5, scaling_type="Logarithmic"),
            "max_depth": dy.IntegerParameter(2, 8),
        },
        max_jobs=20,
        max_parallel_jobs=2,
    )
    tuner.fit({"train": train_uri, "validation": validation_uri})
    tuner.best_training_job()
    tuner.analytics().dataframe()
    tuner.best_estimator().deploy()

The tuning itself runs on the server (each trial a training job); the tuner submits it and
reads it back.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from dockyard.api.tuning import Trial, TuningJob, TuningJobSpec
from dockyard.client.http import Client, from_answer, routes
from dockyard.client.sdk._context import context
from dockyard.client.sdk._requests import build_request
from dockyard.errors import InvalidArgument, JobFailed

if TYPE_CHECKING:
    import pandas as pd

    from dockyard.client.sdk._jobs import Estimator

__all__ = [
    "CategoricalParameter",
    "ContinuousParameter",
    "HyperparameterTuner",
    "IntegerParameter",
    "TuningJobAnalytics",
]

#: SageMaker SDK arguments of the tuner that mean nothing here: accepted and ignored.
_IGNORED = frozenset({"tags", "estimator_name", "autotune", "hyperparameters_to_keep_static"})


class _Range:
    """One hyperparameter's range (``ScalingType`` ``Auto`` unless given)."""

    kind: str

    def __init__(self, min_value: float, max_value: float, scaling_type: str = "Auto") -> None:
        self.min_value = min_value
        self.max_value = max_value
        self.scaling_type = scaling_type

    def as_range(self, name: str) -> dict[str, Any]:
        return {
            "name": name,
            "min_value": self.min_value,
            "max_value": self.max_value,
            "scaling_type": self.scaling_type,
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.min_value}, {self.max_value}, {self.scaling_type})"


class IntegerParameter(_Range):
    """Whole numbers from ``min_value`` to ``max_value``, both included."""

    kind = "integer"


class ContinuousParameter(_Range):
    """Real numbers from ``min_value`` to ``max_value``; ``scaling_type`` ``Logarithmic`` for
    rates and the like, ``ReverseLogarithmic`` for values close to 1."""

    kind = "continuous"


class CategoricalParameter:
    """One of ``values`` (strings, numbers or booleans)."""

    kind = "categorical"

    def __init__(self, values: Sequence[Any] | Any) -> None:
        is_list = isinstance(values, Sequence) and not isinstance(values, str)
        self.values = list(values) if is_list else [values]

    def as_range(self, name: str) -> dict[str, Any]:
        return {"name": name, "values": self.values}

    def __repr__(self) -> str:
        return f"CategoricalParameter({self.values})"


ParameterRange = IntegerParameter | ContinuousParameter | CategoricalParameter


class TuningJobAnalytics:
    """A tuning job's trials as a table (SageMaker's ``HyperparameterTuningJobAnalytics``)."""

    def __init__(self, name: str, client: Client) -> None:
        self.name = name
        self._client = client

    def trials(self) -> list[Trial]:
        answer = self._client.call(routes.LIST_TUNING_TRIALS(name=self.name))
        return [from_answer(Trial, t) for t in answer["trials"]]

    def importance(self) -> dict[str, float]:
        """Each hyperparameter's share of the objective's variance (fANOVA over the completed
        trials, summing to 1), most important first; empty before two trials completed."""
        answer = self._client.call(routes.GET_TUNING_IMPORTANCE(name=self.name))
        return dict(answer["importance"])

    def objective_over_time(self) -> pd.DataFrame:
        """The completed trials in the order they ended, with the best objective so far:
        columns ``TrainingEndTime``, ``TrialNumber``, ``FinalObjectiveValue``,
        ``BestObjectiveValue``."""
        frame = self.dataframe()
        frame = frame[frame["TrainingJobStatus"] == "Completed"].sort_values("TrainingEndTime")
        values = frame["FinalObjectiveValue"]
        spec = self._client.call(routes.GET_TUNING_JOB(name=self.name))["spec"]
        maximize = spec["config"]["objective"]["type"] == "Maximize"
        best = values.cummax() if maximize else values.cummin()
        return frame.assign(BestObjectiveValue=best)[
            ["TrainingEndTime", "TrialNumber", "FinalObjectiveValue", "BestObjectiveValue"]
        ].reset_index(drop=True)

    def dataframe(self) -> pd.DataFrame:
        """One row per trial: its hyperparameters, then ``TrainingJobName``,
        ``TrainingJobStatus``, ``FinalObjectiveValue``, ``TrainingStartTime``,
        ``TrainingEndTime``, ``TrainingElapsedTimeSeconds`` (the SageMaker SDK's columns), and
        ``TrialNumber``, ``Attempts``, ``Reason``."""
        import pandas as pd

        rows = []
        for t in self.trials():
            start = pd.to_datetime(t.created_time, unit="ms", utc=True)
            end = pd.to_datetime(t.end_time, unit="ms", utc=True) if t.end_time else None
            rows.append(
                {
                    **t.hyperparameters,
                    "TrainingJobName": t.job,
                    "TrainingJobStatus": t.status.value,
                    "FinalObjectiveValue": t.objective,
                    "TrainingStartTime": start,
                    "TrainingEndTime": end,
                    "TrainingElapsedTimeSeconds": (
                        (t.end_time - t.created_time) / 1000 if t.end_time else None
                    ),
                    "TrialNumber": t.number,
                    "Attempts": t.attempts,
                    "Reason": t.reason,
                }
            )
        return pd.DataFrame(rows)


class HyperparameterTuner:
    """Tune an :class:`~dockyard.client.sdk.Estimator`'s hyperparameters on the server.

    Args:
        estimator: What each trial trains: its script or built-in algorithm, static
            hyperparameters, resources and options.
        objective_metric_name: The metric the trials log (``dy.log_metric`` in the job's run,
            or a ``metric_definitions`` regex over its log); its final value is the objective.
        hyperparameter_ranges: ``{name: IntegerParameter | ContinuousParameter |
            CategoricalParameter}``.
        metric_definitions: ``[{"Name", "Regex"}]``, added to the estimator's.
        strategy: ``Bayesian`` (TPE; ``bayesian_sampler="gp"`` for a Gaussian process),
            ``Random``, ``Grid`` or ``Hyperband``.
        objective_type: ``Maximize`` (SageMaker's default) or ``Minimize``.
        max_jobs: How many trials in all (the grid's size for ``Grid``).
        max_parallel_jobs: How many run at once.
        early_stopping_type: ``Off`` or ``Auto`` (the median rule).
        random_seed, max_runtime_in_seconds, completion_criteria_config, warm_start_config,
        strategy_config, base_tuning_job_name: as in the SageMaker SDK (the configs as
        mappings in SageMaker's spelling).
    """

    def __init__(
        self,
        estimator: Estimator,
        objective_metric_name: str,
        hyperparameter_ranges: Mapping[str, ParameterRange],
        metric_definitions: Sequence[Mapping[str, str]] | None = None,
        strategy: str = "Bayesian",
        objective_type: str = "Maximize",
        max_jobs: int | None = None,
        max_parallel_jobs: int = 1,
        max_runtime_in_seconds: int | None = None,
        early_stopping_type: str = "Off",
        base_tuning_job_name: str | None = None,
        random_seed: int | None = None,
        completion_criteria_config: Mapping[str, Any] | None = None,
        warm_start_config: Mapping[str, Any] | None = None,
        strategy_config: Mapping[str, Any] | None = None,
        bayesian_sampler: str = "tpe",
        experiment: str | None = None,
        **ignored: Any,
    ) -> None:
        unknown = sorted(set(ignored) - _IGNORED)
        if unknown:
            raise InvalidArgument(
                f"unknown HyperparameterTuner argument {unknown[0]!r}", field=unknown[0]
            )
        self.estimator = estimator
        self.objective_metric_name = objective_metric_name
        self.hyperparameter_ranges = dict(hyperparameter_ranges)
        self.metric_definitions = list(metric_definitions or [])
        self.strategy = strategy
        self.objective_type = objective_type
        self.max_jobs = max_jobs
        self.max_parallel_jobs = max_parallel_jobs
        self.max_runtime_in_seconds = max_runtime_in_seconds
        self.early_stopping_type = early_stopping_type
        self.base_tuning_job_name = base_tuning_job_name
        self.random_seed = random_seed
        self.completion_criteria_config = completion_criteria_config
        self.warm_start_config = warm_start_config
        self.strategy_config = strategy_config
        self.bayesian_sampler = bayesian_sampler
        self.experiment = experiment
        self.latest_tuning_job: str | None = None
        self._client: Client | None = None

    def _ranges(self) -> dict[str, list[dict[str, Any]]]:
        ranges: dict[str, list[dict[str, Any]]] = {
            "integer": [],
            "continuous": [],
            "categorical": [],
        }
        for name, given in self.hyperparameter_ranges.items():
            if not isinstance(given, (_Range, CategoricalParameter)):
                raise InvalidArgument(
                    f"{name}: a range is an IntegerParameter, ContinuousParameter or "
                    f"CategoricalParameter (got {type(given).__name__})",
                    field=f"hyperparameter_ranges.{name}",
                )
            ranges[given.kind].append(given.as_range(name))
        return ranges

    def _body(self, client: Client, inputs: Any, job_name: str | None) -> dict[str, Any]:
        single = isinstance(inputs, str) or getattr(inputs, "config", None) is not None
        channels = {"train": inputs} if single else dict(inputs or {})
        training = self.estimator._spec(client, channels, None)
        spec = training if isinstance(training, dict) else training.model_dump(mode="json")
        spec.pop("name", None)
        spec["metric_definitions"] = [
            *spec.get("metric_definitions", []),
            *(
                {"name": d.get("Name", d.get("name")), "regex": d.get("Regex", d.get("regex"))}
                for d in self.metric_definitions
            ),
        ]
        tuned = set(self.hyperparameter_ranges)
        spec["hyperparameters"] = {
            k: v for k, v in spec.get("hyperparameters", {}).items() if k not in tuned
        }
        name = job_name
        if name is None and self.base_tuning_job_name:
            name = f"{self.base_tuning_job_name[:18]}-{time.strftime('%m%d-%H%M%S')}"
        config: dict[str, Any] = {
            "strategy": self.strategy,
            "objective": {"type": self.objective_type, "metric_name": self.objective_metric_name},
            "resource_limits": {
                "max_jobs": self.max_jobs,
                "max_parallel_jobs": self.max_parallel_jobs,
                "max_runtime_s": self.max_runtime_in_seconds,
            },
            "parameter_ranges": self._ranges(),
            "early_stopping": self.early_stopping_type,
            "random_seed": self.random_seed,
            "bayesian_sampler": self.bayesian_sampler,
        }
        if self.completion_criteria_config is not None:
            config["completion_criteria"] = dict(self.completion_criteria_config)
        if self.strategy_config is not None:
            config["StrategyConfig"] = dict(self.strategy_config)
        body: dict[str, Any] = {"name": name, "config": config, "training_job": spec}
        if self.warm_start_config is not None:
            body["warm_start"] = dict(self.warm_start_config)
        if self.experiment is not None:
            body["experiment"] = self.experiment
        # The server's own model: a bad range or limit fails here, naming the field.
        checked = build_request(TuningJobSpec, body)
        return checked.model_dump(mode="json", exclude_none=True)

    def fit(
        self,
        inputs: Any = None,
        job_name: str | None = None,
        *,
        wait: bool = True,
        **ignored: Any,
    ) -> HyperparameterTuner:
        """Start the tuning job (``inputs`` as :meth:`Estimator.fit` takes them) and, with
        ``wait``, block until it ends. Raises :class:`~dockyard.errors.JobFailed` when it
        fails."""
        unknown = sorted(set(ignored) - {"include_cls_metadata", "estimator_kwargs", "logs"})
        if unknown:
            raise InvalidArgument(f"unknown fit() argument {unknown[0]!r}", field=unknown[0])
        client = self._client = context().server()
        answer = client.call(routes.CREATE_TUNING_JOB(), self._body(client, inputs, job_name))
        self.latest_tuning_job = str(answer["name"])
        if wait:
            self.wait()
        return self

    def _require(self) -> tuple[str, Client]:
        if self.latest_tuning_job is None:
            raise InvalidArgument("no tuning job yet: call fit() first")
        return self.latest_tuning_job, self._client or context().server()

    def describe(self) -> TuningJob:
        name, client = self._require()
        return from_answer(TuningJob, client.call(routes.GET_TUNING_JOB(name=name)))

    def wait(self, poll: float = 1.0) -> TuningJob:
        """The tuning job once it has ended."""
        while True:
            job = self.describe()
            if job.status.is_terminal:
                if job.status.value == "Failed":
                    raise JobFailed(
                        f"tuning job {job.name} failed: {job.failure_reason}",
                        details={"tuning_job": job.name},
                    )
                return job
            time.sleep(poll)

    def stop(self) -> TuningJob:
        """Stop the tuning job (the SageMaker SDK's ``stop_tuning_job``)."""
        name, client = self._require()
        return from_answer(TuningJob, client.call(routes.STOP_TUNING_JOB(name=name)))

    stop_tuning_job = stop

    def best_training_job(self) -> str:
        """The name of the training job of the best trial so far."""
        best = self.describe().best_trial
        if best is None:
            raise InvalidArgument(f"tuning job {self.latest_tuning_job} has no completed trial")
        return best.job

    def analytics(self) -> TuningJobAnalytics:
        name, client = self._require()
        return TuningJobAnalytics(name, client)

    def best_estimator(self) -> Estimator:
        """A copy of the estimator attached to the best trial's job: ``deploy()``,
        ``model_data`` and ``transformer()`` use its model."""
        from dockyard.client.sdk._jobs import TrainingJob

        best = self.best_training_job()
        _, client = self._require()
        attached = copy.copy(self.estimator)
        job = TrainingJob(best, client)
        attached.latest_job = job
        attached.hyperparameters = type(self.estimator.hyperparameters)(
            {**self.estimator.hyperparameters, **job.describe().spec.get("hyperparameters", {})}
        )
        return attached
