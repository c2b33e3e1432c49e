"""Built-in training algorithms, run under SageMaker's training contract like any script.

``xgboost`` follows SageMaker's built-in XGBoost and ``linear-learner`` a subset of SageMaker's
linear learner (regression and binary classification, trained with scikit-learn). Each is a
module the runner starts with ``python -m``; this package tells the job service and the runner
what each one needs and prints, without importing XGBoost or scikit-learn::

    algorithm = BUILTIN_ALGORITHMS["xgboost"]
    algorithm.validate_hyperparameters({"num_round": "100", "eta": "0.2"})  # at submit
    algorithm.validate_channels({"train": "text/csv", "validation": None})
    algorithm.command(sys.executable)   # [python, "-m", "dockyard.algorithms.xgboost"]
    algorithm.metric_definitions        # ({"name": "train:rmse", "regex": ..., ...}, ...)
    algorithm.parse_metrics("[3]#011train-rmse:0.5")  # MetricLine(step=3, values={...})

Model output: each algorithm writes only its native model to ``SM_MODEL_DIR``
(``model_file``: XGBoost's ``xgboost-model`` in UBJSON, or scikit-learn's ``model.joblib``) and
``input_example.csv``: the first five training rows' features, no label, with a header row
``f0,f1,...`` and empty fields for missing values. The runner wraps the native model into a
Dockyard package, inferring the signature from that example.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.lazy import exports

if TYPE_CHECKING:
    from dockyard.algorithms._contract import INPUT_EXAMPLE_FILE
    from dockyard.algorithms._metrics import MetricDefinition, MetricLine
    from dockyard.algorithms._registry import BUILTIN_ALGORITHMS, BuiltinAlgorithm, get_builtin

__all__ = [
    "BUILTIN_ALGORITHMS",
    "INPUT_EXAMPLE_FILE",
    "BuiltinAlgorithm",
    "MetricDefinition",
    "MetricLine",
    "get_builtin",
]
__getattr__, __dir__ = exports(
    __name__,
    {
        "BUILTIN_ALGORITHMS": "._registry",
        "BuiltinAlgorithm": "._registry",
        "INPUT_EXAMPLE_FILE": "._contract",
        "MetricDefinition": "._metrics",
        "MetricLine": "._metrics",
        "get_builtin": "._registry",
    },
)
