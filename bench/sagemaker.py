"""What the SageMaker adapter adds to a call: the same lookup through ``SageMaker.*`` (AWS's
JSON 1.1 protocol on ``POST /``) and through the native API, the whole app called in this
process as an ASGI app (middleware, routing, handler, encoding; no network), p50 and p90.

The difference of the p50s is the adapter's own cost: reading the target and the body,
translating, shaping AWS's answer. Jobs are queued on a server without a scheduler, so they
stay put while they are read.

    .venv/bin/python bench/sagemaker.py [--calls 2000] [--jobs 20]
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        found = measure(Path(tmp), args.calls, args.jobs)
    print(f"{'call':42} {'p50 us':>8} {'p90 us':>8}")
    for name, (p50, p90) in found.items():
        print(f"{name:42} {p50:8.0f} {p90:8.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
