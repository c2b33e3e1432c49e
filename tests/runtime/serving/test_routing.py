from __future__ import annotations

import random
from collections import Counter
from typing import Any, cast

import pytest

from dockyard.api.serving.config import VariantConfig
from dockyard.errors import InvalidArgument
from dockyard.runtime.serving._routing import Routes
from dockyard.runtime.serving._variant import Variant


class Fake:
    """What Routes reads of a variant: its name and config."""

    def __init__(self, name: str, weight: float = 1.0, **options: Any) -> None:
        self.name = name
        self.config = VariantConfig(name=name, model_path="/m", weight=weight, **options)


def routes(*variants: Fake, shadow: Fake | None = None, seed: int = 7) -> Routes:
    return Routes(
        cast(list[Variant], list(variants)), cast(Variant | None, shadow), random.Random(seed)
    )


def test_split_follows_weights() -> None:
    table = routes(Fake("a", 70), Fake("b", 20), Fake("c", 10), Fake("off", 0))
    counts = Counter(table.pick().name for _ in range(20_000))
    assert counts["off"] == 0
    for name, share in (("a", 0.7), ("b", 0.2), ("c", 0.1)):
        assert abs(counts[name] / 20_000 - share) < 0.015  # > 4 binomial sd


def test_a_single_weighted_variant_takes_everything() -> None:
    table = routes(Fake("a", 1), Fake("b", 0))
    assert {table.pick().name for _ in range(100)} == {"a"}
    assert table.choose(b"b").name == "b"


def test_pinning_an_unknown_variant_names_it_and_the_known_ones() -> None:
    with pytest.raises(InvalidArgument) as caught:
        routes(Fake("a"), Fake("b")).pin(b"c")
    assert "'c'" in caught.value.message and "a, b" in caught.value.message
    assert caught.value.details == {"variant": "c", "known": ["a", "b"]}


def test_shadow_is_not_pinnable_and_is_sampled() -> None:
    shadow = Fake("s", shadow=True, shadow_sampling_pct=25)
    table = routes(Fake("a"), shadow=shadow)
    with pytest.raises(InvalidArgument):
        table.pin(b"s")
    sampled = sum(table.sample_shadow() is not None for _ in range(20_000))
    assert abs(sampled / 20_000 - 0.25) < 0.015
    assert routes(Fake("a")).sample_shadow() is None
