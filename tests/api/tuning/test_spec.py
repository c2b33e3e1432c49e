from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from dockyard.api.tuning import ScalingType, Strategy, TuningJobSpec
from dockyard.errors import InvalidArgument, invalid_from_validation


def sagemaker_body(**config: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "HyperParameterTuningJobName": "xgb-tune",
        "HyperParameterTuningJobConfig": {
            "Strategy": "Bayesian",
            "HyperParameterTuningJobObjective": {
                "Type": "Minimize",
                "MetricName": "validation:rmse",
            },
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 20, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {
                "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "2", "MaxValue": "8"}],
                "ContinuousParameterRanges": [
                    {
                        "Name": "eta",
                        "MinValue": "0.01",
                        "MaxValue": "0.5",
                        "ScalingType": "Logarithmic",
                    }
                ],
                "CategoricalParameterRanges": [{"Name": "booster", "Values": ["gbtree", "dart"]}],
            },
            "TrainingJobEarlyStoppingType": "Auto",
            "RandomSeed": 7,
            "TuningJobCompletionCriteria": {
                "TargetObjectiveMetricValue": 0.1,
                "BestObjectiveNotImproving": {"MaxNumberOfTrainingJobsNotImproving": 5},
            },
        },
        "TrainingJobDefinition": {
            "algorithm": "xgboost",
            "StaticHyperParameters": {"num_round": "50", "objective": "reg:squarederror"},
            "MetricDefinitions": [{"Name": "loss", "Regex": "loss=([0-9.]+)"}],
        },
        "WarmStartConfig": {
            "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "old-tune"}],
            "WarmStartType": "TransferLearning",
        },
    }
    body["HyperParameterTuningJobConfig"].update(config)
    return body


def problem(body: dict[str, Any]) -> InvalidArgument:
    with pytest.raises(ValidationError) as caught:
        TuningJobSpec.model_validate(body)
    return invalid_from_validation(caught.value.errors())


def test_sagemaker_spellings_land_in_the_native_model() -> None:
    spec = TuningJobSpec.model_validate(sagemaker_body())
    config = spec.config
    assert spec.name == "xgb-tune"
    assert config.strategy is Strategy.BAYESIAN
    assert config.objective.metric_name == "validation:rmse"
    assert config.resource_limits.max_parallel_jobs == 2
    assert config.parameter_ranges.integer[0].max_value == 8
    assert config.parameter_ranges.continuous[0].scaling_type is ScalingType.LOGARITHMIC
    assert config.completion_criteria.best_objective_not_improving is not None
    assert config.random_seed == 7
    assert spec.training_job.hyperparameters["num_round"] == "50"
    assert spec.training_job.metric_definitions[0].name == "loss"
    assert spec.warm_start is not None and spec.warm_start.parents[0].name == "old-tune"
    # The native form of the same spec reads back identically.
    again = TuningJobSpec.model_validate(spec.model_dump(mode="json"))
    assert again == spec


def test_native_snake_case() -> None:
    spec = TuningJobSpec.model_validate(
        {
            "config": {
                "strategy": "Random",
                "objective": {"type": "Maximize", "metric_name": "acc"},
                "resource_limits": {"max_jobs": 3},
                "parameter_ranges": {"categorical": [{"name": "k", "values": [1, 2, True]}]},
            },
            "training_job": {"entry_point": "train.py", "source_dir": "/code"},
        }
    )
    assert spec.config.parameter_ranges.categorical[0].values == ["1", "2", "true"]
    assert spec.config.max_jobs == 3


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"ResourceLimits": {}}, "HyperParameterTuningJobConfig", "MaxNumberOfTrainingJobs"),
        (
            {"ResourceLimits": {"MaxNumberOfTrainingJobs": 5, "MaxParallelTrainingJobs": 0}},
            "HyperParameterTuningJobConfig.ResourceLimits.MaxParallelTrainingJobs",
            "greater than or equal to 1",
        ),
        ({"Strategy": "Annealing"}, "HyperParameterTuningJobConfig.Strategy", "Random"),
        (
            {"HyperParameterTuningJobObjective": {"Type": "Smallest", "MetricName": "x"}},
            "HyperParameterTuningJobConfig.HyperParameterTuningJobObjective.Type",
            "Minimize",
        ),
        (
            {
                "ParameterRanges": {
                    "IntegerParameterRanges": [{"Name": "d", "MinValue": 5, "MaxValue": 2}]
                }
            },
            "HyperParameterTuningJobConfig.ParameterRanges.IntegerParameterRanges.0",
            "above max_value",
        ),
        (
            {
                "ParameterRanges": {
                    "ContinuousParameterRanges": [
                        {
                            "Name": "m",
                            "MinValue": 0.5,
                            "MaxValue": 1.5,
                            "ScalingType": "ReverseLogarithmic",
                        }
                    ]
                }
            },
            "HyperParameterTuningJobConfig.ParameterRanges.ContinuousParameterRanges.0",
            "[0, 1)",
        ),
        (
            {
                "ParameterRanges": {
                    "CategoricalParameterRanges": [{"Name": "a", "Values": ["x", "x"]}]
                }
            },
            "HyperParameterTuningJobConfig.ParameterRanges.CategoricalParameterRanges.0",
            "distinct",
        ),
        ({"ParameterRanges": {}}, "HyperParameterTuningJobConfig.ParameterRanges", "at least one"),
        (
            {
                "ParameterRanges": {
                    "IntegerParameterRanges": [{"Name": "a", "MinValue": 1, "MaxValue": 2}],
                    "CategoricalParameterRanges": [{"Name": "a", "Values": ["x"]}],
                }
            },
            "HyperParameterTuningJobConfig.ParameterRanges",
            "a has several",
        ),
        ({"Strategy": "Grid"}, "HyperParameterTuningJobConfig", "continuous"),
        ({"Strategy": "Hyperband"}, "HyperParameterTuningJobConfig", "must be Off"),
        (
            {"TrainingJobEarlyStoppingType": "Sometimes"},
            "HyperParameterTuningJobConfig.TrainingJobEarlyStoppingType",
            "Auto",
        ),
    ],
)
def test_bad_config_names_the_field(change: dict[str, Any], field: str, words: str) -> None:
    error = problem(sagemaker_body(**change))
    assert error.field == field
    assert words in error.message


def test_grid_runs_its_whole_grid() -> None:
    body = sagemaker_body(
        Strategy="Grid",
        ResourceLimits={"MaxParallelTrainingJobs": 2},
        TrainingJobEarlyStoppingType="Off",
        ParameterRanges={
            "IntegerParameterRanges": [{"Name": "d", "MinValue": 1, "MaxValue": 3}],
            "CategoricalParameterRanges": [{"Name": "b", "Values": ["x", "y"]}],
        },
    )
    assert TuningJobSpec.model_validate(body).config.max_jobs == 6
    body["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxNumberOfTrainingJobs"] = 3
    assert "leave out" in problem(body).message


def test_warm_start_takes_at_most_five_parents() -> None:
    body = sagemaker_body()
    body["WarmStartConfig"]["ParentHyperParameterTuningJobs"] = [f"p{i}" for i in range(6)]
    error = problem(body)
    assert error.field == "WarmStartConfig.ParentHyperParameterTuningJobs"


def test_a_hyperparameter_is_static_or_tuned_not_both() -> None:
    body = sagemaker_body()
    body["TrainingJobDefinition"]["StaticHyperParameters"]["eta"] = "0.1"
    assert "eta" in problem(body).message


def test_bad_training_job_and_name() -> None:
    body = sagemaker_body()
    body["TrainingJobDefinition"]["MetricDefinitions"] = [{"Name": "x", "Regex": "no group"}]
    assert problem(body).field == "TrainingJobDefinition.metric_definitions.0.Regex"
    body = sagemaker_body()
    body["HyperParameterTuningJobName"] = "x" * 33
    assert problem(body).field == "HyperParameterTuningJobName"
