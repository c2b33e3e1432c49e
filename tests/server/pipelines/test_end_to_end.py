"""Pipelines against a real server process on the real States Language core, through boto3's
``stepfunctions`` client: a machine-learning pipeline written with SageMaker and Lambda ARNs
(train XGBoost, evaluate in a Python function, choose, register), and a server killed twice
mid-execution (while a training job runs, then while a Wait is pending) that resumes from its
last transition with every task started once, and one killed while a function call runs."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import psutil
import pytest
from tests.server.notifications._receiver import until
from tests.server.pipelines._live import stepfunctions
from tests.services.server_process import ServerProcess

from dockyard.client.http import Client

pytestmark = pytest.mark.slow

FUNCTIONS = json.dumps(
    {
        "evaluate": "tests.server.pipelines._functions:evaluate",
        "starts": "tests.server.pipelines._functions:starts",
        "gated": "tests.server.pipelines._functions:gated",
    }
)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    env = {
        "DOCKYARD_DATA_ROOTS": str(tmp_path),
        "DOCKYARD_EXECUTOR_CPUS": "2",
        "DOCKYARD_PIPELINE_FUNCTIONS": FUNCTIONS,
    }
    proc = ServerProcess(tmp_path / "home", env=env)
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def clients() -> Iterator[Callable[[str], Any]]:
    """Makes boto3 clients, closed at the end of the test."""
    made: list[Any] = []

    def make(url: str) -> Any:
        made.append(stepfunctions(url))
        return made[-1]

    yield make
    for client in made:
        client.close()


def ended(url: str, execution_arn: str, timeout: float = 180) -> dict[str, Any]:
    machine, name = execution_arn.split(":")[6:8]
    client = Client(url, retry_for=30)

    def done() -> dict[str, Any] | None:
        found: dict[str, Any] = client.request(
            "GET", f"/api/v1/pipelines/{machine}/executions/{name}", params={"wait": 10}
        )
        return found if found["status"] != "RUNNING" else None

    try:
        result: dict[str, Any] = until(done, timeout, f"execution {name} ending")
    finally:
        client.close()
    return result


def train_csv(folder: Path) -> str:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 3))
    y = 2 * x[:, 0] - x[:, 1] + rng.normal(size=300) * 0.1
    (folder / "train").mkdir()
    np.savetxt(folder / "train" / "train.csv", np.column_stack([y, x]), delimiter=",", fmt="%.5f")
    return str(folder / "train")


def score_csv(folder: Path) -> str:
    (folder / "score").mkdir()
    rows = np.random.default_rng(4).normal(size=(20, 3))
    np.savetxt(folder / "score" / "score.csv", rows, delimiter=",", fmt="%.5f")
    return str(folder / "score")


def ml_pipeline(train: str, score: str, scored: str) -> dict[str, Any]:
    return {
        "Comment": "Train, evaluate, register: written as for AWS",
        "StartAt": "Train",
        "States": {
            "Train": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sagemaker:createTrainingJob.sync",
                "Parameters": {
                    "AlgorithmSpecification": {
                        "TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/"
                        "sagemaker-xgboost:1.7-1",
                        "TrainingInputMode": "File",
                    },
                    "HyperParameters": {"num_round": "10", "objective": "reg:squarederror"},
                    "InputDataConfig": [
                        {
                            "ChannelName": "train",
                            "ContentType": "text/csv",
                            "DataSource": {
                                "S3DataSource": {"S3Uri": train, "S3DataType": "S3Prefix"}
                            },
                        }
                    ],
                    "OutputDataConfig": {"S3OutputPath": "s3://unused/output"},
                    "ResourceConfig": {"InstanceCount": 1, "VolumeSizeInGB": 5},
                    "StoppingCondition": {"MaxRuntimeInSeconds": 600},
                    "RoleArn": "arn:aws:iam::000000000000:role/sagemaker",
                },
                "ResultPath": "$.train",
                "Next": "Evaluate",
            },
            "Evaluate": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:000000000000:function:evaluate",
                "Parameters": {
                    "run_id.$": "$.train.RunId",
                    "status.$": "$.train.TrainingJobStatus",
                },
                "ResultPath": "$.evaluation",
                "Next": "Good enough?",
            },
            "Good enough?": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.evaluation.approve", "BooleanEquals": True, "Next": "Register"}
                ],
                "Default": "Rejected",
            },
            "Register": {
                "Type": "Task",
                "Resource": "dockyard:registry:createModelVersion",
                "Parameters": {"ModelName": "pipeline-xgb", "Source.$": "$.evaluation.source"},
                "ResultSelector": {"version.$": "$.version", "name.$": "$.name"},
                "ResultPath": "$.registered",
                "Next": "Champion",
            },
            "Champion": {
                "Type": "Task",
                "Resource": "dockyard:registry:setAlias",
                "Parameters": {
                    "ModelName": "pipeline-xgb",
                    "Alias": "champion",
                    "Version.$": "$.registered.version",
                },
                "ResultPath": None,
                "Next": "Approve",
            },
            "Approve": {
                "Type": "Task",
                "Resource": "dockyard:registry:approve",
                "Parameters": {
                    "ModelName": "pipeline-xgb",
                    "Version.$": "$.registered.version",
                    "Comment": "approved by the pipeline",
                },
                "ResultSelector": {"status.$": "$.approval.status"},
                "ResultPath": "$.approval",
                "Next": "Score",
            },
            "Score": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sagemaker:createTransformJob.sync",
                "Parameters": {
                    "ModelName.$": "States.Format('models:/pipeline-xgb/{}', $.registered.version)",
                    "TransformInput": {
                        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": score}},
                        "ContentType": "text/csv",
                        "SplitType": "Line",
                    },
                    "TransformOutput": {"S3OutputPath": scored},
                    "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
                },
                "ResultSelector": {"status.$": "$.TransformJobStatus"},
                "ResultPath": "$.scored",
                "End": True,
            },
            "Rejected": {
                "Type": "Fail",
                "Error": "Rejected",
                "Cause": "the model was not approved",
            },
        },
    }


def test_ml_pipeline_with_sagemaker_and_lambda_arns(
    server: ServerProcess, tmp_path: Path, clients: Callable[[str], Any]
) -> None:
    sfn = clients(server.url)
    scored = tmp_path / "scored"
    definition = json.dumps(ml_pipeline(train_csv(tmp_path), score_csv(tmp_path), str(scored)))
    assert sfn.validate_state_machine_definition(definition=definition)["result"] == "OK"
    arn = sfn.create_state_machine(
        name="retrain", definition=definition, roleArn="arn:aws:iam::000000000000:role/sfn"
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, name="nightly", input='{"why": "test"}')
    found = ended(server.url, execution["executionArn"])
    assert found["status"] == "SUCCEEDED", (found["error"], found["cause"])
    output = json.loads(found["output"])
    assert output["train"]["TrainingJobStatus"] == "Completed"
    assert output["evaluation"]["approve"] is True
    assert output["registered"] == {"name": "pipeline-xgb", "version": 1}
    assert output["approval"] == {"status": "Approved"}
    assert output["scored"] == {"status": "Completed"}
    assert len((scored / "score.csv.out").read_text().splitlines()) == 20
    with Client(server.url) as client:
        champion = client.request("GET", "/api/v1/registered-models/pipeline-xgb/aliases/champion")
    assert champion["version"] == 1
    history = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)
    types = [e["type"] for e in history["events"]]
    assert types.count("TaskSucceeded") == 5 and types[-1] == "ExecutionSucceeded"
    assert types.count("LambdaFunctionSucceeded") == 1  # Evaluate, named by its Lambda ARN


# The training job of the durability test: it notes that it ran, then waits for the gate, so the
# server can be killed while it runs.
GATE = """\
import os, pathlib, time
gate = pathlib.Path(os.environ["GATE"])
with open(gate / "runs.log", "a") as log:
    log.write("ran\\n")
while not (gate / "open").exists():
    time.sleep(0.05)
"""


def durable_pipeline(tmp_path: Path) -> dict[str, Any]:
    scripts, gate = tmp_path / "scripts", tmp_path / "gate"
    scripts.mkdir()
    gate.mkdir()
    (scripts / "gate.py").write_text(GATE)
    return {
        "StartAt": "Note",
        "States": {
            "Note": {
                "Type": "Task",
                "Resource": "dockyard:function:starts",
                "Parameters": {"log": str(tmp_path / "starts.log")},
                "ResultPath": None,
                "Next": "Train",
            },
            "Train": {
                "Type": "Task",
                "Resource": "dockyard:train.sync",
                "Parameters": {
                    "entry_point": "gate.py",
                    "source_dir": str(scripts),
                    "environment": {"GATE": str(gate)},
                },
                "ResultPath": "$.train",
                "Next": "Nap",
            },
            "Nap": {"Type": "Wait", "Seconds": 4, "Next": "Done"},
            "Done": {"Type": "Succeed"},
        },
    }


def pending_timers(home: Path) -> int:
    with sqlite3.connect(home / "dockyard.db") as db:
        return int(db.execute("SELECT count(*) FROM pipeline_timers").fetchone()[0])


def test_a_killed_server_resumes_from_the_last_transition(
    server: ServerProcess, tmp_path: Path, clients: Callable[[str], Any]
) -> None:
    sfn = clients(server.url)
    definition = json.dumps(durable_pipeline(tmp_path))
    arn = sfn.create_state_machine(name="durable", definition=definition, roleArn="r")[
        "stateMachineArn"
    ]
    execution = sfn.start_execution(stateMachineArn=arn, name="crash")["executionArn"]
    until((tmp_path / "gate" / "runs.log").exists, 60, "the training job starting")
    server.kill()  # while the .sync task's job runs
    server.start()
    sfn = clients(server.url)
    assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"
    (tmp_path / "gate" / "open").touch()

    def waiting() -> bool:
        events = sfn.get_execution_history(executionArn=execution, reverseOrder=True)["events"]
        return events[0]["type"] == "WaitStateEntered"

    until(waiting, 120, "the Wait state being entered")
    server.kill()  # while the Wait is pending
    assert pending_timers(server.home) == 1
    server.start()
    found = ended(server.url, execution)
    assert found["status"] == "SUCCEEDED", (found["error"], found["cause"])
    assert (tmp_path / "starts.log").read_text().count("\n") == 1  # the function ran once
    assert (tmp_path / "gate" / "runs.log").read_text() == "ran\n"  # the job ran once
    with Client(server.url) as client:
        jobs = client.request("GET", "/api/v1/jobs")["jobs"]
    assert len(jobs) == 1 and jobs[0]["status"] == "Completed"
    types = [
        e["type"]
        for e in sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]
    ]
    assert types.count("TaskScheduled") == 2 and types.count("TaskSucceeded") == 2


def _killed_mid_call(server: ServerProcess, tmp_path: Path, sfn: Any) -> None:
    """Kill ``server`` while a call of its ``gated`` function runs: the call ends with it, and
    the restarted server calls the function again, once."""
    calls, gate = tmp_path / "calls.log", tmp_path / "open"
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "dockyard:function:gated",
                "Parameters": {"log": str(calls), "gate": str(gate)},
                "End": True,
            }
        },
    }
    arn = sfn.create_state_machine(name="gated", definition=json.dumps(definition), roleArn="r")[
        "stateMachineArn"
    ]
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    until(lambda: calls.exists() and "start" in calls.read_text(), 60, "the call starting")
    first = psutil.Process(int(calls.read_text().split()[1]))
    server.kill()
    # Its answer has nowhere to go and the restarted server calls it again: left running, it
    # would run beside its repetition, unwatched and past its timeout.
    _, alive = psutil.wait_procs([first], timeout=30)
    assert not alive, "the call outlived the server that asked for it"
    server.start()
    until(lambda: calls.read_text().count("start") == 2, 60, "the call starting again")
    gate.touch()
    found = ended(server.url, execution)
    assert found["status"] == "SUCCEEDED", (found["error"], found["cause"])
    assert calls.read_text().count("end") == 1


def test_a_call_running_when_the_server_is_killed_ends_with_it_and_runs_again(
    server: ServerProcess, tmp_path: Path, clients: Callable[[str], Any]
) -> None:
    _killed_mid_call(server, tmp_path, clients(server.url))  # forked from the warm process


def test_a_cold_call_running_when_the_server_is_killed_ends_with_it_too(
    tmp_path: Path, clients: Callable[[str], Any]
) -> None:
    # The module starts a thread when imported: the warm process refuses it, calls start cold.
    functions = json.dumps({"gated": "tests.server.pipelines._threaded:gated"})
    env = {"DOCKYARD_DATA_ROOTS": str(tmp_path), "DOCKYARD_PIPELINE_FUNCTIONS": functions}
    server = ServerProcess(tmp_path / "home", env=env)
    server.start()
    try:
        _killed_mid_call(server, tmp_path, clients(server.url))
    finally:
        server.stop()


def test_stopping_an_execution_stops_its_job(
    server: ServerProcess, tmp_path: Path, clients: Callable[[str], Any]
) -> None:
    sfn = clients(server.url)
    definition = durable_pipeline(tmp_path)
    definition["StartAt"] = "Train"
    del definition["States"]["Note"]
    arn = sfn.create_state_machine(
        name="stoppable", definition=json.dumps(definition), roleArn="r"
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    until((tmp_path / "gate" / "runs.log").exists, 60, "the training job starting")
    sfn.stop_execution(executionArn=execution, cause="not needed")
    assert sfn.describe_execution(executionArn=execution)["status"] == "ABORTED"
    with Client(server.url) as client:

        def stopped() -> bool:
            [job] = client.request("GET", "/api/v1/jobs")["jobs"]
            return bool(job["status"] == "Stopped")

        until(stopped, 60, "the job stopping")


# A scikit-learn script-mode script as SageMaker's framework containers run it: arguments from
# the hyperparameters, data and model folders from SM_* variables.
SKLEARN_SCRIPT = """\
import argparse, os
import joblib
import numpy as np
from sklearn.linear_model import LinearRegression

parser = argparse.ArgumentParser()
parser.add_argument("--fit-intercept", default="true")
parser.add_argument("--model-dir", default=os.environ["SM_MODEL_DIR"])
parser.add_argument("--train", default=os.environ["SM_CHANNEL_TRAIN"])
args, _ = parser.parse_known_args()
data = np.loadtxt(os.path.join(args.train, "train.csv"), delimiter=",")
model = LinearRegression(fit_intercept=args.fit_intercept == "true").fit(data[:, 1:], data[:, 0])
print(f"train-r2={model.score(data[:, 1:], data[:, 0]):.4f};")
joblib.dump(model, os.path.join(args.model_dir, "model.joblib"))
"""
SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


def script_mode_pipeline(source: str, train: str, score: str, scored: str) -> dict[str, Any]:
    """AWS's train -> model -> batch transform chain, for a script-mode job as the SageMaker SDK
    sends one (``sagemaker_program`` and ``sagemaker_submit_directory``, JSON-encoded)."""
    role = "arn:aws:iam::000000000000:role/sagemaker"
    return {
        "StartAt": "Train",
        "States": {
            "Train": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sagemaker:createTrainingJob.sync",
                "Parameters": {
                    "TrainingJobName.$": "$$.Execution.Name",
                    "RoleArn": role,
                    "AlgorithmSpecification": {
                        "TrainingImage": SKLEARN_IMAGE,
                        "TrainingInputMode": "File",
                        "MetricDefinitions": [{"Name": "train:r2", "Regex": "train-r2=([0-9.]+)"}],
                    },
                    "HyperParameters": {
                        "sagemaker_program": '"train.py"',
                        "sagemaker_submit_directory": json.dumps(source),
                        "fit-intercept": '"true"',
                    },
                    "InputDataConfig": [
                        {
                            "ChannelName": "train",
                            "ContentType": "text/csv",
                            "DataSource": {
                                "S3DataSource": {"S3Uri": train, "S3DataType": "S3Prefix"}
                            },
                        }
                    ],
                    "OutputDataConfig": {"S3OutputPath": "s3://unused/output"},
                    "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large"},
                    "StoppingCondition": {"MaxRuntimeInSeconds": 600},
                },
                "ResultPath": "$.train",
                "Retry": [
                    {"ErrorEquals": ["SageMaker.AmazonSageMakerException"], "MaxAttempts": 1}
                ],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
                "Next": "Save Model",
            },
            "Save Model": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sagemaker:createModel",
                "Parameters": {
                    "ModelName.$": "$$.Execution.Name",
                    "ExecutionRoleArn": role,
                    "PrimaryContainer": {
                        "Image": SKLEARN_IMAGE,
                        "ModelDataUrl.$": "$.train.ModelArtifacts.S3ModelArtifacts",
                    },
                },
                "ResultPath": "$.model",
                "Next": "Score",
            },
            "Score": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sagemaker:createTransformJob.sync",
                "Parameters": {
                    "TransformJobName.$": "$$.Execution.Name",
                    "ModelName.$": "$$.Execution.Name",
                    "TransformInput": {
                        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": score}},
                        "ContentType": "text/csv",
                        "SplitType": "Line",
                    },
                    "TransformOutput": {"S3OutputPath": scored, "Accept": "text/csv"},
                    "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
                },
                "ResultSelector": {"status.$": "$.TransformJobStatus"},
                "ResultPath": "$.scored",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
                "End": True,
            },
            "Failed": {"Type": "Fail", "Error": "PipelineFailed"},
        },
    }


def test_a_script_mode_training_chain_written_for_aws_runs(
    server: ServerProcess, tmp_path: Path, clients: Callable[[str], Any]
) -> None:
    """createTrainingJob.sync of a framework image's script mode (what the SageMaker SDK's
    SKLearn estimator sends) runs as the SageMaker API runs it, and its model is scored by
    createModel and createTransformJob.sync; DescribeTrainingJob then says what each step did,
    as the SDK's ``fit()`` prints it."""
    import tarfile

    (tmp_path / "train.py").write_text(SKLEARN_SCRIPT)
    source = tmp_path / "sourcedir.tar.gz"
    with tarfile.open(source, "w:gz") as tar:
        tar.add(tmp_path / "train.py", arcname="train.py")
    scored = tmp_path / "scored"
    pipeline = script_mode_pipeline(
        str(source), train_csv(tmp_path), score_csv(tmp_path), str(scored)
    )
    sfn = clients(server.url)
    arn = sfn.create_state_machine(
        name="script-mode", definition=json.dumps(pipeline), roleArn="arn:aws:iam::0:role/sfn"
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, name="weekly")
    found = ended(server.url, execution["executionArn"])
    history = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)
    failures = [e for e in history["events"] if e["type"] == "TaskFailed"]
    assert found["status"] == "SUCCEEDED", [e["taskFailedEventDetails"] for e in failures]
    output = json.loads(found["output"])
    assert output["train"]["TrainingJobStatus"] == "Completed"
    assert [m["MetricName"] for m in output["train"]["FinalMetricDataList"]] == ["train:r2"]
    assert output["train"]["FinalMetricDataList"][0]["Value"] > 0.9
    assert output["scored"] == {"status": "Completed"}
    assert len((scored / "score.csv.out").read_text().splitlines()) == 20
    with Client(server.url) as client:
        job = client.request("GET", "/api/v1/jobs/weekly")
    assert job["spec"]["entry_point"] == "train.py"
    assert job["spec"]["hyperparameters"] == {"fit-intercept": "true"}
    # SageMaker's API answers for both jobs by the names the machine gave them, and the
    # transform job names the SageMaker model it was given, as DescribeModel knows it.
    sagemaker = boto3.client(
        "sagemaker",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="dockyard",
        aws_secret_access_key="dockyard",
    )
    try:
        transform = sagemaker.describe_transform_job(TransformJobName="weekly")
        assert transform["ModelName"] == "weekly"
        assert sagemaker.describe_model(ModelName=transform["ModelName"])["ModelName"] == "weekly"
        assert transform["TransformResources"]["InstanceType"] == "ml.m5.large"
        # What the SDK's fit() prints for each step: "<time> Downloading - <message>".
        transitions = sagemaker.describe_training_job(TrainingJobName="weekly")[
            "SecondaryStatusTransitions"
        ]
        assert [t["Status"] for t in transitions][-1] == "Completed"
        assert all(t["StatusMessage"] for t in transitions), transitions
    finally:
        sagemaker.close()
