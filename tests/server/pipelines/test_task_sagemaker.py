"""SageMaker's deploy chain as Step Functions writes it (createModel -> createEndpointConfig ->
createEndpoint naming the config) is accepted at create time and runs what the SageMaker API
runs, answering as AWS does; a refusal is Step Functions' SageMaker error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from dockyard.api.registry import CreateModelVersion, CreateRegisteredModel
from dockyard.models import save_model
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.pipelines._tasks import Failed, InBackground, Succeeded, TaskCall
from dockyard.settings import Settings

ROOT = Actor.local("root")
SM = "arn:aws:states:::sagemaker:"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    made = Services.from_settings(Settings(home=tmp_path / "home"))
    yield made
    made.close()


def deploy_chain(source: str) -> dict[str, Any]:
    return {
        "StartAt": "Save Model",
        "States": {
            "Save Model": {
                "Type": "Task",
                "Resource": SM + "createModel",
                "Parameters": {
                    "ModelName": "churn",
                    "PrimaryContainer": {"Image": IMAGE, "ModelDataUrl": source},
                    "ExecutionRoleArn": "arn:aws:iam::123456789012:role/sm",
                },
                "Next": "Config",
            },
            "Config": {
                "Type": "Task",
                "Resource": SM + "createEndpointConfig",
                "Parameters": {
                    "EndpointConfigName": "churn-1",
                    "ProductionVariants": [
                        {
                            "VariantName": "AllTraffic",
                            "ModelName": "churn",
                            "InitialInstanceCount": 1,
                            "InstanceType": "ml.m5.large",
                        }
                    ],
                },
                "Next": "Deploy",
            },
            "Deploy": {
                "Type": "Task",
                "Resource": SM + "createEndpoint",
                "Parameters": {"EndpointName": "churn", "EndpointConfigName": "churn-1"},
                "End": True,
            },
        },
    }


def run(services: Services, state: dict[str, Any]) -> Succeeded | Failed:
    resolved = services.pipelines.integrations.resolve(state["Resource"])
    assert resolved is not None, state["Resource"]
    integration, base, mode = resolved
    call = TaskCall(
        key=f"arn:aws:states:us-east-1:0:execution:m:e:{base}#1",
        execution_arn="arn:aws:states:us-east-1:0:execution:m:e",
        state_name="S",
        resource=state["Resource"],
        base=base,
        mode=mode,
        payload=state["Parameters"],
        actor=ROOT,
    )
    outcome = integration.start(call)
    if isinstance(outcome, InBackground):
        outcome = outcome.run()
    assert isinstance(outcome, Succeeded | Failed), outcome
    return outcome


def model_package(services: Services) -> str:
    folder = services.settings.home / "artifacts" / "churn-model"
    frame = pd.DataFrame(np.random.default_rng(0).normal(size=(20, 2)), columns=["a", "b"])
    save_model(LinearRegression().fit(frame, frame["a"]), folder, input_example=frame)
    services.registry.create_registered_model(ROOT, CreateRegisteredModel(name="trained"))
    services.registry.create_model_version(ROOT, "trained", CreateModelVersion(source=str(folder)))
    return "models:/trained/1"


def test_the_deploy_chain_is_accepted_when_the_machine_is_created(services: Services) -> None:
    definition = deploy_chain("models:/trained/1")
    assert list(services.pipelines.integrations.problems(definition)) == []
    # As in Step Functions, these calls are request-response: .sync is no pattern of theirs
    definition["States"]["Save Model"]["Resource"] += ".sync"
    del definition["States"]["Config"]["Parameters"]["ProductionVariants"]
    found = {
        where: message for where, message, _ in services.pipelines.integrations.problems(definition)
    }
    assert set(found) == {"/States/Save Model/Resource", "/States/Config/Parameters"}
    assert "ProductionVariants" in found["/States/Config/Parameters"]


def test_the_deploy_chain_runs_as_sagemakers_api_and_answers_as_aws(
    services: Services,
) -> None:
    states = deploy_chain(model_package(services))["States"]
    saved = run(services, states["Save Model"])
    assert saved == Succeeded({"ModelArn": "arn:aws:sagemaker:us-east-1:000000000000:model/churn"})
    config = run(services, states["Config"])
    assert isinstance(config, Succeeded)
    assert config.output["EndpointConfigArn"].endswith(":endpoint-config/churn-1")
    deployed = run(services, states["Deploy"])
    assert isinstance(deployed, Succeeded)
    assert deployed.output == {
        "EndpointArn": "arn:aws:sagemaker:us-east-1:000000000000:endpoint/churn"
    }
    endpoint = services.endpoints.get(ROOT, "churn")
    assert [v.model_uri for v in endpoint.config.variants] == ["models:/churn/1"]

    again = run(services, states["Save Model"])  # the name is taken now
    assert isinstance(again, Failed)
    assert again.error == "SageMaker.AmazonSageMakerException"
    assert "(Service: AmazonSageMaker; Status Code: 400; Error Code: " in str(again.cause)
    assert "churn" in str(again.cause)


def job_task(services: Services) -> Any:
    """The server's integration for training and transform tasks."""
    resolved = services.pipelines.integrations.resolve(SM + "createTrainingJob.sync")
    assert resolved is not None
    return resolved[0]


def training_call(
    payload: dict[str, Any], key: str, base: str = SM + "createTrainingJob"
) -> TaskCall:
    return TaskCall(
        key=f"arn:aws:states:us-east-1:0:execution:m:e:{key}",
        execution_arn="arn:aws:states:us-east-1:0:execution:m:e",
        state_name="Train",
        resource=base + ".sync",
        base=base,
        mode="sync",
        payload=payload,
        actor=ROOT,
    )


def training_request(name: str, folder: Path) -> dict[str, Any]:
    """CreateTrainingJob of the built-in XGBoost on a small CSV written in ``folder``."""
    (folder / "train.csv").write_text("1,2\n3,4\n")
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "HyperParameters": {"num_round": "2"},
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "ContentType": "text/csv",
                "DataSource": {"S3DataSource": {"S3Uri": str(folder / "train.csv")}},
            }
        ],
    }


def test_a_refused_training_request_is_sagemakers_error_as_step_functions_names_it(
    tmp_path: Path,
) -> None:
    """CreateTrainingJob refused before any job runs (a field Dockyard cannot run, a name
    taken) is SageMaker.AmazonSageMakerException with SageMaker's code, which a Catch written
    for AWS matches; Dockyard's own spelling keeps States.TaskFailed."""
    made = Services.from_settings(Settings(home=tmp_path / "home", data_roots=[str(tmp_path)]))
    try:
        task = job_task(made)
        request = training_request("nightly", tmp_path)
        own_image = {**request, "AlgorithmSpecification": {"TrainingImage": "acme/train:1"}}
        refused = task.start(training_call(own_image, "Train#1"))
        assert isinstance(refused, Failed) and refused.error == "SageMaker.AmazonSageMakerException"
        assert str(refused.cause).endswith("Error Code: ValidationException)")
        assert "AlgorithmSpecification" in str(refused.cause)

        assert not isinstance(task.start(training_call(request, "Train#2")), Failed)
        taken = task.start(training_call(request, "Train#3"))  # another task, the same name
        assert isinstance(taken, Failed) and taken.error == "SageMaker.AmazonSageMakerException"
        assert str(taken.cause).endswith("Error Code: ResourceInUse)")

        dockyard = training_call({"algorithm": "nope"}, "Train#4", base="dockyard:train")
        own = task.start(dockyard)
        assert isinstance(own, Failed) and own.error == "States.TaskFailed"
    finally:
        made.close()


def test_a_transform_named_as_its_training_job_is_kept_apart_as_sagemaker_does(
    tmp_path: Path,
) -> None:
    """Step Functions' own sample names the training and the transform job after the
    execution ($$.Execution.Name); SageMaker keeps them apart, so the transform is stored
    under an alias and keeps SageMaker's name."""
    made = Services.from_settings(Settings(home=tmp_path / "home", data_roots=[str(tmp_path)]))
    try:
        task = job_task(made)
        training = training_request("nightly-7", tmp_path)
        assert not isinstance(task.start(training_call(training, "Train#1")), Failed)
        model_package(made)
        transform = {
            "TransformJobName": "nightly-7",
            "ModelName": "models:/trained/1",
            "TransformInput": {
                "DataSource": {"S3DataSource": {"S3Uri": str(tmp_path / "train.csv")}},
                "ContentType": "text/csv",
            },
            "TransformOutput": {"S3OutputPath": str(tmp_path / "scored")},
        }
        started = task.start(training_call(transform, "Score#2", SM + "createTransformJob"))
        assert not isinstance(started, Failed), started
        # Stored under an alias, answered under SageMaker's name, as SageMaker's API does.
        stored = made.jobs.get(ROOT, "nightly-7-transform")
        assert stored.kind == "transform"
        assert stored.spec["tags"]["sagemaker:transform-job-name"] == "nightly-7"
        assert made.jobs.get(ROOT, "nightly-7").kind == "training"
        # Run again (a resumed execution), it finds the job it started rather than a third.
        again = task.start(training_call(transform, "Score#2", SM + "createTransformJob"))
        assert not isinstance(again, Failed), again
    finally:
        made.close()


def test_a_tuning_task_reads_sagemakers_training_job_definition(tmp_path: Path) -> None:
    """createHyperParameterTuningJob with a script-mode training job definition (a framework
    image, ``sagemaker_program`` among the static hyperparameters) starts the tuning job the
    SageMaker API would: each trial runs the script."""
    import io
    import json
    import tarfile

    from dockyard.server.pipelines._tasks import Waiting

    made = Services.from_settings(Settings(home=tmp_path / "home", data_roots=[str(tmp_path)]))
    try:
        archive = tmp_path / "sourcedir.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            tar.addfile(tarfile.TarInfo("train.py"), io.BytesIO(b""))
        (tmp_path / "train.csv").write_text("1,2\n3,4\n")
        request = {
            "HyperParameterTuningJobName": "tune-7",
            "HyperParameterTuningJobConfig": {
                "Strategy": "Random",
                "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "r2"},
                "ResourceLimits": {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 1},
                "ParameterRanges": {
                    "ContinuousParameterRanges": [
                        {"Name": "alpha", "MinValue": "0.1", "MaxValue": "1"}
                    ]
                },
            },
            "TrainingJobDefinition": {
                "AlgorithmSpecification": {
                    "TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/"
                    "sagemaker-scikit-learn:1.2-1-cpu-py3",
                    "TrainingInputMode": "File",
                    "MetricDefinitions": [{"Name": "r2", "Regex": "r2=([0-9.]+)"}],
                },
                "StaticHyperParameters": {
                    "sagemaker_program": '"train.py"',
                    "sagemaker_submit_directory": json.dumps(str(archive)),
                },
                "InputDataConfig": [
                    {
                        "ChannelName": "train",
                        "DataSource": {"S3DataSource": {"S3Uri": str(tmp_path / "train.csv")}},
                    }
                ],
                "OutputDataConfig": {"S3OutputPath": "s3://unused/"},
                "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large"},
                "RoleArn": "arn:aws:iam::123456789012:role/sm",
                "StoppingCondition": {"MaxRuntimeInSeconds": 600},
            },
        }
        base = SM + "createHyperParameterTuningJob"
        resolved = made.pipelines.integrations.resolve(base + ".sync")
        assert resolved is not None
        task = resolved[0]
        task.check(base, request)  # accepted when the state machine is created
        started = task.start(training_call(request, "Tune#1", base))
        assert started == Waiting("tune-7"), started
        trial = made.tuning.get(ROOT, "tune-7").spec["training_job"]
        assert (trial["entry_point"], trial["source_dir"]) == ("train.py", str(archive))
        assert "sagemaker_program" not in trial["hyperparameters"]
    finally:
        made.close()


def test_aws_sdk_sagemaker_actions_answer_as_the_sagemaker_api(services: Services) -> None:
    """``arn:aws:states:::aws-sdk:sagemaker:describeModel`` (what AWS's samples call after a
    tuning job, describeTrainingJob, for the best trial's model) runs the SageMaker API's
    action; an action it does not answer is refused when the machine is created."""
    states = deploy_chain(model_package(services))["States"]
    assert isinstance(run(services, states["Save Model"]), Succeeded)
    describe = {
        "Type": "Task",
        "Resource": "arn:aws:states:::aws-sdk:sagemaker:describeModel",
        "Parameters": {"ModelName": "churn"},
        "End": True,
    }
    definition = {"StartAt": "Describe", "States": {"Describe": describe}}
    assert list(services.pipelines.integrations.problems(definition)) == []
    described = run(services, describe)
    assert isinstance(described, Succeeded), described
    assert described.output["ModelName"] == "churn"
    assert described.output["PrimaryContainer"]["Image"] == IMAGE

    missing = run(services, {**describe, "Parameters": {"ModelName": "nope"}})
    assert isinstance(missing, Failed) and missing.error == "SageMaker.ValidationException"
    assert "nope" in str(missing.cause)

    unknown = {**describe, "Resource": "arn:aws:states:::aws-sdk:sagemaker:createAutoMlJob"}
    found = list(
        services.pipelines.integrations.problems({"StartAt": "D", "States": {"D": unknown}})
    )
    assert len(found) == 1 and "createAutoMlJob is not an action" in found[0][1], found
