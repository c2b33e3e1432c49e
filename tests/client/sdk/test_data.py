"""``dy.search_runs``: the arguments a notebook user gets slightly wrong."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import dockyard as dy
from dockyard.client.sdk import reset_context
from dockyard.settings import Settings


@pytest.fixture(autouse=True)
def embedded(settings: Settings) -> Iterator[None]:
    reset_context(settings)
    dy.set_experiment("search-args")
    for depth in (3, 5):
        with dy.start_run():
            dy.log_metric("rmse", depth / 10)
    yield
    reset_context(settings)


def test_one_string_is_a_list_of_one_not_of_its_characters() -> None:
    frame = dy.search_runs(experiment_names="search-args", order_by="metrics.rmse DESC")
    assert list(frame["metrics.rmse"]) == [0.5, 0.3]
    experiment_id = frame["experiment_id"][0]
    assert len(dy.search_runs(experiment_id, order_by=iter(["metrics.rmse ASC"]))) == 2


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"max_results": "10"}, "max_results"),
        ({"max_results": 0}, "max_results"),
        ({"experiment_names": ["search-args", 3]}, "experiment_names"),
        ({"order_by": 5}, "order_by"),
    ],
)
def test_a_wrong_argument_is_named(arguments: dict[str, object], field: str) -> None:
    with pytest.raises(dy.InvalidArgument, match=field) as refused:
        dy.search_runs(**arguments)  # type: ignore[arg-type]
    assert refused.value.field == field
