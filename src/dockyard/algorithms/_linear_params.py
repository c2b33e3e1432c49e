"""The built-in linear-learner algorithm's hyperparameters.

Names, types and ranges follow SageMaker's linear learner so its hyperparameter sets are
accepted. Training is scikit-learn's stochastic gradient descent, so SageMaker's optimizer
settings (Adam moments, schedulers, parallel models, threshold selection...) are accepted with a
warning that they have no effect; multiclass classification and the quantile loss are refused.
"""

from __future__ import annotations

from dockyard.algorithms._hyperparameters import (
    Hyperparameters,
    HyperparameterSet,
    boolean,
    choice,
    integer,
    number,
    refuse,
    text,
)

__all__ = ["LINEAR_LEARNER_HYPERPARAMETERS", "REGRESSION_LOSSES"]

REGRESSION_LOSSES = (
    "squared_loss",
    "absolute_loss",
    "eps_insensitive_squared_loss",
    "eps_insensitive_absolute_loss",
    "huber_loss",
)
_BINARY_LOSSES = ("logistic", "hinge_loss")
_SGD = "training uses scikit-learn's stochastic gradient descent"
_ONE_MODEL = "one model is trained (SageMaker trains several in parallel and keeps the best)"
_THRESHOLD = "the decision threshold stays at 0.5"
_MULTICLASS = "multiclass classification is not supported"


def _check_weight_mult(value: str) -> str | None:
    if value in ("auto", "balanced"):
        return None
    try:
        ok = float(value) > 0
    except ValueError:
        ok = False
    return None if ok else "expected 'auto', 'balanced' or a positive number"


def _supported(hps: Hyperparameters) -> None:
    predictor = hps.text("predictor_type")
    if predictor == "multiclass_classifier":
        raise refuse(
            "predictor_type",
            "predictor_type 'multiclass_classifier' is not supported by linear-learner here; "
            "use the xgboost algorithm with objective multi:softprob",
        )
    loss = hps.text("loss")
    allowed = REGRESSION_LOSSES if predictor == "regressor" else _BINARY_LOSSES
    if loss == "quantile_loss":
        raise refuse("loss", "loss 'quantile_loss' is not supported by linear-learner here")
    if loss != "auto" and loss not in allowed:
        raise refuse(
            "loss",
            f"loss {loss!r} does not fit predictor_type {predictor!r} "
            f"(use auto or one of {', '.join(allowed)})",
        )
    if "margin" in hps.given and hps.number("margin") != 1.0:
        raise refuse("margin", "only margin 1.0 is supported (scikit-learn's hinge loss)")


LINEAR_LEARNER_HYPERPARAMETERS = HyperparameterSet(
    algorithm="linear-learner",
    specs=(
        choice(
            "predictor_type",
            "binary_classifier",
            "multiclass_classifier",
            "regressor",
            required=True,
        ),
        integer("feature_dim", 1, auto=True),
        integer("epochs", 1, default=15),
        integer("mini_batch_size", 1, default=1000),
        number("learning_rate", 0, min_open=True, auto=True),
        number("l1", 0, auto=True),
        number("wd", 0, auto=True),
        boolean("normalize_data", default=True),
        boolean("normalize_label", auto=True),
        boolean("use_bias", default=True),
        choice(
            "loss",
            "auto",
            *REGRESSION_LOSSES,
            *_BINARY_LOSSES,
            "quantile_loss",
            "softmax_loss",
            default="auto",
        ),
        number("huber_delta", 0, min_open=True, default=1.0),
        number("loss_insensitivity", 0, min_open=True, default=0.01),
        number("margin", 0, min_open=True, default=1.0),
        integer("early_stopping_patience", 1, default=3),
        number("early_stopping_tolerance", 0, min_open=True, default=0.001),
        text("positive_example_weight_mult", check=_check_weight_mult),
        number("f_beta", 0, min_open=True, default=1.0),
        choice(
            "binary_classifier_model_selection_criteria",
            "accuracy",
            "f_beta",
            "precision_at_target_recall",
            "recall_at_target_precision",
            "loss_function",
            "cross_entropy_loss",
            ignored=_THRESHOLD,
        ),
        number("target_recall", 0, 1, ignored=_THRESHOLD),
        number("target_precision", 0, 1, ignored=_THRESHOLD),
        integer("num_models", 1, auto=True, ignored=_ONE_MODEL),
        choice("optimizer", "auto", "sgd", "adam", "rmsprop", ignored=_SGD),
        number("momentum", 0, 1, auto=True, ignored=_SGD),
        number("beta_1", 0, 1, auto=True, ignored=_SGD),
        number("beta_2", 0, 1, auto=True, ignored=_SGD),
        number("bias_lr_mult", 0, auto=True, ignored=_SGD),
        number("bias_wd_mult", 0, auto=True, ignored=_SGD),
        boolean("use_lr_scheduler", ignored=_SGD),
        integer("lr_scheduler_step", 1, auto=True, ignored=_SGD),
        number("lr_scheduler_factor", 0, 1, auto=True, ignored=_SGD),
        number("lr_scheduler_minimum_lr", 0, auto=True, ignored=_SGD),
        choice("init_method", "uniform", "normal", ignored=_SGD),
        number("init_scale", 0, ignored=_SGD),
        number("init_sigma", 0, ignored=_SGD),
        number("init_bias", ignored=_SGD),
        integer("num_point_for_scaler", 1, ignored="the scaler is fitted on every training row"),
        boolean("unbias_data", auto=True, ignored="normalize_data centres the features"),
        boolean("unbias_label", auto=True, ignored="normalize_label centres the label"),
        integer("num_calibration_samples", 1, auto=True, ignored=_THRESHOLD),
        number("quantile", 0, 1, min_open=True, max_open=True, ignored="quantile_loss is refused"),
        integer("num_classes", 3, ignored=_MULTICLASS),
        integer("accuracy_top_k", 1, ignored=_MULTICLASS),
        boolean("balance_multiclass_weights", ignored=_MULTICLASS),
        text("_tuning_objective_metric", ignored="every metric is printed"),
    ),
    rules=(_supported,),
)
