"""The built-in XGBoost algorithm's hyperparameters and evaluation metrics.

The table follows SageMaker's XGBoost algorithm (same names, types and ranges, ``num_round``
required) and adds the rest of XGBoost 3's training parameters, which are passed to XGBoost as
given. Names SageMaker accepts but XGBoost 3 no longer reads (``predictor``, ``sketch_eps``...) are
accepted with a warning, so existing hyperparameter sets keep working. Importing this module does
not import XGBoost: the job service checks hyperparameters at submit with it.
"""

from __future__ import annotations

from dockyard.algorithms._hyperparameters import (
    Hyperparameter,
    Hyperparameters,
    HyperparameterSet,
    boolean,
    choice,
    integer,
    number,
    refuse,
    text,
)

__all__ = [
    "CUSTOM_METRICS",
    "DATA_NAMES",
    "EVAL_METRICS",
    "MAXIMIZED",
    "NOT_XGBOOST_PARAMS",
    "XGBOOST_HYPERPARAMETERS",
    "metric_is_maximized",
]

DATA_NAMES = ("train", "validation")

# XGBoost's own evaluation metrics -> True when larger is better.
_NATIVE = {
    "rmse": False,
    "rmsle": False,
    "mae": False,
    "mape": False,
    "mphe": False,
    "logloss": False,
    "error": False,
    "merror": False,
    "mlogloss": False,
    "auc": True,
    "aucpr": True,
    "pre": True,
    "ndcg": True,
    "map": True,
    "poisson-nloglik": False,
    "gamma-nloglik": False,
    "cox-nloglik": False,
    "gamma-deviance": False,
    "tweedie-nloglik": False,
    "aft-nloglik": False,
    "interval-regression-accuracy": True,
    "quantile": False,
}
# Metrics SageMaker's container computes itself (with scikit-learn) on top of XGBoost's.
CUSTOM_METRICS = {
    "accuracy": True,
    "balanced_accuracy": True,
    "f1": True,
    "f1_binary": True,
    "f1_macro": True,
    "mse": False,
    "r2": True,
    "precision": True,
    "precision_macro": True,
    "precision_micro": True,
    "recall": True,
    "recall_macro": True,
    "recall_micro": True,
}
EVAL_METRICS = {**_NATIVE, **CUSTOM_METRICS}
MAXIMIZED = frozenset(name for name, bigger in EVAL_METRICS.items() if bigger)
# Metrics that take an argument after "@": error@0.7, ndcg@5, tweedie-nloglik@1.5...
_WITH_ARGUMENT = {"error": float, "ndcg": int, "map": int, "pre": int, "tweedie-nloglik": float}

# Hyperparameters that steer the algorithm itself rather than XGBoost's learner.
NOT_XGBOOST_PARAMS = frozenset(
    {"num_round", "csv_weights", "early_stopping_rounds", "_tuning_objective_metric"}
)


def metric_is_maximized(metric: str) -> bool:
    """Whether a larger value of ``metric`` (``auc``, ``ndcg@5``, ``rmse``...) is better."""
    return metric.removesuffix("-").partition("@")[0] in MAXIMIZED


def check_metric(item: str) -> str | None:
    """What is wrong with an ``eval_metric`` item, or ``None``."""
    core = item.removesuffix("-") if item.startswith(("ndcg", "map")) else item
    name, at, argument = core.partition("@")
    if name not in EVAL_METRICS:
        return f"{item!r} is not an evaluation metric ({', '.join(EVAL_METRICS)})"
    if at:
        kind = _WITH_ARGUMENT.get(name)
        if kind is None:
            return f"{name!r} takes no '@' argument"
        try:
            kind(argument)
        except ValueError:
            expected = "an integer" if kind is int else "a number"
            return f"the argument of {name!r} after '@' must be {expected}"
    return None


def _check_tuning_metric(text: str) -> str | None:
    data, colon, metric = text.partition(":")
    if not colon or data not in DATA_NAMES:
        return "expected '<train|validation>:<metric>', e.g. 'validation:auc'"
    return check_metric(metric)


def _check_constraints(text: str) -> str | None:
    # XGBoost checks the content; only the shape is checked here, so a typo fails at submit.
    if not (text.startswith(("(", "[")) and text.endswith((")", "]"))):
        return "expected a bracketed list such as (1,0,-1) or [[0,1],[2,3]]"
    return None


def _objective_needs_num_class(hps: Hyperparameters) -> None:
    multi = hps.values["objective"] in ("multi:softmax", "multi:softprob")
    if multi and hps.values.get("num_class") is None:
        raise refuse(
            "num_class",
            f"hyperparameter 'num_class' is required with objective {hps.values['objective']!r}",
        )
    if not multi and "num_class" in hps.given:
        raise refuse(
            "num_class",
            "hyperparameter 'num_class' is only used with objective multi:softmax or "
            f"multi:softprob, not {hps.values['objective']!r}",
        )


_GONE = "XGBoost 3 no longer reads it"
_OBJECTIVES = (
    "reg:squarederror",
    "reg:squaredlogerror",
    "reg:logistic",
    "reg:pseudohubererror",
    "reg:absoluteerror",
    "reg:quantileerror",
    "reg:gamma",
    "reg:tweedie",
    "reg:linear",
    "binary:logistic",
    "binary:logitraw",
    "binary:hinge",
    "count:poisson",
    "survival:cox",
    "survival:aft",
    "multi:softmax",
    "multi:softprob",
    "rank:ndcg",
    "rank:map",
    "rank:pairwise",
)

XGBOOST_HYPERPARAMETERS = HyperparameterSet(
    algorithm="xgboost",
    specs=(
        # SageMaker's own settings.
        integer("num_round", 1, required=True),
        integer("csv_weights", 0, 1, default=0),
        integer("early_stopping_rounds", 1),
        text("_tuning_objective_metric", check=_check_tuning_metric),
        boolean("save_model_on_termination", ignored="a stopped job saves no model"),
        boolean("use_dask_gpu_training", ignored="training runs on one CPU host"),
        integer("prob_buffer_row", ignored="it only applies to GPU training"),
        integer("_kfold", refused="k-fold cross-validation training is not available"),
        integer("_num_cv_round", refused="k-fold cross-validation training is not available"),
        # General parameters.
        choice("booster", "gbtree", "gblinear", "dart"),
        integer("verbosity", 0, 3),
        integer("nthread", 1),
        choice("device", "cpu"),
        boolean("validate_parameters"),
        boolean("disable_default_eval_metric"),
        # Tree booster.
        number("eta", 0, 1),
        number("gamma", 0),
        integer("max_depth", 0),
        number("min_child_weight", 0),
        number("max_delta_step", 0),
        number("subsample", 0, 1, min_open=True),
        choice("sampling_method", "uniform", "gradient_based"),
        number("colsample_bytree", 0, 1, min_open=True),
        number("colsample_bylevel", 0, 1, min_open=True),
        number("colsample_bynode", 0, 1, min_open=True),
        number("lambda", 0),
        number("alpha", 0),
        choice("tree_method", "auto", "exact", "approx", "hist"),
        number("scale_pos_weight", 0, min_open=True),
        Hyperparameter("updater", "list"),
        integer("refresh_leaf", 0, 1),
        choice("process_type", "default", "update"),
        choice("grow_policy", "depthwise", "lossguide"),
        integer("max_leaves", 0),
        integer("max_bin", 2),
        integer("num_parallel_tree", 1),
        text("monotone_constraints", check=_check_constraints),
        text("interaction_constraints", check=_check_constraints),
        choice("multi_strategy", "one_output_per_tree", "multi_output_tree"),
        integer("max_cached_hist_node", 1),
        integer("max_cat_to_onehot", 1),
        integer("max_cat_threshold", 1),
        # DART booster.
        choice("sample_type", "uniform", "weighted"),
        choice("normalize_type", "tree", "forest"),
        number("rate_drop", 0, 1),
        integer("one_drop", 0, 1),
        number("skip_drop", 0, 1),
        # Linear booster.
        choice("feature_selector", "cyclic", "shuffle", "random", "greedy", "thrifty"),
        integer("top_k", 0),
        # Learning task.
        choice("objective", *_OBJECTIVES, default="reg:squarederror"),
        integer("num_class", 2),
        number("base_score"),
        Hyperparameter("eval_metric", "list", check=check_metric),
        integer("seed", -(2**31), 2**31 - 1),
        boolean("seed_per_iteration"),
        number("tweedie_variance_power", 1, 2, min_open=True, max_open=True),
        number("huber_slope", 0, min_open=True),
        text("quantile_alpha"),
        choice("aft_loss_distribution", "normal", "logistic", "extreme"),
        number("aft_loss_distribution_scale", 0, min_open=True),
        choice("lambdarank_pair_method", "mean", "topk"),
        integer("lambdarank_num_pair_per_sample", 1),
        boolean("lambdarank_unbiased"),
        number("lambdarank_bias_norm", 0),
        boolean("lambdarank_normalization"),
        boolean("lambdarank_score_normalization"),
        boolean("ndcg_exp_gain"),
        # Accepted by SageMaker's older containers, gone from XGBoost 3.
        text("predictor", ignored=_GONE),
        number("sketch_eps", ignored=_GONE),
        boolean("single_precision_histogram", ignored=_GONE),
        boolean("deterministic_histogram", ignored=_GONE),
        choice("dsplit", "row", "col", ignored=_GONE),
        number("lambda_bias", ignored=_GONE),
        text("gpu_id", ignored="training runs on the CPU"),
    ),
    aliases={
        "learning_rate": "eta",
        "min_split_loss": "gamma",
        "reg_lambda": "lambda",
        "reg_alpha": "alpha",
        "random_state": "seed",
    },
    rules=(_objective_needs_num_class,),
)
