"""Hyperparameter tuning jobs through SageMaker's own clients: the SDK's ``HyperparameterTuner``
tunes the built-in XGBoost image (fit, best training job, analytics, best estimator) and boto3
lists, sorts, filters and stops, against a live server with accounts (fixtures of
:mod:`tests.server.compat.aws.test_sagemaker`). The SDK's waits poll every half second."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from tests.runtime.serving.test_aws import import_sagemaker
from tests.server.compat.aws.test_sagemaker import (  # noqa: F401 (fixtures)
    TRAIN_PY,
    Live,
    _csv,
    _rows,
    _session,
    _training,
    aws,
    error,
    live,
    sagemaker_client,
)

pytestmark = [pytest.mark.slow, pytest.mark.s3]

IMAGE = "246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:1.7-1"
STATIC = {"objective": "reg:squarederror", "num_round": "8", "min_child_weight": "1"}


@pytest.fixture
def tuned(aws: Live, monkeypatch: pytest.MonkeyPatch) -> Live:  # noqa: F811
    session = import_sagemaker().session.Session
    monkeypatch.setattr(
        session,
        "wait_for_tuning_job",
        functools.partialmethod(session.wait_for_tuning_job, poll=0.5),
    )
    return aws


def _definition(bucket: str, channel: str) -> dict[str, Any]:
    training = _training(bucket, channel)
    return {
        "StaticHyperParameters": STATIC,
        "AlgorithmSpecification": training["AlgorithmSpecification"],
        "RoleArn": training["RoleArn"],
        "InputDataConfig": training["InputDataConfig"],
        "OutputDataConfig": training["OutputDataConfig"],
        "ResourceConfig": training["ResourceConfig"],
        "StoppingCondition": training["StoppingCondition"],
    }


def _config(**changes: Any) -> dict[str, Any]:
    config = {
        "Strategy": "Random",
        "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "train:rmse"},
        "ResourceLimits": {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 1},
        "ParameterRanges": {
            "ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.1", "MaxValue": "0.5"}]
        },
    }
    config.update(changes)
    return config


def test_the_sdk_tunes_the_built_in_xgboost(tuned: Live, tmp_path: Path) -> None:
    sagemaker = import_sagemaker()
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput
    from sagemaker.tuner import ContinuousParameter, HyperparameterTuner, IntegerParameter

    session = _session(tuned)
    x, y = _rows(240, seed=3)
    train = session.upload_data(
        str(_csv(tmp_path / "train.csv", y[:180], x[:180])), key_prefix="hpo/train"
    )
    validation = session.upload_data(
        str(_csv(tmp_path / "validation.csv", y[180:], x[180:])), key_prefix="hpo/validation"
    )
    estimator = Estimator(
        sagemaker.image_uris.retrieve("xgboost", "us-west-2", "1.7-1"),
        "arn:aws:iam::111122223333:role/SageMakerRole",
        instance_count=1,
        instance_type="ml.m5.large",
        output_path=f"s3://{tuned.bucket}/hpo/output",
        sagemaker_session=session,
    )
    estimator.set_hyperparameters(objective="reg:squarederror", num_round=10)
    tuner = HyperparameterTuner(
        estimator,
        objective_metric_name="validation:rmse",
        hyperparameter_ranges={
            "eta": ContinuousParameter(0.1, 0.5),
            "max_depth": IntegerParameter(2, 5),
        },
        max_jobs=4,
        max_parallel_jobs=2,
        objective_type="Minimize",
        random_seed=7,
    )
    tuner.fit(
        {
            "train": TrainingInput(train, content_type="text/csv"),
            "validation": TrainingInput(validation, content_type="text/csv"),
        }
    )
    name = tuner.latest_tuning_job.name
    sm = session.sagemaker_client
    described = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert described["HyperParameterTuningJobStatus"] == "Completed"
    assert described["TrainingJobStatusCounters"]["Completed"] == 4
    assert described["ObjectiveStatusCounters"] == {"Succeeded": 4, "Pending": 0, "Failed": 0}
    config = described["HyperParameterTuningJobConfig"]
    assert config["Strategy"] == "Bayesian" and config["ResourceLimits"] == {
        "MaxNumberOfTrainingJobs": 4,
        "MaxParallelTrainingJobs": 2,
    }
    definition = described["TrainingJobDefinition"]
    assert definition["AlgorithmSpecification"]["TrainingImage"] == estimator.image_uri
    assert definition["StaticHyperParameters"]["_tuning_objective_metric"] == "validation:rmse"

    frame = tuner.analytics().dataframe()
    assert len(frame) == 4 and set(frame["TrainingJobStatus"]) == {"Completed"}
    assert frame["eta"].between(0.1, 0.5).all() and frame["max_depth"].between(2, 5).all()
    best = tuner.best_training_job()
    best_value = described["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]
    assert best_value["MetricName"] == "validation:rmse"
    assert best_value["Value"] == frame["FinalObjectiveValue"].min() < 1.5
    assert best == frame.loc[frame["FinalObjectiveValue"].idxmin(), "TrainingJobName"]

    job = sm.describe_training_job(TrainingJobName=best)  # a trial is a training job
    assert job["TuningJobArn"] == described["HyperParameterTuningJobArn"]
    tuned_values = described["BestTrainingJob"]["TunedHyperParameters"]
    assert {k: job["HyperParameters"][k] for k in tuned_values} == tuned_values
    attached = HyperparameterTuner.attach(name, sagemaker_session=session)
    assert attached.best_training_job() == best
    assert attached.objective_metric_name == "validation:rmse" and attached.max_jobs == 4
    best_estimator = tuner.best_estimator()
    assert best_estimator.latest_training_job.name == best
    assert best_estimator.model_data == job["ModelArtifacts"]["S3ModelArtifacts"]

    by_value = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, SortBy="FinalObjectiveMetricValue", MaxResults=3
    )
    values = [
        s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
        for s in by_value["TrainingJobSummaries"]
    ]
    assert values == sorted(values) and values[0] == best_value["Value"]
    assert by_value["NextToken"]
    rest = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name,
        SortBy="FinalObjectiveMetricValue",
        NextToken=by_value["NextToken"],
    )
    assert len(rest["TrainingJobSummaries"]) == 1 and "NextToken" not in rest
    failed = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, StatusEquals="Failed"
    )
    assert failed["TrainingJobSummaries"] == []
    by_name = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, SortBy="Name", SortOrder="Descending"
    )
    names = [s["TrainingJobName"] for s in by_name["TrainingJobSummaries"]]
    # A trial run again (``-r1``) says why its first attempt failed.
    first_attempts = {n.rsplit("-r", 1)[0] for n in names if n.rsplit("-", 1)[-1].startswith("r")}
    why = {
        n: sm.describe_training_job(TrainingJobName=n).get("FailureReason") for n in first_attempts
    }
    assert names == [f"{name}-{n:03d}" for n in (3, 2, 1, 0)], why

    listed = sm.list_hyper_parameter_tuning_jobs(NameContains=name, StatusEquals="Completed")
    (summary,) = listed["HyperParameterTuningJobSummaries"]
    assert summary["HyperParameterTuningJobName"] == name and summary["Strategy"] == "Bayesian"


def test_a_script_mode_tuners_best_estimator_is_attached(tuned: Live, tmp_path: Path) -> None:
    """The best trial's DescribeTrainingJob answers its hyperparameters as the SDK sent them
    (script mode's sagemaker_* keys, JSON-encoded values), with the tuned value put in, so
    ``best_estimator()`` (``SKLearn.attach``) rebuilds the estimator."""
    from sagemaker.sklearn import SKLearn
    from sagemaker.tuner import CategoricalParameter, HyperparameterTuner

    session = _session(tuned)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text(TRAIN_PY)
    x, y = _rows(100, seed=8)
    train = session.upload_data(str(_csv(tmp_path / "train.csv", y, x)), key_prefix="hpo-sk")
    estimator = SKLearn(
        entry_point="train.py",
        source_dir=str(tmp_path / "src"),
        framework_version="1.2-1",
        role="arn:aws:iam::111122223333:role/SageMakerRole",
        instance_count=1,
        instance_type="ml.m5.large",
        sagemaker_session=session,
    )
    tuner = HyperparameterTuner(
        estimator,
        objective_metric_name="train:r2",
        metric_definitions=[{"Name": "train:r2", "Regex": r"train_r2=([0-9.]+)"}],
        hyperparameter_ranges={"fit_intercept": CategoricalParameter(["true", "false"])},
        max_jobs=2,
        max_parallel_jobs=1,
        objective_type="Maximize",
    )
    tuner.fit({"train": train})
    best = tuner.best_estimator()
    job = session.sagemaker_client.describe_training_job(TrainingJobName=tuner.best_training_job())
    assert best.entry_point == "train.py"
    assert best.source_dir == estimator.uploaded_code.s3_prefix
    assert best.hyperparameters()["fit_intercept"] == job["HyperParameters"]["fit_intercept"]
    assert best.model_data == job["ModelArtifacts"]["S3ModelArtifacts"]


def test_a_tuning_job_stops_with_its_trials(tuned: Live) -> None:
    sm = sagemaker_client(tuned)
    sm.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="hpo-stopped",
        HyperParameterTuningJobConfig=_config(
            ResourceLimits={"MaxNumberOfTrainingJobs": 3, "MaxParallelTrainingJobs": 1}
        ),
        TrainingJobDefinition=_definition(tuned.bucket, "y"),
    )
    sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="hpo-stopped")
    ended = _session(tuned).wait_for_tuning_job("hpo-stopped")
    assert ended["HyperParameterTuningJobStatus"] == "Stopped"
    counters = ended["TrainingJobStatusCounters"]
    assert counters["InProgress"] == 0 and counters["Completed"] < 3
    # A stopped job's trials may seed another's strategy.
    warm = {
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "hpo-stopped"}],
        "WarmStartType": "TransferLearning",
    }
    sm.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="hpo-warm",
        HyperParameterTuningJobConfig=_config(),
        TrainingJobDefinition=_definition(tuned.bucket, "y"),
        WarmStartConfig=warm,
    )
    sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="hpo-warm")
    warmed = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="hpo-warm")
    assert warmed["WarmStartConfig"] == warm
    assert _session(tuned).wait_for_tuning_job("hpo-warm")["HyperParameterTuningJobStatus"] == (
        "Stopped"
    )
    with pytest.raises(ClientError) as caught:
        sm.create_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="hpo-stopped",
            HyperParameterTuningJobConfig=_config(),
            TrainingJobDefinition=_definition(tuned.bucket, "y"),
        )
    assert error(caught)[0] == "ResourceInUse"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        (
            {
                "HyperParameterTuningJobConfig": _config(
                    ResourceLimits={"MaxParallelTrainingJobs": 1}
                )
            },
            "HyperParameterTuningJobConfig",
        ),
        (
            {
                "HyperParameterTuningJobConfig": _config(
                    ParameterRanges={
                        "IntegerParameterRanges": [
                            {"Name": "max_depth", "MinValue": "5", "MaxValue": "2"}
                        ]
                    }
                )
            },
            "HyperParameterTuningJobConfig.ParameterRanges",
        ),
        ({"TrainingJobDefinition": None}, "1 validation error detected: TrainingJobDefinition"),
        ({"HyperParameterTuningJobName": "not_a_name"}, "HyperParameterTuningJobName"),
        (
            {
                "WarmStartConfig": {
                    "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "nope"}],
                    "WarmStartType": "IdenticalDataAndAlgorithm",
                }
            },
            "WarmStartConfig.ParentHyperParameterTuningJobs[0]: parent tuning job 'nope'",
        ),
    ],
    ids=["max-jobs", "range", "definition", "name", "warm-start"],
)
def test_bad_tuning_requests_name_the_field(
    tuned: Live, changes: dict[str, Any], field: str
) -> None:
    request = {
        "HyperParameterTuningJobName": "hpo-bad",
        "HyperParameterTuningJobConfig": _config(),
        "TrainingJobDefinition": _definition(tuned.bucket, "y"),
        **changes,
    }
    with pytest.raises(ClientError) as caught:
        sagemaker_client(tuned).create_hyper_parameter_tuning_job(
            **{k: v for k, v in request.items() if v is not None}
        )
    code, text = error(caught)
    assert code == "ValidationException" and text.startswith(field), text


def test_a_bad_image_in_the_definition_names_its_field(tuned: Live) -> None:
    definition = _definition(tuned.bucket, "y")
    definition["AlgorithmSpecification"] = {
        "TrainingImage": "my/own:1",
        "TrainingInputMode": "File",
    }
    with pytest.raises(ClientError) as caught:
        sagemaker_client(tuned).create_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="hpo-image",
            HyperParameterTuningJobConfig=_config(),
            TrainingJobDefinition=definition,
        )
    code, text = error(caught)
    assert code == "ValidationException"
    assert text.startswith("TrainingJobDefinition.AlgorithmSpecification.TrainingImage"), text


def test_an_unknown_tuning_job_is_resource_not_found(tuned: Live) -> None:
    sm = sagemaker_client(tuned)
    for call in (
        sm.describe_hyper_parameter_tuning_job,
        sm.stop_hyper_parameter_tuning_job,
        sm.list_training_jobs_for_hyper_parameter_tuning_job,
    ):
        with pytest.raises(ClientError) as caught:
            call(HyperParameterTuningJobName="no-such-tuning")
        assert error(caught) == (
            "ResourceNotFound",
            "Amazon SageMaker can't find a tuning job with name no-such-tuning",
        )


def test_a_definition_the_algorithm_cannot_train_on_names_sagemakers_field(tuned: Live) -> None:
    # What HyperparameterTuner.attach(...).identical_dataset_and_algorithm_tuner().fit() sends
    # without inputs: the trial's missing channel is named as the request spells it.
    definition = _definition(tuned.bucket, "y")
    del definition["InputDataConfig"]
    with pytest.raises(ClientError) as caught:
        sagemaker_client(tuned).create_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="hpo-no-inputs",
            HyperParameterTuningJobConfig=_config(),
            TrainingJobDefinition=definition,
        )
    code, text = error(caught)
    assert code == "ValidationException"
    assert text == (
        "TrainingJobDefinition.InputDataConfig.train: the xgboost algorithm needs a 'train' channel"
    )


def test_a_trial_whose_job_is_not_submitted_yet_is_not_listed(tmp_path: Path) -> None:
    from tests.server.tuning.conftest import SCRIPTS, spec

    from dockyard.api.tuning import TrialStatus
    from dockyard.server._services import Services
    from dockyard.server.actor import Actor
    from dockyard.server.compat.aws._sagemaker import ACTIONS
    from dockyard.server.tuning import TuningController
    from dockyard.settings import Settings

    services = Services.from_settings(Settings(home=tmp_path / "home", data_roots=[str(SCRIPTS)]))
    system = Actor.system()
    try:
        services.tuning.create(system, spec())
        with services.db.read() as conn:
            row = services.tuning.repo.require(conn, "t")
        TuningController(services.tuning).advance(row)  # t-000 submitted (no scheduler runs)
        # The moment between recording a trial and submitting its job, as a pass leaves it.
        with services.db.write() as conn:
            services.tuning.repo.add_trial(
                conn,
                tuning_id=row.tuning_id,
                number=1,
                job="t-001",
                status=TrialStatus.PENDING.value,
                params='{"x": 0.5}',
                created_time=0,
            )
        listed = ACTIONS["ListTrainingJobsForHyperParameterTuningJob"](
            services, system, {"HyperParameterTuningJobName": "t"}
        )["TrainingJobSummaries"]
        assert [s["TrainingJobName"] for s in listed] == ["t-000"]
        for summary in listed:  # each listed trial is a training job DescribeTrainingJob knows
            ACTIONS["DescribeTrainingJob"](
                services, system, {"TrainingJobName": summary["TrainingJobName"]}
            )
    finally:
        services.close()
