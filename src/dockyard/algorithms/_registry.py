"""What the job service and runner need to know about each built-in algorithm.

Importing this module imports neither XGBoost nor scikit-learn: the service validates a spec
with it at submit, before any training process exists.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from dockyard.algorithms._contract import INPUT_EXAMPLE_FILE, content_format
from dockyard.algorithms._hyperparameters import HyperparameterSet
from dockyard.algorithms._linear_params import LINEAR_LEARNER_HYPERPARAMETERS
from dockyard.algorithms._metrics import (
    LINEAR_LEARNER_METRICS,
    XGBOOST_METRICS,
    MetricDefinition,
    MetricLine,
    parse_linear_learner_line,
    parse_xgboost_line,
)
from dockyard.algorithms._xgboost_params import XGBOOST_HYPERPARAMETERS
from dockyard.errors import InvalidArgument

__all__ = ["BUILTIN_ALGORITHMS", "INPUT_EXAMPLE_FILE", "BuiltinAlgorithm", "get_builtin"]

_CANONICAL = {"csv": "text/csv", "libsvm": "text/libsvm", "parquet": "application/x-parquet"}


@dataclass(frozen=True)
class BuiltinAlgorithm:
    """A built-in algorithm, run as ``python -m <module>`` under the training contract.

    Attributes:
        name: The name a job spec uses (``xgboost``, ``linear-learner``).
        module: The module to run with ``python -m``.
        required_channels: Channels a job must give.
        optional_channels: Channels a job may give as well; any other channel is refused.
        formats: Data formats read (``csv``, ``libsvm``, ``parquet``).
        metric_definitions: SageMaker-style ``{"name", "regex", "direction"}`` definitions for
            every metric the algorithm can print; the first regex group is the value.
        model_file: The native model file written to ``SM_MODEL_DIR``.
        model_flavor: The Dockyard flavor that loads it (``xgboost``, ``sklearn``).
        hyperparameters: The hyperparameter table.
        parser: Reads one log line into metrics and their step; see :meth:`parse_metrics`.
    """

    name: str
    module: str
    required_channels: tuple[str, ...]
    optional_channels: tuple[str, ...]
    formats: tuple[str, ...]
    metric_definitions: tuple[MetricDefinition, ...]
    model_file: str
    model_flavor: str
    hyperparameters: HyperparameterSet
    parser: Callable[[str], MetricLine | None]

    @property
    def content_types(self) -> tuple[str, ...]:
        """The canonical ContentType of each accepted format."""
        return tuple(_CANONICAL[f] for f in self.formats)

    def command(self, python: str) -> list[str]:
        """The command line that runs the algorithm with interpreter ``python``."""
        return [python, "-m", self.module]

    def validate_hyperparameters(self, hyperparameters: Mapping[str, object]) -> None:
        """Refuse unknown names and bad values, naming the field (``hyperparameters.eta``).

        Args:
            hyperparameters: Name -> value as SageMaker passes them (strings); numbers and
                booleans are read as their text.

        Raises:
            InvalidArgument: ``field`` is ``hyperparameters.<name>``.
        """
        self.hyperparameters.parse(hyperparameters)

    def validate_channels(
        self, channels: Mapping[str, str | None], *, field_prefix: str = "inputs"
    ) -> None:
        """Refuse a missing required channel, an unknown one or an unsupported ContentType.

        Args:
            channels: Channel name -> its declared ContentType (``None`` when not declared).
            field_prefix: The spec field holding the channels, for error fields.
        """
        for name in self.required_channels:
            if name not in channels:
                raise InvalidArgument(
                    f"the {self.name} algorithm needs a {name!r} channel",
                    field=f"{field_prefix}.{name}",
                )
        known = self.required_channels + self.optional_channels
        for name, content_type in channels.items():
            if name not in known:
                raise InvalidArgument(
                    f"the {self.name} algorithm has no {name!r} channel "
                    f"(channels: {', '.join(known)})",
                    field=f"{field_prefix}.{name}",
                )
            try:
                content_format(content_type, self.formats, channel=name, algorithm=self.name)
            except InvalidArgument as exc:
                raise InvalidArgument(
                    exc.message, field=f"{field_prefix}.{name}.content_type"
                ) from None

    def parse_metrics(self, line: str) -> MetricLine | None:
        """The metrics on one log line with their step (round or epoch), or ``None``.

        >>> BUILTIN_ALGORITHMS["xgboost"].parse_metrics("[3]#011train-rmse:0.5")
        MetricLine(step=3, values={'train:rmse': 0.5})
        """
        return self.parser(line)


BUILTIN_ALGORITHMS: Mapping[str, BuiltinAlgorithm] = MappingProxyType(
    {
        "xgboost": BuiltinAlgorithm(
            name="xgboost",
            module="dockyard.algorithms.xgboost",
            required_channels=("train",),
            optional_channels=("validation",),
            formats=("csv", "libsvm", "parquet"),
            metric_definitions=XGBOOST_METRICS,
            model_file="xgboost-model",
            model_flavor="xgboost",
            hyperparameters=XGBOOST_HYPERPARAMETERS,
            parser=parse_xgboost_line,
        ),
        "linear-learner": BuiltinAlgorithm(
            name="linear-learner",
            module="dockyard.algorithms.linear_learner",
            required_channels=("train",),
            optional_channels=("validation", "test"),
            formats=("csv", "parquet"),
            metric_definitions=LINEAR_LEARNER_METRICS,
            model_file="model.joblib",
            model_flavor="sklearn",
            hyperparameters=LINEAR_LEARNER_HYPERPARAMETERS,
            parser=parse_linear_learner_line,
        ),
    }
)


def get_builtin(name: str, *, field: str = "algorithm") -> BuiltinAlgorithm:
    """The algorithm called ``name`` (``linear_learner`` is read as ``linear-learner``).

    Raises:
        InvalidArgument: No such algorithm; ``field`` names the spec field.
    """
    found = BUILTIN_ALGORITHMS.get(name.strip().lower().replace("_", "-"))
    if found is None:
        raise InvalidArgument(
            f"unknown built-in algorithm {name!r} (available: {', '.join(BUILTIN_ALGORITHMS)})",
            field=field,
        )
    return found
