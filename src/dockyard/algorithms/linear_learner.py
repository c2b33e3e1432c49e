"""The built-in linear-learner algorithm: SageMaker's linear learner, trained with scikit-learn.

Run by the job runner as ``python -m dockyard.algorithms.linear_learner``.

* ``predictor_type``: ``regressor`` (``SGDRegressor``) or ``binary_classifier``
  (``SGDClassifier``, labels 0 and 1); multiclass is refused.
* Channels ``train`` (required), ``validation`` and ``test`` (optional): CSV with the label first
  and no header, or Parquet; every feature must be present (no missing values).
* Training: ``epochs`` passes over the shuffled training rows in ``mini_batch_size`` batches
  (``partial_fit``; scikit-learn's SGD updates per row, so the batch size sets how rows are fed
  and shuffled, not the gradient). ``normalize_data`` standardises features and
  ``normalize_label`` (default on for regression) the label; the saved model works in the
  original units. ``l1`` and ``wd`` become scikit-learn's elastic-net ``alpha`` and ``l1_ratio``
  (both ``auto``: scikit-learn's default L2 of 1e-4). ``learning_rate`` is the initial step of
  an inverse-scaling decay (``auto``: scikit-learn's schedule). ``positive_example_weight_mult``
  weights positive rows (``balanced`` evens the classes).
* Early stopping: when the objective loss (on validation, else train) improves by less than
  ``early_stopping_tolerance`` (relative) for ``early_stopping_patience`` epochs; the model of the
  best epoch is kept.
* Log: per epoch ``#quality_metric: host=algo-1, epoch=<e>, train <loss>_objective <loss>=<v>``
  (and ``validation``), then the final model's scores on validation and test, e.g.
  ``#quality_metric: host=algo-1, test mse <loss>=<v>``; see :mod:`._metrics`.
* Output: ``SM_MODEL_DIR/model.joblib`` (a fitted ``SGDRegressor``/``SGDClassifier`` that takes a
  DataFrame with columns ``f0``, ``f1``..., like ``input_example.csv``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dockyard.algorithms._contract import TrainingEnv, log, run
from dockyard.algorithms._data import Table, align, read_channel, write_input_example
from dockyard.algorithms._hyperparameters import Hyperparameters
from dockyard.algorithms._metrics import format_quality_metric
from dockyard.algorithms._registry import BUILTIN_ALGORITHMS
from dockyard.algorithms._scores import binary_scores, regression_scores
from dockyard.errors import InvalidArgument

__all__ = ["main", "train"]

ALGORITHM = BUILTIN_ALGORITHMS["linear-learner"]
Array = np.ndarray[Any, Any]

# SageMaker's loss -> (scikit-learn's loss, name of the objective in the log).
_LOSSES = {
    "squared_loss": ("squared_error", "mse_objective"),
    "absolute_loss": ("epsilon_insensitive", "absolute_loss_objective"),
    "eps_insensitive_squared_loss": (
        "squared_epsilon_insensitive",
        "eps_insensitive_squared_loss_objective",
    ),
    "eps_insensitive_absolute_loss": (
        "epsilon_insensitive",
        "eps_insensitive_absolute_loss_objective",
    ),
    "huber_loss": ("huber", "huber_loss_objective"),
    "logistic": ("log_loss", "binary_classification_cross_entropy_objective"),
    "hinge_loss": ("hinge", "hinge_loss_objective"),
}


@dataclass(frozen=True)
class _Space:
    """Where the model trains: standardised features (and labels), columns ``f0``, ``f1``...

    The scalings are affine, so the trained coefficients are folded back (:meth:`fold`) into a
    model that takes raw features and predicts in the label's units.
    """

    columns: list[str]
    shift: Array
    scale: Array
    label_shift: float
    label_scale: float

    @classmethod
    def fit(cls, table: Table, *, features: bool, labels: bool) -> _Space:
        width = table.n_features
        shift, scale = np.zeros(width), np.ones(width)
        if features:
            std = table.features.std(axis=0)
            # A constant column is left unscaled rather than divided by zero.
            shift, scale = table.features.mean(axis=0), np.where(std > 0, std, 1.0)
        label_shift, label_scale = 0.0, 1.0
        if labels:
            label_shift, label_scale = float(table.labels.mean()), float(table.labels.std() or 1)
        return cls([f"f{i}" for i in range(width)], shift, scale, label_shift, label_scale)

    def frame(self, raw: Array) -> pd.DataFrame:
        return pd.DataFrame((raw - self.shift) / self.scale, columns=self.columns)

    def labels(self, raw: Array) -> Array:
        return np.asarray((raw - self.label_shift) / self.label_scale)

    def fold(self, model: Any, coef: Array, intercept: Array, *, binary: bool) -> None:
        raw_coef = coef / self.scale
        raw_intercept = intercept - raw_coef @ self.shift
        label_scale = 1.0 if binary else self.label_scale
        model.coef_ = raw_coef * label_scale
        model.intercept_ = raw_intercept * label_scale + (0.0 if binary else self.label_shift)


def _decision(model: Any, frame: pd.DataFrame, binary: bool) -> Array:
    """Logits of a classifier, predictions of a regressor."""
    return np.asarray(model.decision_function(frame) if binary else model.predict(frame))


def _objective(loss: str, hps: Hyperparameters, labels: Array, scores: Array) -> float:
    """The mean loss in the label's units (``scores``: predictions or decision values)."""
    if loss in ("logistic", "hinge_loss"):
        sign = 2 * labels - 1
        if loss == "logistic":
            return float(np.mean(np.logaddexp(0, -sign * scores)))
        return float(np.mean(np.maximum(0, 1 - sign * scores)))
    residual = np.abs(labels - scores)
    if loss == "squared_loss":
        return float(np.mean(residual**2))
    if loss == "absolute_loss":
        return float(np.mean(residual))
    if loss == "huber_loss":
        delta = hps.number("huber_delta")
        quadratic = np.minimum(residual, delta)
        return float(np.mean(0.5 * quadratic**2 + delta * (residual - quadratic)))
    excess = np.maximum(0, residual - hps.number("loss_insensitivity"))
    return float(np.mean(excess**2 if loss == "eps_insensitive_squared_loss" else excess))


def _check(table: Table, binary: bool, feature_dim: float | None) -> None:
    missing = np.flatnonzero(np.isnan(table.features).any(axis=1))
    if len(missing):
        raise InvalidArgument(
            f"{table.locate(int(missing[0]))}: a feature is missing; linear-learner needs "
            "every feature value"
        )
    if binary:
        wrong = np.flatnonzero((table.labels != 0) & (table.labels != 1))
        if len(wrong):
            raise InvalidArgument(
                f"{table.locate(int(wrong[0]))}: label {table.labels[wrong[0]]:g} is not 0 or 1, "
                "as binary_classifier needs"
            )
    if feature_dim is not None and feature_dim != table.n_features:
        raise InvalidArgument(
            f"hyperparameter 'feature_dim' is {feature_dim:g} but channel {table.channel!r} has "
            f"{table.n_features} feature columns",
            field="hyperparameters.feature_dim",
        )


def _estimator(hps: Hyperparameters, loss: str, label_scale: float) -> Any:
    from sklearn.linear_model import SGDClassifier, SGDRegressor

    l1, wd = hps.optional_number("l1"), hps.optional_number("wd")
    if l1 is None and wd is None:
        penalty: str | None
        penalty, alpha, l1_ratio = "l2", 1e-4, 0.0
    else:
        alpha = (l1 or 0.0) + (wd or 0.0)
        l1_ratio = (l1 or 0.0) / alpha if alpha else 0.0
        penalty = None if alpha == 0 else "elasticnet"
    rate = hps.optional_number("learning_rate")
    schedule: dict[str, Any] = (
        {"learning_rate": "invscaling", "eta0": rate} if rate is not None else {}
    )
    common: dict[str, Any] = {
        "loss": _LOSSES[loss][0],
        "penalty": penalty,
        "alpha": alpha if penalty else 0.0,
        "l1_ratio": l1_ratio,
        "fit_intercept": hps.flag("use_bias"),
        "random_state": 0,
        **schedule,
    }
    if hps.text("predictor_type") == "binary_classifier":
        return SGDClassifier(**common)
    # The insensitivity and Huber widths are in label units; the model sees scaled labels.
    if loss == "huber_loss":
        common["epsilon"] = hps.number("huber_delta") / label_scale
    elif loss.startswith("eps_insensitive"):
        common["epsilon"] = hps.number("loss_insensitivity") / label_scale
    elif loss == "absolute_loss":
        common["epsilon"] = 0.0
    return SGDRegressor(**common)


def _weights(hps: Hyperparameters, labels: Array) -> Array | None:
    setting = hps.values.get("positive_example_weight_mult")
    if hps.text("predictor_type") != "binary_classifier" or setting in (None, "auto"):
        return None
    positives = float(labels.sum())
    if setting == "balanced":
        multiplier = (len(labels) - positives) / positives if positives else 1.0
    else:
        multiplier = float(str(setting))
    return np.where(labels == 1, multiplier, 1.0)


def _tables(env: TrainingEnv, binary: bool, feature_dim: float | None) -> dict[str, Table]:
    ALGORITHM.validate_channels({n: c.content_type for n, c in env.channels.items()})
    tables: dict[str, Table] = {}
    for name in ("train", "validation", "test"):
        channel = env.channel(name, required=name == "train")
        if channel is None:
            continue
        table = read_channel(channel, ALGORITHM.formats, algorithm=ALGORITHM.name)
        if name != "train":
            table = align(tables["train"], table)[1]
        _check(table, binary, feature_dim)
        tables[name] = table
        log(f"{name}: {len(table.labels)} rows, {table.n_features} features")
    return tables


def _fit(
    env: TrainingEnv, hps: Hyperparameters, loss: str, tables: dict[str, Table], space: _Space
) -> Any:
    """Run the epochs; return the model with the best epoch's coefficients, on raw features."""
    binary = hps.text("predictor_type") == "binary_classifier"
    data = tables["train"]
    model = _estimator(hps, loss, space.label_scale)
    weights = _weights(hps, data.labels)
    x, y = space.frame(data.features).to_numpy(), data.labels
    y_fit = y if binary else space.labels(y)
    extra: dict[str, Any] = {"classes": np.array([0.0, 1.0])} if binary else {}
    watched = "validation" if "validation" in tables else "train"
    objective_name = _LOSSES[loss][1]
    tolerance = hps.number("early_stopping_tolerance")
    rng = np.random.default_rng(0)
    batch = hps.integer("mini_batch_size")
    best: tuple[float, Array, Array, int] | None = None
    stale = 0
    for epoch in range(hps.integer("epochs")):
        order = rng.permutation(len(y))
        for start in range(0, len(order), batch):
            rows = order[start : start + batch]
            model.partial_fit(
                pd.DataFrame(x[rows], columns=space.columns),
                y_fit[rows],
                sample_weight=None if weights is None else weights[rows],
                **extra,
            )
        losses: dict[str, float] = {}
        for name in ("train", "validation"):
            if name in tables:
                values = _decision(model, space.frame(tables[name].features), binary)
                if not binary:
                    values = values * space.label_scale + space.label_shift
                losses[name] = _objective(loss, hps, tables[name].labels, values)
                line = format_quality_metric(
                    env.current_host, name, objective_name, losses[name], epoch=epoch, loss=True
                )
                log(line)
        current = losses[watched]
        # SageMaker's rule: stop when the relative improvement stays under the tolerance.
        improved = best is None or current < best[0] * (1 - tolerance)
        stale = 0 if improved else stale + 1
        if best is None or current < best[0]:
            best = (current, model.coef_.copy(), model.intercept_.copy(), epoch)
        if stale >= hps.integer("early_stopping_patience"):
            log(f"early stopping after epoch {epoch}: the {watched} loss stopped improving")
            break
    assert best is not None
    log(f"best epoch: {best[3]} ({watched} {objective_name} {best[0]:.6g})")
    space.fold(model, best[1], best[2], binary=binary)
    return model


def train(env: TrainingEnv) -> None:
    """Train on the job's channels and save the model (the algorithm's whole run)."""
    hps = ALGORITHM.hyperparameters.parse(env.hyperparameters)
    for warning in hps.warnings:
        log(f"WARNING: {warning}")
    binary = hps.text("predictor_type") == "binary_classifier"
    loss = hps.text("loss")
    if loss == "auto":
        loss = "logistic" if binary else "squared_loss"
    tables = _tables(env, binary, hps.optional_number("feature_dim"))
    space = _Space.fit(
        tables["train"],
        features=hps.flag("normalize_data"),
        labels=not binary and hps.values.get("normalize_label") is not False,
    )
    model = _fit(env, hps, loss, tables, space)
    for name in ("validation", "test"):
        if name in tables:
            _final_scores(env, hps, loss, model, tables[name], space.columns)
    import joblib

    env.model_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, env.model_dir / ALGORITHM.model_file)
    write_input_example(env.model_dir, tables["train"])
    log(f"saved {ALGORITHM.model_file} to {env.model_dir}")


def _final_scores(
    env: TrainingEnv,
    hps: Hyperparameters,
    loss: str,
    model: Any,
    table: Table,
    columns: list[str],
) -> None:
    """Print the final model's objective and SageMaker's scores on one channel."""
    binary = hps.text("predictor_type") == "binary_classifier"
    values = _decision(model, pd.DataFrame(table.features, columns=columns), binary)
    objective = _objective(loss, hps, table.labels, values)
    lines = [
        format_quality_metric(
            env.current_host, table.channel, _LOSSES[loss][1], objective, loss=True
        )
    ]
    if binary:
        classes = (values > 0).astype(np.float64)
        found = binary_scores(table.labels, values, classes, beta=hps.number("f_beta"))
    else:
        found = regression_scores(table.labels, values)
    for metric, value in found.items():
        is_loss = metric in ("mse", "rmse", "absolute_loss")
        lines.append(
            format_quality_metric(env.current_host, table.channel, metric, value, loss=is_loss)
        )
    for line in lines:
        log(line)


def main() -> None:
    """Entry point: run under the training contract and exit with its status."""
    sys.exit(run(train, algorithm=ALGORITHM.name))


if __name__ == "__main__":
    main()
