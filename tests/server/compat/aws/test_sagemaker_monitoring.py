"""Model monitoring through SageMaker's own clients: the SDK's ``DefaultModelMonitor`` suggests a
baseline (a processing job with the analyzer image), schedules hourly checks of an endpoint
whose config captures its traffic, lists the executions and deletes the schedule; boto3 stops
and starts it. The live server, S3 server and session are :mod:`.test_sagemaker`'s.
"""

from __future__ import annotations

import functools
import pickle
import tarfile
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError
from tests.runtime.serving.test_aws import import_sagemaker
from tests.server.compat.aws.test_sagemaker import (
    FAST,
    NO_RETRIES,
    Live,
    _csv,
    _rows,
    _session,
    boto,
    error,
    live,
    sagemaker_client,
)

pytestmark = [pytest.mark.slow, pytest.mark.s3]
__all__ = ["live"]  # the module's own server (the fixture is module-scoped)

ROLE = "arn:aws:iam::111122223333:role/x"
ANALYZER = "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"


@pytest.fixture
def aws(live: Live, monkeypatch: pytest.MonkeyPatch) -> Live:
    """AWS clients go to the server, S3's to the S3 server; the SDK's processing-job wait
    polls every half second."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", live.server.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", live.s3.endpoint_url)
    session = import_sagemaker().session.Session
    monkeypatch.setattr(
        session,
        "wait_for_processing_job",
        functools.partialmethod(session.wait_for_processing_job, poll=0.5),
    )
    return live


def capturing_endpoint(live: Live, tmp_path: Path, name: str) -> None:
    """An XGBoost endpoint (a model.tar.gz made here) whose config captures its requests."""
    import xgboost

    x, y = _rows(200, seed=8)
    booster = xgboost.train({"max_depth": 3}, xgboost.DMatrix(x, label=y), num_boost_round=10)
    (tmp_path / "xgboost-model").write_bytes(pickle.dumps(booster))
    with tarfile.open(tmp_path / "model.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "xgboost-model", arcname="xgboost-model")
    s3 = live.s3.client()
    s3.upload_file(str(tmp_path / "model.tar.gz"), live.bucket, f"{name}/model.tar.gz")
    sm = sagemaker_client(live)
    sm.create_model(
        ModelName=name,
        PrimaryContainer={
            "Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
            "ModelDataUrl": f"s3://{live.bucket}/{name}/model.tar.gz",
        },
        ExecutionRoleArn=ROLE,
    )
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "main",
                "ModelName": name,
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
        DataCaptureConfig={
            "EnableCapture": True,
            "InitialSamplingPercentage": 100,
            "DestinationS3Uri": f"s3://{live.bucket}/{name}/capture",
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        },
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig=FAST)


def _last_execution(sm: Any, schedule: str, timeout_s: float = 60) -> dict[str, Any]:
    """The schedule's last execution once it ended."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = sm.describe_monitoring_schedule(MonitoringScheduleName=schedule)
        last: dict[str, Any] = found.get("LastMonitoringExecutionSummary") or {}
        if last.get("MonitoringExecutionStatus") in ("Completed", "CompletedWithViolations"):
            return last
        assert last.get("MonitoringExecutionStatus") != "Failed", last.get("FailureReason")
        assert time.monotonic() < deadline, f"no execution ended in {timeout_s} s: {found}"
        time.sleep(0.25)


def test_the_default_model_monitor_flow(aws: Live, tmp_path: Path) -> None:
    import_sagemaker()
    from sagemaker.model_monitor import (
        CronExpressionGenerator,
        DatasetFormat,
        DefaultModelMonitor,
    )

    endpoint = "watched"
    capturing_endpoint(aws, tmp_path, endpoint)
    x, _ = _rows(300, seed=9)
    train = _csv(tmp_path / "train.csv", x)
    train.write_text("a,b,c,d\n" + train.read_text())
    aws.s3.client().upload_file(str(train), aws.bucket, "mon/train.csv")
    session = _session(aws)

    monitor = DefaultModelMonitor(
        role=ROLE, instance_count=1, instance_type="ml.m5.xlarge", sagemaker_session=session
    )
    job = monitor.suggest_baseline(
        baseline_dataset=f"s3://{aws.bucket}/mon/train.csv",
        dataset_format=DatasetFormat.csv(header=True),
        output_s3_uri=f"s3://{aws.bucket}/mon/baseline",
        wait=True,
        logs=False,
    )
    assert job.describe()["ProcessingJobStatus"] == "Completed"
    # Its log, where suggest_baseline(logs=True) reads it (CloudWatch Logs' group for
    # processing jobs).
    logs = boto(aws).client("logs", config=NO_RETRIES)
    group = "/aws/sagemaker/ProcessingJobs"
    streams = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=f"{job.job_name}/")
    [stream] = [s["logStreamName"] for s in streams["logStreams"]]
    events = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    assert any("suggesting a baseline" in e["message"] for e in events["events"])
    statistics = monitor.baseline_statistics()
    assert [f["name"] for f in statistics.body_dict["features"]] == ["a", "b", "c", "d"]
    assert statistics.body_dict["dataset"]["item_count"] == 300
    constraints = monitor.suggested_constraints()
    assert {f["name"] for f in constraints.body_dict["features"]} == {"a", "b", "c", "d"}

    monitor.create_monitoring_schedule(
        monitor_schedule_name="watched-hourly",
        endpoint_input=endpoint,
        output_s3_uri=f"s3://{aws.bucket}/mon/reports",
        statistics=statistics,
        constraints=constraints,
        schedule_cron_expression=CronExpressionGenerator.hourly(),
    )
    described = monitor.describe_schedule()
    assert described["MonitoringScheduleStatus"] == "Scheduled"
    assert described["EndpointName"] == endpoint
    config = described["MonitoringScheduleConfig"]
    assert config["ScheduleConfig"]["ScheduleExpression"] == "cron(0 * ? * * *)"
    assert config["MonitoringType"] == "DataQuality"
    definition = session.sagemaker_client.describe_data_quality_job_definition(
        JobDefinitionName=config["MonitoringJobDefinitionName"]
    )
    assert definition["DataQualityJobInput"]["EndpointInput"]["EndpointName"] == endpoint
    assert monitor.list_executions() == []

    # Traffic, then a window checked now (the hourly slot is an hour away) through Dockyard's
    # own API: the SDK lists it as a monitoring execution with its processing job.
    runtime = boto(aws).client("sagemaker-runtime", config=NO_RETRIES)
    start = int(time.time() * 1000) - 1000
    for row in x[:20]:
        answer = runtime.invoke_endpoint(
            EndpointName=endpoint, Body=",".join(map(str, row)).encode(), ContentType="text/csv"
        )
        answer["Body"].read()  # to its end, so the connection goes back to the client's pool
    with httpx.Client(
        base_url=aws.server.url, headers={"Authorization": f"Bearer {aws.token}"}
    ) as http:
        ran = http.post(
            "/api/v1/monitoring-schedules/watched-hourly/run",
            json={"start": start, "end": int(time.time() * 1000) + 1500},
        )
        assert ran.status_code == 202, ran.text
    sm = session.sagemaker_client
    last = _last_execution(sm, "watched-hourly")
    # Captured to S3 by the endpoint's DataCaptureConfig, checked against the baseline: the
    # captured CSV has no header, so its columns are _c0.._c3 where the baseline's are a..d,
    # which SageMaker's analyzer reports as missing and extra columns too.
    assert last["MonitoringExecutionStatus"] == "CompletedWithViolations"
    captured = aws.s3.client().list_objects_v2(Bucket=aws.bucket, Prefix=f"{endpoint}/capture/")
    assert captured.get("KeyCount", 0) >= 1
    with httpx.Client(
        base_url=aws.server.url, headers={"Authorization": f"Bearer {aws.token}"}
    ) as http:
        found = http.get("/api/v1/monitoring-schedules/watched-hourly/executions").json()
    assert [(e["rows"], e["violations_by_type"]) for e in found["executions"]] == [
        (20, {"extra_column_check": 4, "missing_column_check": 4})
    ]
    executions = monitor.list_executions()
    assert len(executions) == 1
    assert executions[0].describe()["ProcessingJobStatus"] == "Completed"
    # The store here is a local folder the SDK cannot read: the execution wrote its reports
    # under the definition's output S3 URI, where the SDK reads them (it named the folder
    # of the store's, which the SDK took for an S3 URI and failed on).
    reports = executions[0].outputs[0].destination
    assert reports.startswith(f"s3://{aws.bucket}/mon/reports/watched-hourly/"), reports
    latest = monitor.latest_monitoring_statistics()
    assert latest is not None and latest.body_dict["dataset"]["item_count"] == 20
    violations = monitor.latest_monitoring_constraint_violations()
    assert violations is not None
    assert {v["constraint_check_type"] for v in violations.body_dict["violations"]} == {
        "extra_column_check",
        "missing_column_check",
    }
    summaries = sm.list_monitoring_executions(MonitoringScheduleName="watched-hourly")
    assert [s["MonitoringExecutionStatus"] for s in summaries["MonitoringExecutionSummaries"]] == [
        last["MonitoringExecutionStatus"]
    ]

    sm.stop_monitoring_schedule(MonitoringScheduleName="watched-hourly")
    assert monitor.describe_schedule()["MonitoringScheduleStatus"] == "Stopped"
    sm.start_monitoring_schedule(MonitoringScheduleName="watched-hourly")
    listed = sm.list_monitoring_schedules(EndpointName=endpoint)["MonitoringScheduleSummaries"]
    assert [(s["MonitoringScheduleName"], s["MonitoringScheduleStatus"]) for s in listed] == [
        ("watched-hourly", "Scheduled")
    ]
    sm.update_monitoring_schedule(
        MonitoringScheduleName="watched-hourly",
        MonitoringScheduleConfig={
            **config,
            "ScheduleConfig": {"ScheduleExpression": CronExpressionGenerator.daily(hour=3)},
        },
    )
    expression = monitor.describe_schedule()["MonitoringScheduleConfig"]["ScheduleConfig"]
    assert expression == {"ScheduleExpression": "cron(0 3 ? * * *)"}

    monitor.delete_monitoring_schedule()
    with pytest.raises(ClientError) as caught:
        sm.describe_monitoring_schedule(MonitoringScheduleName="watched-hourly")
    assert error(caught) == (
        "ResourceNotFound",
        'Could not find monitoring schedule "arn:aws:sagemaker:us-east-1:000000000000:'
        'monitoring-schedule/watched-hourly".',
    )
    with pytest.raises(ClientError) as caught:
        sm.describe_data_quality_job_definition(
            JobDefinitionName=config["MonitoringJobDefinitionName"]
        )
    assert error(caught)[0] == "ResourceNotFound"


def _inline(bucket: str, **changes: Any) -> dict[str, Any]:
    definition = {
        "BaselineConfig": {
            "StatisticsResource": {"S3Uri": f"s3://{bucket}/b/statistics.json"},
            "ConstraintsResource": {"S3Uri": f"s3://{bucket}/b/constraints.json"},
        },
        "MonitoringInputs": [
            {"EndpointInput": {"EndpointName": "nope", "LocalPath": "/opt/ml/processing/input"}}
        ],
        "MonitoringOutputConfig": {
            "MonitoringOutputs": [
                {"S3Output": {"S3Uri": f"s3://{bucket}/r", "LocalPath": "/opt/ml/processing/o"}}
            ]
        },
        "MonitoringResources": {
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": "ml.m5.large",
                "VolumeSizeInGB": 1,
            }
        },
        "MonitoringAppSpecification": {"ImageUri": ANALYZER},
        "RoleArn": ROLE,
    }
    return {
        "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
        "MonitoringJobDefinition": {**definition, **changes},
    }


@pytest.mark.parametrize(
    ("config", "field"),
    [
        (
            lambda b: {**_inline(b), "ScheduleConfig": {"ScheduleExpression": "NOW"}},
            "ScheduleExpression",
        ),
        (
            lambda b: {**_inline(b), "ScheduleConfig": {"ScheduleExpression": "rate(1 hour)"}},
            "ScheduleExpression",
        ),
        (lambda b: {**_inline(b), "MonitoringType": "ModelBias"}, "MonitoringType"),
        (
            lambda b: _inline(
                b,
                MonitoringInputs=[
                    {
                        "BatchTransformInput": {
                            "DataCapturedDestinationS3Uri": f"s3://{b}/capture",
                            "DatasetFormat": {"Csv": {"Header": False}},
                            "LocalPath": "/opt/ml/processing/input",
                        }
                    }
                ],
            ),
            "BatchTransformInput",
        ),
        (
            lambda b: _inline(
                b, BaselineConfig={"StatisticsResource": {"S3Uri": f"s3://{b}/s.json"}}
            ),
            "StatisticsResource",
        ),
        (_inline, "nope"),  # no such endpoint
    ],
)
def test_bad_schedules_name_the_field(aws: Live, config: Any, field: str) -> None:
    sm = sagemaker_client(aws)
    with pytest.raises(ClientError) as caught:
        sm.create_monitoring_schedule(
            MonitoringScheduleName="bad", MonitoringScheduleConfig=config(aws.bucket)
        )
    code, message = error(caught)
    assert code == "ValidationException"
    assert field in message


def test_processing_jobs_other_than_the_analyzer_are_refused(aws: Live) -> None:
    sm = sagemaker_client(aws)
    request: dict[str, Any] = {
        "ProcessingJobName": "script",
        "AppSpecification": {"ImageUri": "123.dkr.ecr.us-east-1.amazonaws.com/sklearn:1"},
        "ProcessingResources": {
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "x", "VolumeSizeInGB": 1}
        },
        "RoleArn": ROLE,
    }
    with pytest.raises(ClientError) as caught:
        sm.create_processing_job(**request)
    assert "AppSpecification.ImageUri" in error(caught)[1]
    with pytest.raises(ClientError) as caught:
        sm.describe_processing_job(ProcessingJobName="script")
    assert error(caught)[0] == "ResourceNotFound"
    assert error(caught)[1].startswith('Could not find processing job "')


def test_a_baseline_without_its_files_is_named_where_the_request_named_it(
    services: Any, settings: Any
) -> None:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    from dockyard.api.endpoints import EndpointConfig
    from dockyard.api.registry import CreateModelVersion, CreateRegisteredModel
    from dockyard.models import save_model
    from dockyard.server.actor import Actor
    from dockyard.server.compat.aws._errors import AwsError
    from dockyard.server.compat.aws._sagemaker import ACTIONS

    system = Actor.system()
    root = settings.home / "artifacts"
    frame = pd.DataFrame(np.random.default_rng(0).normal(size=(20, 2)), columns=["a", "b"])
    save_model(LinearRegression().fit(frame, frame["a"]), root / "m", input_example=frame)
    services.registry.create_registered_model(system, CreateRegisteredModel(name="served"))
    services.registry.create_model_version(
        system, "served", CreateModelVersion(source=str(root / "m"))
    )
    services.endpoints.create(
        system,
        EndpointConfig.model_validate(
            {
                "name": "watched",
                "variants": [{"name": "v", "model_uri": "models:/served/1"}],
                "capture": {"enabled": True},
            }
        ),
    )
    empty = root / "no-baseline"
    empty.mkdir()
    baseline = {
        "StatisticsResource": {"S3Uri": f"{empty}/statistics.json"},
        "ConstraintsResource": {"S3Uri": f"{empty}/constraints.json"},
    }
    ACTIONS["CreateDataQualityJobDefinition"](
        services,
        system,
        {
            "JobDefinitionName": "no-files",
            "DataQualityAppSpecification": {"ImageUri": ANALYZER},
            "DataQualityBaselineConfig": baseline,
            "DataQualityJobInput": {
                "EndpointInput": {"EndpointName": "watched", "LocalPath": "/opt/ml/processing/in"}
            },
            "DataQualityJobOutputConfig": {"MonitoringOutputs": []},
            "JobResources": {},
            "RoleArn": ROLE,
        },
    )
    schedule = {"ScheduleExpression": "cron(0 * ? * * *)"}
    named = {"ScheduleConfig": schedule, "MonitoringJobDefinitionName": "no-files"}
    inline = {
        "ScheduleConfig": schedule,
        "MonitoringJobDefinition": {
            "BaselineConfig": baseline,
            "MonitoringInputs": [
                {"EndpointInput": {"EndpointName": "watched", "LocalPath": "/opt/ml/in"}}
            ],
            "MonitoringAppSpecification": {"ImageUri": ANALYZER},
        },
    }
    for config, field, says in (
        (
            named,
            "MonitoringScheduleConfig.MonitoringJobDefinitionName",
            "job definition 'no-files': DataQualityBaselineConfig: ",
        ),
        (inline, "MonitoringScheduleConfig.MonitoringJobDefinition.BaselineConfig", ""),
    ):
        with pytest.raises(AwsError) as refused:
            ACTIONS["CreateMonitoringSchedule"](
                services,
                system,
                {"MonitoringScheduleName": "watching", "MonitoringScheduleConfig": config},
            )
        assert refused.value.kind == "ValidationException"
        assert refused.value.message.startswith(f"{field}: {says}{empty} lacks statistics.json")
