"""``dy.Estimator``: arguments that cannot make a job are refused when it is built."""

from __future__ import annotations

import pytest

import dockyard as dy


@pytest.mark.parametrize("hyperparameters", [[("epochs", 10)], "epochs=10"])
def test_hyperparameters_that_are_not_a_mapping_are_named(hyperparameters: object) -> None:
    for build in (
        lambda: dy.Estimator("train.py", hyperparameters=hyperparameters),  # type: ignore[arg-type]
        lambda: dy.Estimator.builtin("xgboost", hyperparameters),  # type: ignore[arg-type]
    ):
        with pytest.raises(dy.InvalidArgument, match="hyperparameters must map names") as refused:
            build()
        assert refused.value.field == "hyperparameters"
