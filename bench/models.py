"""Model benchmark: pyfunc wrapper overhead vs the native predict, side by side with MLflow.

For an XGBoost classifier (200 trees, depth 5) and a scikit-learn pipeline (StandardScaler +
LogisticRegression) on 10 features (9 float, 1 integer), saved once by Dockyard and once by
MLflow, it times on the same DataFrame:

* ``native``: the estimator's own ``predict``;
* ``dockyard``: ``dockyard.models.load_model(path).predict`` (signature enforced);
* ``mlflow``: ``mlflow.pyfunc.load_model(path).predict`` (signature enforced);

for 1 row and 10,000 rows (one OpenMP thread, as a serving worker runs a model), plus the
wrapper alone (Dockyard's predict around a no-op model: the exact overhead, free of the model's
own timing noise) and the load time from a local path.

Targets: overhead <= 5% at 10,000 rows and <= 20 us per single-row call.

Run: ``.venv/bin/python bench/models.py [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# mlflow warns on import and on save (type hints, integer columns, pandas deprecations); a
# benchmark's output is its table, so they are silenced here rather than filtered one by one.
warnings.filterwarnings("ignore")
# mlflow refuses to unpickle any model unless this is set.
os.environ.setdefault("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
# One OpenMP thread for every copy of a model: the trained one and the two loaded ones (which do
# not keep n_jobs). A serving worker runs one model per core, and OpenMP threads spinning on a
# busy 2-core machine otherwise swamp single-row latency with scheduling noise.
os.environ.setdefault("OMP_NUM_THREADS", "1")


def _data(rows: int) -> tuple[pd.DataFrame, np.ndarray[Any, Any]]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"f{i}": rng.normal(size=rows) for i in range(9)})
    frame["n"] = rng.integers(0, 20, rows)
    labels = ((frame["f0"] + frame["n"] / 10) > 1).to_numpy().astype(np.int64)
    return frame, labels


def _models(frame: pd.DataFrame, labels: np.ndarray[Any, Any]) -> dict[str, Any]:
    import xgboost
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return {
        "xgboost": xgboost.XGBClassifier(n_estimators=200, max_depth=5).fit(frame, labels),
        "sklearn": make_pipeline(StandardScaler(), LogisticRegression()).fit(frame, labels),
    }


def _per_call(fn: Callable[[], Any], calls: int, repeats: int) -> float:
    """Median over ``repeats`` of the mean seconds per call over ``calls`` calls."""
    fn()  # warm caches and lazy imports
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - started) / calls)
    return statistics.median(samples)


def _interleaved(fns: dict[str, Callable[[], Any]], calls: int, repeats: int) -> dict[str, float]:
    """Time several callables in alternation, so drifting machine load hits all of them alike."""
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():
        fn()
    for _ in range(repeats):
        for name, fn in fns.items():
            started = time.perf_counter()
            for _ in range(calls):
                fn()
            samples[name].append((time.perf_counter() - started) / calls)
    return {name: statistics.median(values) for name, values in samples.items()}


class _NoOp:
    raw = None

    def predict(self, data: Any, params: Any) -> Any:
        return data


def _fmt(seconds: float) -> str:
    return f"{seconds * 1e6:9.1f} us" if seconds < 1e-3 else f"{seconds * 1e3:9.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    scale = 0.2 if args.quick else 1.0

    import mlflow.pyfunc
    import mlflow.sklearn
    import mlflow.xgboost

    from dockyard.models import save_model
    from dockyard.models.pyfunc import load_model

    frame, labels = _data(10_000)
    models = _models(frame, labels)
    work = Path(tempfile.mkdtemp(prefix="bench-models-"))
    print(
        f"{'model':8} {'rows':>6} {'native':>12} {'dockyard':>12} {'mlflow':>12} "
        f"{'dy/native':>10} {'mlf/native':>10} {'dy overhead':>12} {'wrapper only':>13}"
    )
    loads: list[str] = []
    for name, model in models.items():
        save_model(model, work / f"dy-{name}", input_example=frame.head(5))
        getattr(mlflow, name).save_model(
            model, str(work / f"mlf-{name}"), input_example=frame.head(5)
        )
        dy_load = _per_call(lambda n=name: load_model(work / f"dy-{n}"), max(1, int(20 * scale)), 3)
        mlf_load = _per_call(
            lambda n=name: mlflow.pyfunc.load_model(str(work / f"mlf-{n}")),
            max(1, int(5 * scale)),
            3,
        )
        loads.append(f"{name:8} load  dockyard {_fmt(dy_load)}   mlflow {_fmt(mlf_load)}")
        dockyard_model = load_model(work / f"dy-{name}")
        mlflow_model = mlflow.pyfunc.load_model(str(work / f"mlf-{name}"))
        wrapper = load_model(work / f"dy-{name}")
        wrapper._predict = _NoOp().predict  # the wrapper's own cost, without the model's
        for rows, calls in ((1, int(2000 * scale)), (10_000, int(40 * scale))):
            batch = frame.iloc[:rows]
            timings = _interleaved(
                {
                    "native": lambda b=batch, m=model: m.predict(b),
                    "dockyard": lambda b=batch, m=dockyard_model: m.predict(b),
                    "mlflow": lambda b=batch, m=mlflow_model: m.predict(b),
                },
                max(1, calls // 5),
                9,
            )
            alone = _per_call(lambda b=batch, m=wrapper: m.predict(b), max(10, calls * 5), 5)
            native = timings["native"]
            print(
                f"{name:8} {rows:6d} {_fmt(native)} {_fmt(timings['dockyard'])} "
                f"{_fmt(timings['mlflow'])} {timings['dockyard'] / native:10.3f} "
                f"{timings['mlflow'] / native:10.3f} {_fmt(timings['dockyard'] - native)} "
                f"{_fmt(alone)}"
            )
    print()
    print("load from a local path (median):")
    for line in loads:
        print("  " + line)
    _registry_loads(models, frame, work, scale)


def _registry_loads(models: dict[str, Any], frame: pd.DataFrame, work: Path, scale: float) -> None:
    """Load by alias through the registry (embedded default, same HTTP app as a server): the
    first load downloads and verifies into the digest-keyed cache; later loads read the cache
    after one resolve request."""
    import mlflow

    import dockyard as dy
    from dockyard.client import sdk
    from dockyard.client.sdk import reset_context
    from dockyard.settings import Settings

    reset_context(Settings(home=work / "home"))
    mlflow.set_tracking_uri(f"sqlite:///{work}/mlflow.db")
    print()
    print("load by alias from the registry (median):")
    for name, model in models.items():
        with dy.start_run():
            dy.log_model(
                model, "model", input_example=frame.head(5), registered_model_name=f"bench-{name}"
            )
        client = sdk.context().client
        client.request(
            "PUT", f"/api/v1/registered-models/bench-{name}/aliases/champion", json={"version": "1"}
        )
        uri = f"models:/bench-{name}@champion"
        start = time.perf_counter()
        dy.load_model(uri)
        cold = time.perf_counter() - start
        warm = _per_call(lambda u=uri: dy.load_model(u), max(1, int(20 * scale)), 3)
        with mlflow.start_run():
            getattr(mlflow, name).log_model(
                model,
                name="model",
                input_example=frame.head(5),
                registered_model_name=f"bench-{name}",
            )
        mlflow.MlflowClient().set_registered_model_alias(f"bench-{name}", "champion", "1")
        mlf = _per_call(
            lambda n=name: mlflow.pyfunc.load_model(f"models:/bench-{n}@champion"),
            max(1, int(5 * scale)),
            3,
        )
        print(
            f"  {name:8} dockyard first {_fmt(cold)}   cached {_fmt(warm)}   "
            f"mlflow (sqlite registry) {_fmt(mlf)}"
        )


if __name__ == "__main__":
    main()
