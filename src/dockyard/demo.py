"""``make demo``: the whole flow that exists today, end to end, on the embedded default.

Trains gradient-boosted regressors on scikit-learn's bundled diabetes dataset with three
settings, tracking params, per-round validation metrics, the dataset and a report artifact, then
compares the runs and prints where to look next.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import dockyard as dy
from dockyard.settings import Settings

EXPERIMENT = "demo-diabetes"


def _train(
    settings: dict[str, float | int],
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
) -> tuple[str, float]:
    from sklearn.ensemble import GradientBoostingRegressor

    model = GradientBoostingRegressor(random_state=0, **settings)
    with dy.start_run(
        run_name=f"gbr-depth{settings['max_depth']}-lr{settings['learning_rate']}"
    ) as run:
        dy.log_params({**settings, "model": "GradientBoostingRegressor"})
        dy.log_input(
            np.column_stack([x_train, y_train]), name="diabetes-train", context_name="training"
        )
        model.fit(x_train, y_train)
        best = float("inf")
        for epoch, (train_pred, val_pred) in enumerate(
            zip(model.staged_predict(x_train), model.staged_predict(x_val), strict=True)
        ):
            train_rmse = float(np.sqrt(np.mean((train_pred - y_train) ** 2)))
            val_rmse = float(np.sqrt(np.mean((val_pred - y_val) ** 2)))
            best = min(best, val_rmse)
            dy.log_metrics({"train_rmse": train_rmse, "val_rmse": val_rmse}, step=epoch)
        dy.log_metric("best_val_rmse", best)
        with tempfile.TemporaryDirectory() as tmp:
            report = Path(tmp) / "report.md"
            report.write_text(
                f"# Validation report\n\nsettings: {settings}\n\nbest validation RMSE: {best:.3f}\n"
            )
            dy.log_artifact(report)
    return run.run_id, best


def main() -> int:
    from sklearn.datasets import load_diabetes
    from sklearn.model_selection import train_test_split

    started = time.perf_counter()
    settings = Settings()
    x, y = load_diabetes(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.25, random_state=0)
    dy.set_experiment(EXPERIMENT)
    print(f"Tracking to {settings.home} (set DOCKYARD_HOME or DOCKYARD_URI to change)")
    results = []
    for grid in (
        {"n_estimators": 150, "max_depth": 2, "learning_rate": 0.1},
        {"n_estimators": 150, "max_depth": 3, "learning_rate": 0.05},
        {"n_estimators": 150, "max_depth": 5, "learning_rate": 0.1},
    ):
        run_id, best = _train(grid, x_train, y_train, x_val, y_val)
        results.append((best, run_id))
        print(
            f"  run {run_id}  depth={grid['max_depth']} lr={grid['learning_rate']}  "
            f"best val RMSE {best:.2f}"
        )
    results.sort()
    frame = dy.search_runs(
        experiment_names=[EXPERIMENT], order_by=["metrics.best_val_rmse ASC"], max_results=3
    )
    print(
        f"\nBest run: {frame.iloc[0]['run_id']} ({frame.iloc[0]['run_name']}), "
        f"val RMSE {frame.iloc[0]['metrics.best_val_rmse']:.2f}"
    )
    ids = " ".join(r for _, r in results)
    print(f"\nDone in {time.perf_counter() - started:.1f} s. Look next:")
    print(f"  .venv/bin/dockyard runs list -e {EXPERIMENT} -o 'metrics.best_val_rmse ASC'")
    print(f"  .venv/bin/dockyard runs compare {ids}")
    print(f"  .venv/bin/dockyard runs show {results[0][1]}")
    print(
        "  .venv/bin/dockyard server   # then MLFLOW_TRACKING_URI=http://127.0.0.1:5050 "
        "works with the mlflow client"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
