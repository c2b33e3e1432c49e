"""The built-in XGBoost algorithm, with SageMaker's semantics.

Run by the job runner as ``python -m dockyard.algorithms.xgboost`` in the job directory.

* Channels: ``train`` (required) and ``validation`` (optional), each CSV (label first, no
  header), LIBSVM or Parquet (label first); see :mod:`._data`. The ContentType comes from
  ``inputdataconfig.json``; when it is not declared the format is detected (SageMaker assumes
  LIBSVM there, which a detected LIBSVM file matches). ``csv_weights=1`` reads instance weights
  from the second CSV column.
* Hyperparameters: SageMaker's (``num_round`` required) and the rest of XGBoost's; see
  :mod:`._xgboost_params`. SageMaker's extra metrics (``accuracy``, ``f1``, ``mse``, ``r2``...)
  may be listed in ``eval_metric`` beside XGBoost's own. ``nthread`` defaults to
  ``SM_NUM_CPUS``.
* Log: one ``[i]#011train-<metric>:<v>#011validation-<metric>:<v>`` line per round, flushed.
* Early stopping (``early_stopping_rounds``) watches the validation channel (the training data
  when there is none) on the tuning objective metric if given, else on the last metric of
  ``eval_metric``. Unlike SageMaker, which keeps the extra rounds, the saved model stops at the
  best round, so what is deployed is what scored best.
* Checkpoints: with a checkpoint folder (``SM_CHECKPOINT_DIR``), the booster is saved there
  after every round (the last five kept) and a retried job resumes from the latest one.
* Output: ``SM_MODEL_DIR/xgboost-model`` (UBJSON, loadable with ``Booster.load_model``) and
  ``input_example.csv``; on error, ``output/failure`` and a non-zero exit.
"""

from __future__ import annotations

import math
import re
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

from dockyard.algorithms._contract import TrainingEnv, log, run
from dockyard.algorithms._data import Table, align, read_channel, write_input_example
from dockyard.algorithms._hyperparameters import Hyperparameters
from dockyard.algorithms._metrics import format_xgboost_line
from dockyard.algorithms._registry import BUILTIN_ALGORITHMS
from dockyard.algorithms._scores import xgboost_custom_metric
from dockyard.algorithms._xgboost_params import (
    CUSTOM_METRICS,
    NOT_XGBOOST_PARAMS,
    metric_is_maximized,
)
from dockyard.errors import InvalidArgument

__all__ = ["main", "train"]

ALGORITHM = BUILTIN_ALGORITHMS["xgboost"]
_CHECKPOINT = "xgboost-checkpoint"
_KEEP_CHECKPOINTS = 5


class _Printer(xgb.callback.TrainingCallback):
    """Prints each round's evaluation in SageMaker's format, and XGBoost's warnings as they come."""

    def __init__(self, caught: list[warnings.WarningMessage]) -> None:
        super().__init__()
        self._caught = caught
        self._start = 0

    def before_training(self, model: Any) -> Any:
        self._start = model.num_boosted_rounds()
        return model

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        self.flush_warnings()
        scores = [
            (data, metric, float(values[-1]))
            for data, metrics in evals_log.items()
            for metric, values in metrics.items()
        ]
        log(format_xgboost_line(self._start + epoch, scores))
        return False

    def flush_warnings(self) -> None:
        for caught in self._caught:
            log(f"WARNING: {_xgboost_message(str(caught.message))}")
        self._caught.clear()


class _Checkpoints(xgb.callback.TrainingCallback):
    """Saves the booster after every round, keeping the latest few, for a retry to resume."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self._folder = folder

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        self._folder.mkdir(parents=True, exist_ok=True)
        rounds = model.num_boosted_rounds()
        target = self._folder / f"{_CHECKPOINT}.{rounds - 1}"
        partial = target.with_suffix(".partial")
        # Written aside and renamed, so a job stopped mid-write never leaves a torn checkpoint.
        partial.write_bytes(model.save_raw("ubj"))
        partial.replace(target)
        for old in _checkpoints(self._folder)[:-_KEEP_CHECKPOINTS]:
            old.unlink(missing_ok=True)
        return False


def _checkpoints(folder: Path) -> list[Path]:
    pattern = re.compile(rf"{re.escape(_CHECKPOINT)}\.(\d+)")
    found = [
        (int(m.group(1)), p)
        for p in folder.glob(f"{_CHECKPOINT}.*")
        if (m := pattern.fullmatch(p.name))
    ]
    return [path for _, path in sorted(found)]


def _resume(folder: Path | None) -> xgb.Booster | None:
    if folder is None or not folder.is_dir():
        return None
    found = _checkpoints(folder)
    if not found:
        return None
    booster = xgb.Booster()
    booster.load_model(bytearray(found[-1].read_bytes()))
    log(f"resuming from checkpoint {found[-1].name}: {booster.num_boosted_rounds()} rounds done")
    return booster


def _xgboost_message(text: str) -> str:
    """XGBoost's message without its timestamps, source locations and stack trace."""
    parts = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("Stack trace"):
            break
        line = re.sub(r"^\[[\d:]+\] ", "", line)
        line = re.sub(r"^(?:WARNING: )?\S+\.(?:cc|cu|h|cuh):\d+: ?", "", line)
        if line:
            parts.append(line)
    return " ".join(parts) or text.strip()


def _params(hps: Hyperparameters, num_cpus: int) -> dict[str, Any]:
    """XGBoost's parameters: the given ones, minus the algorithm's own and ignored ones."""
    params: dict[str, Any] = {"nthread": num_cpus, "objective": hps.text("objective")}
    ignored = {spec.name for spec in ALGORITHM.hyperparameters.specs if spec.ignored}
    for name in sorted(hps.given - NOT_XGBOOST_PARAMS - ignored):
        value = hps.values[name]
        if isinstance(value, bool):
            value = int(value)
        elif isinstance(value, tuple):
            value = ",".join(value)
        params[name] = value
    if params["objective"] == "reg:linear":
        log("WARNING: objective 'reg:linear' is read as 'reg:squarederror' (its current name)")
        params["objective"] = "reg:squarederror"
    native = [m for m in _eval_metrics(hps) if m not in CUSTOM_METRICS]
    params.pop("eval_metric", None)
    if native:
        params["eval_metric"] = native
    return params


def _eval_metrics(hps: Hyperparameters) -> list[str]:
    """``eval_metric`` in the user's order, plus the tuning objective's metric if missing."""
    metrics = list(dict.fromkeys(hps.items("eval_metric")))
    tuning = hps.values.get("_tuning_objective_metric")
    if isinstance(tuning, str):
        metric = tuning.partition(":")[2]
        if metric not in metrics:
            metrics.append(metric)
    return metrics


def _check_labels(table: Table, objective: str, num_class: int | None) -> None:
    """Refuse labels the objective cannot take, naming the row (XGBoost would not)."""
    labels = table.labels
    if objective in ("binary:logistic", "binary:logitraw", "binary:hinge", "reg:logistic"):
        wrong, expected = (labels < 0) | (labels > 1), "in [0, 1]"
    elif objective.startswith("multi:") and num_class is not None:
        wrong = (labels < 0) | (labels >= num_class) | (labels != np.floor(labels))
        expected = f"a class number from 0 to {num_class - 1}"
    else:
        return
    rows = np.flatnonzero(wrong)
    if len(rows):
        raise InvalidArgument(
            f"{table.locate(int(rows[0]))}: label {labels[rows[0]]:g} is not {expected}, "
            f"as objective {objective!r} needs"
        )


def _matrix(table: Table, nthread: int) -> xgb.DMatrix:
    try:
        return xgb.DMatrix(
            table.features,
            label=table.labels,
            weight=table.weights,
            qid=table.qid,
            missing=math.nan,
            nthread=nthread,
        )
    except (xgb.core.XGBoostError, ValueError) as exc:
        raise InvalidArgument(
            f"channel {table.channel!r}: XGBoost refused the data: {_xgboost_message(str(exc))}"
        ) from None


def _early_stopping(hps: Hyperparameters, data_name: str) -> xgb.callback.EarlyStopping | None:
    if hps.values.get("early_stopping_rounds") is None:
        return None
    tuning = hps.values.get("_tuning_objective_metric")
    metrics = _eval_metrics(hps)
    metric: str | None = None
    if isinstance(tuning, str):
        metric = tuning.partition(":")[2]
    elif metrics:
        metric = metrics[-1]
    if data_name == "train":
        log("WARNING: early_stopping_rounds watches the training data: no validation channel")
    return xgb.callback.EarlyStopping(
        rounds=hps.integer("early_stopping_rounds"),
        metric_name=metric,
        data_name=data_name,
        maximize=metric_is_maximized(metric) if metric else None,
        save_best=True,
    )


def _tables(env: TrainingEnv, hps: Hyperparameters) -> list[Table]:
    """The train table, then the validation table if the job has that channel."""
    ALGORITHM.validate_channels({n: c.content_type for n, c in env.channels.items()})
    channel = env.channel("train", required=True)
    assert channel is not None
    weighted = bool(hps.integer("csv_weights"))
    train = read_channel(channel, ALGORITHM.formats, algorithm=ALGORITHM.name, csv_weights=weighted)
    validation_channel = env.channel("validation")
    if validation_channel is None:
        log(f"train: {len(train.labels)} rows, {train.n_features} features")
        return [train]
    validation = read_channel(validation_channel, ALGORITHM.formats, algorithm=ALGORITHM.name)
    train, validation = align(train, validation)
    log(
        f"train: {len(train.labels)} rows, {train.n_features} features; "
        f"validation: {len(validation.labels)} rows"
    )
    return [train, validation]


def train(env: TrainingEnv) -> None:
    """Train on the job's channels and save the model (the algorithm's whole run)."""
    hps = ALGORITHM.hyperparameters.parse(env.hyperparameters)
    for warning in hps.warnings:
        log(f"WARNING: {warning}")
    tables = _tables(env, hps)
    params = _params(hps, env.num_cpus)
    num_class = hps.values.get("num_class")
    for table in tables:
        _check_labels(table, params["objective"], num_class if isinstance(num_class, int) else None)
    matrices = [_matrix(table, params["nthread"]) for table in tables]
    evals = list(zip(matrices, ("train", "validation"), strict=False))
    custom = [m for m in _eval_metrics(hps) if m in CUSTOM_METRICS]
    stopping = _early_stopping(hps, evals[-1][1])
    resumed = _resume(env.checkpoint_dir)
    rounds = hps.integer("num_round") - (resumed.num_boosted_rounds() if resumed else 0)
    with warnings.catch_warnings(record=True) as caught:
        # XGBoost reports through Python warnings; they become log lines, printed as they come.
        warnings.simplefilter("always")
        printer = _Printer(caught)
        callbacks: list[xgb.callback.TrainingCallback] = [printer]
        if stopping is not None:
            callbacks.append(stopping)
        if env.checkpoint_dir is not None:
            callbacks.append(_Checkpoints(env.checkpoint_dir))
        try:
            booster = xgb.train(
                params,
                matrices[0],
                num_boost_round=max(rounds, 0),
                evals=evals,
                custom_metric=xgboost_custom_metric(custom, params["objective"])
                if custom
                else None,
                callbacks=callbacks,
                verbose_eval=False,
                xgb_model=resumed,
            )
        except xgb.core.XGBoostError as exc:
            message = _xgboost_message(str(exc))
            raise InvalidArgument(f"XGBoost could not train: {message}") from None
        finally:
            printer.flush_warnings()
    if stopping is not None and booster.attr("best_iteration") is not None:
        log(f"best round: {booster.attr('best_iteration')} (score {booster.attr('best_score')})")
    env.model_dir.mkdir(parents=True, exist_ok=True)
    (env.model_dir / ALGORITHM.model_file).write_bytes(booster.save_raw("ubj"))
    write_input_example(env.model_dir, tables[0])
    log(f"saved {ALGORITHM.model_file} ({booster.num_boosted_rounds()} rounds) to {env.model_dir}")


def main() -> None:
    """Entry point: run under the training contract and exit with its status."""
    sys.exit(run(train, algorithm=ALGORITHM.name))


if __name__ == "__main__":
    main()
