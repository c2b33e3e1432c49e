"""``make demo``: the whole flow that exists today, end to end, on the embedded default.

1. Tracking: a small hyperparameter sweep of scikit-learn regressors on the bundled diabetes
   dataset, with params, per-round metrics, the dataset and a report artifact.
2. Training job: the dataset split into train / validation / test CSVs (label first, no
   header, as SageMaker's XGBoost reads them), uploaded, and trained with the built-in XGBoost
   algorithm with live logs; the job registers its model.
3. Registry: alias ``champion`` on the new version, the model loaded back by alias.
4. Batch transform: the held-out test CSV scored through ``models:/...@champion`` (the label
   column dropped by an input filter, predictions joined to the inputs), and the test RMSE
   computed from the output file.
5. Endpoint: the champion and the sweep's best scikit-learn model deployed as two variants
   (90/10), invoked through SageMaker's, MLflow's and the Open Inference Protocol's formats.
6. Monitoring and the retrain loop: a schedule checks the endpoint's captured traffic against a
   baseline suggested from the training features; drifted traffic makes a violation, whose
   event starts the retrain pipeline (settings from the parameter store -> train -> evaluate in
   a Python function -> quality gate -> register -> canary deploy -> alias -> notify) while
   requests keep flowing to the endpoint; a signed git push and a nightly schedule start the
   same pipeline (see :mod:`dockyard.demo._drift` and :mod:`dockyard.demo._retrain`).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import numpy as np

import dockyard as dy
from dockyard.client import sdk
from dockyard.settings import Settings

EXPERIMENT = "demo-diabetes"
MODEL = "diabetes-xgb"
XGB_HYPERPARAMETERS = {
    "max_depth": 5,
    "eta": 0.2,
    "gamma": 4,
    "min_child_weight": 6,
    "subsample": 0.8,
    "objective": "reg:squarederror",
    "early_stopping_rounds": 10,
    "num_round": 200,
}


def _say(title: str) -> None:
    print(f"\n== {title}", flush=True)


def _sweep(x: np.ndarray, y: np.ndarray) -> list[tuple[float, str]]:
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.model_selection import train_test_split

    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.25, random_state=0)
    dy.set_experiment(EXPERIMENT)
    results = []
    for depth, rate in ((2, 0.1), (3, 0.05), (5, 0.1)):
        with dy.start_run(run_name=f"gbr-depth{depth}-lr{rate}") as run:
            params = {"n_estimators": 150, "max_depth": depth, "learning_rate": rate}
            dy.log_params({**params, "model": "GradientBoostingRegressor"})
            dy.log_input(
                np.column_stack([x_train, y_train]), name="diabetes-train", context_name="training"
            )
            model = GradientBoostingRegressor(random_state=0, **params).fit(x_train, y_train)
            best = float("inf")
            for step, (p_train, p_val) in enumerate(
                zip(model.staged_predict(x_train), model.staged_predict(x_val), strict=True)
            ):
                val_rmse = float(np.sqrt(np.mean((p_val - y_val) ** 2)))
                best = min(best, val_rmse)
                dy.log_metrics(
                    {
                        "train_rmse": float(np.sqrt(np.mean((p_train - y_train) ** 2))),
                        "val_rmse": val_rmse,
                    },
                    step=step,
                )
            dy.log_metric("best_val_rmse", best)
            with tempfile.TemporaryDirectory() as tmp:
                report = Path(tmp) / "report.md"
                report.write_text(f"# Validation report\n\n{params}\n\nbest RMSE {best:.3f}\n")
                dy.log_artifact(report)
        results.append((best, run.run_id))
        print(f"  run {run.run_id}  depth={depth} lr={rate}  best val RMSE {best:.2f}")
    return sorted(results)


def _split(x: np.ndarray, y: np.ndarray, folder: Path) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    cuts = {"train": order[:300], "validation": order[300:370], "test": order[370:]}
    paths = {}
    for name, rows in cuts.items():
        (folder / name).mkdir(parents=True)
        path = folder / name / f"{name}.csv"
        np.savetxt(path, np.column_stack([y[rows], x[rows]]), delimiter=",", fmt="%.6f")
        paths[name] = path
    return paths


def _challenger(run_id: str, x: np.ndarray, y: np.ndarray) -> str:
    """The sweep's best settings, refit and registered as a second model to serve."""
    from sklearn.ensemble import GradientBoostingRegressor

    params = {
        k: float(v) if "." in v else int(v)
        for k, v in dy.get_run(run_id).params.items()
        if k != "model"
    }
    model = GradientBoostingRegressor(random_state=0, **params).fit(x, y)
    with dy.start_run(run_name="challenger"):
        logged = dy.log_model(
            model, "model", input_example=x[:3], registered_model_name="diabetes-gbr"
        )
    return f"models:/diabetes-gbr/{logged.version}"


def _protocols(url: str, row: list[float]) -> None:
    import httpx

    columns = [f"f{i}" for i in range(len(row))]
    calls = [
        (
            "SageMaker text/csv",
            "/invocations",
            {"content-type": "text/csv"},
            ",".join(map(str, row)).encode(),
        ),
        (
            "MLflow dataframe_split",
            "/invocations",
            {"content-type": "application/json"},
            json.dumps({"dataframe_split": {"columns": columns, "data": [row]}}).encode(),
        ),
        (
            "Open Inference Protocol v2",
            "/v2/models/diabetes/infer",
            {"content-type": "application/json"},
            json.dumps(
                {
                    "inputs": [
                        {"name": "input-0", "shape": [1, len(row)], "datatype": "FP64", "data": row}
                    ]
                }
            ).encode(),
        ),
    ]
    with httpx.Client(base_url=url, timeout=30) as http:
        for label, path, headers, body in calls:
            response = http.post(path, content=body, headers=headers)
            print(
                f"  {label:27s} -> {response.status_code} "
                f"variant={response.headers.get('x-dockyard-variant')} {response.text[:80]}"
            )
        seen: dict[str, int] = {}
        for _ in range(100):
            answer = http.post("/invocations", content=calls[0][3], headers=calls[0][2])
            variant = answer.headers.get("x-dockyard-variant", "-")
            seen[variant] = seen.get(variant, 0) + 1
    print(f"  100 requests by variant: {seen}")
    print(f"  endpoint URL: {url}")


def main() -> int:
    from sklearn.datasets import load_diabetes

    started = time.perf_counter()
    from dockyard.demo._retrain import FUNCTIONS, retrain_loop

    # The pipeline's Python function, for the local server this demo starts.
    os.environ.setdefault("DOCKYARD_PIPELINE_FUNCTIONS", json.dumps(FUNCTIONS))
    settings = Settings()
    print(f"Dockyard state in {settings.home} (set DOCKYARD_HOME or DOCKYARD_URI to change)")
    x, y = load_diabetes(return_X_y=True)

    _say("1. Tracking: a hyperparameter sweep")
    sweep = _sweep(x, y)

    _say("2. Training job: built-in XGBoost on uploaded CSVs, live logs")
    work = Path(tempfile.mkdtemp(prefix="dockyard-demo-"))
    paths = _split(x, y, work)
    channels = {
        name: dy.upload_data(paths[name].parent, key_prefix=f"demo/diabetes/{name}")
        for name in ("train", "validation")
    }
    estimator = dy.Estimator.builtin(
        "xgboost", hyperparameters=XGB_HYPERPARAMETERS, register_as=MODEL, experiment=EXPERIMENT
    )
    job = estimator.fit(channels, wait=False)
    described = job.wait(logs=False)
    log, _, _ = job.logs()
    rounds = [line for line in log.splitlines() if "#011validation-rmse" in line]
    for line in [*rounds[:3], "...", *rounds[-2:]]:
        print(f"  {line}")
    print(f"  job {job.name}: {described.status.value}, {described.events[-1].message}")

    _say("3. Registry: alias 'champion', load by alias")
    client = sdk.context().client
    versions = client.request("GET", f"/api/v1/registered-models/{quote(MODEL)}/versions")
    latest = max(int(v["version"]) for v in versions["model_versions"])
    client.request(
        "PUT",
        f"/api/v1/registered-models/{quote(MODEL)}/aliases/champion",
        json={"version": str(latest)},
    )
    model = dy.load_model(f"models:/{MODEL}@champion")
    sample = np.loadtxt(paths["test"], delimiter=",")[:3, 1:]
    print(
        f"  models:/{MODEL}@champion -> version {latest}, flavor "
        f"{model.metadata.flavor}; predictions for 3 test rows: "
        f"{[round(float(v), 1) for v in np.asarray(model.predict(sample)).ravel()]}"
    )

    _say("4. Batch transform: score the held-out test CSV")
    transformer = dy.Transformer(f"models:/{MODEL}@champion", output_path=str(work / "scored"))
    transformer.transform(
        str(paths["test"]),
        content_type="text/csv",
        input_filter="$[1:]",
        join_source="Input",
        wait=True,
        logs=False,
    )
    scored = np.loadtxt(work / "scored" / "test.csv.out", delimiter=",")
    rmse = float(np.sqrt(np.mean((scored[:, -1] - scored[:, 0]) ** 2)))
    print(f"  {len(scored)} rows scored -> {work / 'scored' / 'test.csv.out'}")
    print(
        f"  test RMSE from the output file: {rmse:.2f} "
        f"(sweep's best validation RMSE {sweep[0][0]:.2f})"
    )

    _say("5. Endpoint: two variants (90/10), three protocols")
    challenger = _challenger(sweep[0][1], x, y)
    endpoint = dy.deploy(
        name="diabetes",
        variants=[
            {"name": "champion", "model_uri": f"models:/{MODEL}@champion", "weight": 9},
            {"name": "challenger", "model_uri": challenger, "weight": 1},
        ],
        capture={"enabled": True, "sampling_pct": 100},
        # Running the demo again updates the endpoint through a canary; a short bake keeps the
        # rerun quick (the default holds each step for 60 s while watching error rates). No
        # traffic runs meanwhile, so the canary passes on time alone (min_requests 0): waiting
        # for the default 10 requests it would be rolled back, and deploy would raise.
        rollout={
            "strategy": "canary",
            "canary_pct": 10,
            "bake_s": 2,
            "thresholds": {"min_requests": 0},
        },
    )
    url = endpoint.url
    row = [round(float(v), 6) for v in np.loadtxt(paths["test"], delimiter=",")[0, 1:]]
    _protocols(url, row)

    _say("6. Monitoring: drifted traffic -> violation -> retrain pipeline -> canary deploy")
    features = np.loadtxt(paths["train"], delimiter=",")[:, 1:]
    execution = retrain_loop(
        MODEL, EXPERIMENT, channels, XGB_HYPERPARAMETERS, challenger, url, row, features, work
    )

    server = sdk.context().server().base_url
    print(f"\nDone in {time.perf_counter() - started:.1f} s. Look next:")
    print(f"  the web UI: {server}/#/experiments  (start with the {EXPERIMENT!r} runs)")
    print(
        f"  the retrain pipeline's run, drawn: "
        f"{server}/#/pipelines/diabetes-retrain/executions/{execution}"
    )
    print(f"  the drift check and its report: {server}/#/monitoring/diabetes-drift")
    print(f"  .venv/bin/dockyard pipelines graph diabetes-retrain {execution}")
    print("  .venv/bin/dockyard monitor schedules executions diabetes-drift")
    print(f"  .venv/bin/dockyard runs list -e {EXPERIMENT} -o 'metrics.best_val_rmse ASC'")
    print(f"  .venv/bin/dockyard runs compare {' '.join(r for _, r in sweep)}")
    print(f"  .venv/bin/dockyard jobs describe {job.name}")
    print(f"  .venv/bin/dockyard models show {MODEL}")
    print("  .venv/bin/dockyard endpoints describe diabetes --stats")
    print(f"  curl -s {url}/invocations -H 'content-type: text/csv' -d '{','.join(map(str, row))}'")
    print(f"  a local server is running at {server}  (API docs: {server}/api/v1/docs)")
    print(f"  MLFLOW_TRACKING_URI={server} works with the mlflow client")
    print(
        f"  AWS_ENDPOINT_URL={server} works with boto3's sagemaker, stepfunctions, logs, ssm "
        "and sns clients and the SageMaker SDK (S3 stays on your object store)"
    )
    print("  .venv/bin/dockyard server stop --endpoints  stops the server and the endpoint")
    return 0


if __name__ == "__main__":
    sys.exit(main())
