"""6. The retrain loop: drifted traffic on the endpoint makes a monitoring violation, which starts
a pipeline (:mod:`dockyard.demo._drift`) that reads its settings from the parameter store,
retrains the built-in XGBoost, evaluates it in a Python function, and only when it passes the
quality bar registers it, canary-deploys it to the endpoint (which keeps answering throughout)
and moves the ``champion`` alias; either way it posts to a topic. A git push to the model's
repository and a nightly schedule start the same pipeline.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

import dockyard as dy
from dockyard import steps
from dockyard.client import sdk
from dockyard.errors import AlreadyExists

__all__ = ["FUNCTIONS", "retrain_loop", "retrain_pipeline"]

PIPELINE = "diabetes-retrain"
TOPIC = "retrain"
#: The functions the demo's server runs for pipelines (module:attribute by name).
FUNCTIONS = {"evaluate": "dockyard.demo.functions:evaluate"}
_SECRET = "demo-webhook-secret"


def _value(name: str, parameter: str) -> steps.GetParameter:
    return steps.GetParameter(
        name, parameter, result_selector={"value": dy.path("$.Parameter.Value")}
    )


def retrain_pipeline(
    model: str, experiment: str, channels: dict[str, str], hyperparameters: dict[str, Any]
) -> dy.Pipeline:
    """The retrain pipeline, built in Python (``dockyard pipelines graph`` draws it)."""
    read = steps.Parallel(
        "ReadSettings",
        [
            _value("MaxDepth", "/diabetes/retrain/max_depth"),
            _value("QualityBar", "/diabetes/retrain/max_rmse"),
        ],
        result_path="$.settings",
    )
    train = steps.Train(
        "Train",
        {
            "algorithm": "xgboost",
            "hyperparameters": {
                **{k: str(v) for k, v in hyperparameters.items()},
                "max_depth": dy.path("$.settings[0].value"),
            },
            "inputs": {
                name: {"uri": uri, "content_type": "text/csv"} for name, uri in channels.items()
            },
            "experiment": experiment,
        },
        result_path="$.train",
        retry=dy.Retry(["States.TaskFailed"], max_attempts=1),
    )
    evaluate = steps.Function(
        "Evaluate",
        "evaluate",
        parameters={
            "metrics": dy.path("$.train.metrics"),
            "max_rmse": dy.path("$.settings[1].value"),
        },
        result_path="$.eval",
    )
    register = steps.Task(
        "Register",
        "dockyard:registry:createModelVersion",
        parameters={
            "ModelName": model,
            "Source": dy.path("$.train.model_uri"),
            "RunId": dy.path("$.train.run_id"),
        },
        result_selector={"version": dy.path("$.version")},
        result_path="$.registered",
    )
    version_uri = f"States.Format('models:/{model}/{{}}', $.registered.version)"
    deploy = steps.Task(
        "CanaryDeploy",
        "dockyard:endpoint:deploy.sync",
        parameters={
            "name": "diabetes",
            "variants": [
                {"name": "champion", "model_uri": dy.path(version_uri), "weight": 9},
                {"name": "challenger", "model_uri": dy.path("$.challenger"), "weight": 1},
            ],
            "capture": {"enabled": True, "sampling_pct": 100},
            "rollout": {"strategy": "canary", "canary_pct": 10, "bake_s": 2},
        },
        result_path="$.endpoint",
    )
    promote = steps.Task(
        "Promote",
        "dockyard:registry:setAlias",
        parameters={
            "ModelName": model,
            "Alias": "champion",
            "Version": dy.path("$.registered.version"),
        },
        result_path="$.promoted",
    )
    announce = steps.Publish(
        "Announce",
        TOPIC,
        dy.path(
            "States.Format('{} retrained: validation RMSE {}, version {} deployed', "
            f"'{model}', $.eval.rmse, $.registered.version)"
        ),
        result_path="$.announced",
    )
    rejected = steps.Publish(
        "Rejected",
        TOPIC,
        dy.path(
            "States.Format('{} retrain rejected: validation RMSE {} above the bar {}', "
            f"'{model}', $.eval.rmse, $.eval.max_rmse)"
        ),
        result_path="$.announced",
    )
    gate = (
        steps.Choice("GoodEnough")
        .when(dy.Condition("$.eval.passed") == True, register >> deploy >> promote >> announce)  # noqa: E712
        .otherwise(rejected)
    )
    return dy.Pipeline(
        PIPELINE,
        read >> train >> evaluate >> gate,
        comment="Retrain on a push or nightly; deploy only what passes the quality bar.",
    )


class _Traffic:
    """Requests to the endpoint from a thread while the pipeline runs: none may fail."""

    def __init__(self, url: str, row: list[float]) -> None:
        self.sent = self.failed = 0
        self.variants: dict[str, int] = {}
        self._stop = threading.Event()
        self._body = ",".join(map(str, row)).encode()
        self._thread = threading.Thread(target=self._run, args=(url,), daemon=True)
        self._thread.start()

    def _run(self, url: str) -> None:
        with httpx.Client(base_url=url, timeout=30) as http:
            while not self._stop.is_set():
                answer = http.post(
                    "/invocations", content=self._body, headers={"content-type": "text/csv"}
                )
                self.sent += 1
                if answer.status_code != 200:
                    self.failed += 1
                version = answer.headers.get("x-dockyard-variant", "-")
                self.variants[version] = self.variants.get(version, 0) + 1
                self._stop.wait(0.02)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _replace_trigger(name: str, **options: Any) -> Any:
    from dockyard.errors import NotFound

    with contextlib.suppress(NotFound):
        dy.delete_trigger(name)
    return dy.create_trigger(name, **options)


def retrain_loop(
    model: str,
    experiment: str,
    channels: dict[str, str],
    hyperparameters: dict[str, Any],
    challenger: str,
    endpoint_url: str,
    row: list[float],
    features: np.ndarray,
    work: Path,
) -> str:
    """Run the loop once from drifted traffic; returns the execution's name."""
    from dockyard.demo._drift import drift_starts_retrain, watch

    monitor = watch("diabetes", features, work)  # its baseline job runs meanwhile
    dy.put_parameter("/diabetes/retrain/max_depth", "4", overwrite=True)
    dy.put_parameter("/diabetes/retrain/max_rmse", "70", overwrite=True)
    with contextlib.suppress(AlreadyExists):
        dy.create_topic(TOPIC)
    pipeline = retrain_pipeline(model, experiment, channels, hyperparameters)
    pipeline.create()
    (work / f"{PIPELINE}.asl.json").write_text(pipeline.to_json())
    work_input = {"challenger": challenger}
    on_push = _replace_trigger(
        "diabetes-on-push",
        pipeline=PIPELINE,
        input=work_input,
        git={"repository": "acme/diabetes", "branches": ["main"]},
        secret=_SECRET,
    )
    nightly = _replace_trigger(
        "diabetes-nightly", pipeline=PIPELINE, input=work_input, cron="0 3 * * *"
    )
    print(f"  pipeline {PIPELINE}: {len(pipeline.definition()['States'])} top-level states")
    print(
        f"  triggers: push to acme/diabetes main -> {on_push.hook_path}; nightly (next "
        f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime(nightly.next_time / 1000))} UTC); "
        "a monitoring violation"
    )
    began = time.perf_counter()
    execution = drift_starts_retrain(monitor, endpoint_url, features, PIPELINE, work_input)
    traffic = _Traffic(endpoint_url, row)
    try:
        done = sdk.describe_execution(PIPELINE, execution)
        while done.status.value == "RUNNING":
            done = sdk.describe_execution(PIPELINE, execution, wait=30)
    finally:
        traffic.stop()
    history = sdk.execution_history(PIPELINE, execution)
    path = [
        e.details["stateEnteredEventDetails"]["name"]
        for e in history
        if e.type.endswith("StateEntered") and e.details.get("stateEnteredEventDetails")
    ]
    output = json.loads(done.output or "{}")
    ran_s = ((done.stop_time or done.start_time) - done.start_time) / 1000
    print(
        f"  {done.status.value} in {ran_s:.1f} s ({time.perf_counter() - began:.1f} s from the "
        f"first drifted request): {' -> '.join(path)}"
    )
    if "eval" in output:
        verdict = "passed" if output["eval"]["passed"] else "failed"
        print(
            f"  validation RMSE {output['eval']['rmse']} {verdict} the bar "
            f"{output['eval']['max_rmse']}; registered version "
            f"{output.get('registered', {}).get('version', '-')}"
        )
    print(
        f"  {traffic.sent} requests during the run, {traffic.failed} failed; by variant "
        f"{traffic.variants}"
    )
    if done.status.value != "SUCCEEDED":
        raise SystemExit(
            f"the retrain pipeline ended {done.status.value}: {done.error}: {done.cause}"
        )
    if traffic.failed:
        raise SystemExit(f"{traffic.failed} requests failed while the endpoint was updated")
    return str(execution)
