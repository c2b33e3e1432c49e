"""What the SageMaker adapter adds to a call: the same lookup through ``SageMaker.*`` (AWS's
JSON 1.1 protocol on ``POST /``) and through the native API, the whole app called in this
process as an ASGI app (middleware, routing, handler, encoding; no network), p50 and p90.

The difference of the p50s is the adapter's own cost: reading the target and the body,
translating, shaping AWS's answer. Jobs are queued on a server without a scheduler, so they
stay put while they are read.

    .venv/bin/python bench/sagemaker.py [--calls 2000] [--jobs 20]

``--fit`` measures instead the seeds' XGBoost notebook ``fit`` end to end through the SageMaker
SDK, against ``dockyard server`` and a SeaweedFS S3 server on loopback: ``upload_data``, an
``Estimator`` of the built-in XGBoost image, ``fit(logs=False)``, once with the SDK's own
polling (``wait_for_job`` every 5 s) and once polling every 0.5 s; and, from
DescribeTrainingJob, the server's own time from CreateTrainingJob to Completed. AWS documents no
start-up figure to compare with beyond "typical startup times" of its instances
(docs.aws.amazon.com/sagemaker/latest/dg/train-warm-pools.html).

    nice .venv/bin/python bench/sagemaker.py --fit
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

warnings.filterwarnings("ignore")

Case = tuple[str, str, bytes, dict[str, str]]


def _aws(action: str, body: dict[str, Any]) -> Case:
    return (
        "POST",
        "/",
        json.dumps(body).encode(),
        {"x-amz-target": f"SageMaker.{action}", "content-type": "application/x-amz-json-1.1"},
    )


def _get(path: str) -> Case:
    return "GET", path, b"", {}


def measure(home: Path, calls: int, jobs: int) -> dict[str, tuple[float, float]]:
    import httpx

    from dockyard.server import create_app
    from dockyard.settings import Settings

    data = home / "data" / "train.csv"
    data.parent.mkdir(parents=True)
    data.write_text("1,2,3\n4,5,6\n")
    app = create_app(Settings(home=home / "home", data_roots=[str(home)], scheduler=False))
    cases = {
        "DescribeTrainingJob": _aws("DescribeTrainingJob", {"TrainingJobName": "job-0"}),
        "GET /api/v1/jobs/{name}": _get("/api/v1/jobs/job-0"),
        "ListTrainingJobs": _aws("ListTrainingJobs", {"MaxResults": 10}),
        "GET /api/v1/jobs?limit=10": _get("/api/v1/jobs?kind=training&limit=10"),
        "DescribeHyperParameterTuningJob": _aws(
            "DescribeHyperParameterTuningJob", {"HyperParameterTuningJobName": "tune-0"}
        ),
        "GET /api/v1/tuning-jobs/{name}": _get("/api/v1/tuning-jobs/tune-0"),
        "DescribeModelPackageGroup": _aws(
            "DescribeModelPackageGroup", {"ModelPackageGroupName": "group-0"}
        ),
        "GET /api/v1/registered-models/{name}": _get("/api/v1/registered-models/group-0"),
        "DescribeEndpoint (unknown)": _aws("DescribeEndpoint", {"EndpointName": "nope"}),
        "GET /api/v1/endpoints/{name} (unknown)": _get("/api/v1/endpoints/nope"),
        "DescribeProcessingJob": _aws("DescribeProcessingJob", {"ProcessingJobName": "base-0"}),
        "GET /api/v1/jobs/{name} (monitoring)": _get("/api/v1/jobs/base-0"),
        "ListMonitoringSchedules": _aws("ListMonitoringSchedules", {"MaxResults": 10}),
        "GET /api/v1/monitoring-schedules": _get("/api/v1/monitoring-schedules?max_results=10"),
    }

    async def run() -> dict[str, tuple[float, float]]:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:5000") as client,
        ):
            for i in range(jobs):
                spec = {
                    "name": f"job-{i}",
                    "algorithm": "xgboost",
                    "hyperparameters": {"num_round": "10"},
                    "inputs": {"train": {"uri": str(data.parent)}},
                }
                made = await client.post("/api/v1/jobs/training", json=spec)
                assert made.status_code in (200, 201), made.text
            # The model monitor's baselining job, as DefaultModelMonitor.suggest_baseline()
            # starts it.
            baselining = _aws(
                "CreateProcessingJob",
                {
                    "ProcessingJobName": "base-0",
                    "AppSpecification": {"ImageUri": "x/sagemaker-model-monitor-analyzer"},
                    "Environment": {"dataset_format": '{"csv": {"header": false}}'},
                    "ProcessingInputs": [
                        {"InputName": "baseline_dataset_input", "S3Input": {"S3Uri": str(data)}}
                    ],
                    "ProcessingOutputConfig": {
                        "Outputs": [{"S3Output": {"S3Uri": str(home / "baseline")}}]
                    },
                },
            )
            made = await client.request(
                baselining[0], baselining[1], content=baselining[2], headers=baselining[3]
            )
            assert made.status_code == 200, made.text
            tuning = {
                "name": "tune-0",
                "config": {
                    "strategy": "Random",
                    "objective": {"type": "Minimize", "metric_name": "train:rmse"},
                    "resource_limits": {"max_jobs": 4},
                    "parameter_ranges": {
                        "continuous": [{"name": "eta", "min_value": 0.1, "max_value": 0.5}]
                    },
                },
                "training_job": {**spec, "name": None},
            }
            made = await client.post("/api/v1/tuning-jobs", json=tuning)
            assert made.status_code == 201, made.text
            made = await client.post("/api/v1/registered-models", json={"name": "group-0"})
            assert made.status_code == 201, made.text
            out = {}
            for name, (method, path, body, headers) in cases.items():
                times = []
                for _ in range(calls):
                    start = time.perf_counter()
                    answer = await client.request(method, path, content=body, headers=headers)
                    times.append((time.perf_counter() - start) * 1e6)
                    assert answer.status_code in (200, 400, 404), (name, answer.text)
                times.sort()
                out[name] = (statistics.median(times), times[int(len(times) * 0.9)])
            return out

    return asyncio.run(run())


def measure_fit(tmp: Path) -> dict[str, float]:
    """Seconds: each fit's wall time by how the SDK polls, and the server's time of each."""
    import functools
    import os

    import boto3
    import numpy as np

    # Run as a script, this file's folder is first on the path, and this file is "sagemaker":
    # the SDK is found only once that folder is off it.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    sys.path.insert(0, str(here.parent))
    from bench._servers import Server
    from tests.services.s3 import seaweedfs

    with seaweedfs(tmp / "s3") as s3:
        bucket = s3.create_bucket("bench")
        os.environ.update(
            {
                "AWS_ACCESS_KEY_ID": s3.access_key,
                "AWS_SECRET_ACCESS_KEY": s3.secret_key,
                "AWS_DEFAULT_REGION": s3.region,
            }
        )
        env = {
            "DOCKYARD_DATA_ROOTS": f"s3://{bucket}",
            "DOCKYARD_S3_ENDPOINT_URL": s3.endpoint_url,
            "DOCKYARD_EXECUTOR_CPUS": "2",
        }
        with Server.dockyard(tmp / "home", workers=1, env=env) as server:
            os.environ["AWS_ENDPOINT_URL"] = server.url
            os.environ["AWS_ENDPOINT_URL_S3"] = s3.endpoint_url
            from sagemaker.inputs import TrainingInput

            import sagemaker

            opt_out = {
                "SchemaVersion": "1.0",
                "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}},
            }
            session = sagemaker.Session(
                boto_session=boto3.Session(), default_bucket=bucket, sagemaker_config=opt_out
            )
            rng = np.random.default_rng(1)
            x = rng.normal(size=(400, 4))
            y = 3 * x[:, 0] - 2 * x[:, 1] + rng.normal(size=400) * 0.1
            for name, rows in (("train", slice(0, 300)), ("validation", slice(300, 400))):
                local = tmp / f"{name}.csv"
                np.savetxt(local, np.column_stack([y[rows], x[rows]]), delimiter=",", fmt="%.6f")
                session.upload_data(str(local), key_prefix=f"xgb/{name}")
            image = sagemaker.image_uris.retrieve("xgboost", session.boto_region_name, "1.7-1")
            channels = {
                name: TrainingInput(f"s3://{bucket}/xgb/{name}", content_type="csv")
                for name in ("train", "validation")
            }
            out: dict[str, float] = {}
            default_wait = sagemaker.session.Session.wait_for_job
            for label, poll in (("SDK's polling (5 s)", None), ("polling every 0.5 s", 0.5)):
                if poll is not None:
                    sagemaker.session.Session.wait_for_job = functools.partialmethod(  # type: ignore[method-assign]
                        default_wait, poll=poll
                    )
                xgb = sagemaker.estimator.Estimator(
                    image,
                    "arn:aws:iam::111122223333:role/SageMakerRole",
                    instance_count=1,
                    instance_type="ml.m4.xlarge",
                    output_path=f"s3://{bucket}/xgb/output",
                    sagemaker_session=session,
                )
                xgb.set_hyperparameters(
                    max_depth=5, eta=0.2, objective="reg:squarederror", num_round=50
                )
                start = time.perf_counter()
                xgb.fit(channels, logs=False)
                out[f"fit, {label}: wall"] = time.perf_counter() - start
                job = session.sagemaker_client.describe_training_job(
                    TrainingJobName=xgb.latest_training_job.name
                )
                assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
                done = job["SecondaryStatusTransitions"][-1]["StartTime"]
                out[f"fit, {label}: server, created to Completed"] = (
                    done - job["CreationTime"]
                ).total_seconds()
            sagemaker.session.Session.wait_for_job = default_wait  # type: ignore[method-assign]
            return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--fit", action="store_true", help="the notebook's fit, end to end")
    args = parser.parse_args()
    if args.fit:
        with tempfile.TemporaryDirectory() as tmp:
            seconds = measure_fit(Path(tmp))
        for name, value in seconds.items():
            print(f"{name:58} {value:7.2f} s")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        found = measure(Path(tmp), args.calls, args.jobs)
    print(f"{'call':42} {'p50 us':>8} {'p90 us':>8}")
    for name, (p50, p90) in found.items():
        print(f"{name:42} {p50:8.0f} {p90:8.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
