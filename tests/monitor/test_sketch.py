from __future__ import annotations

import numpy as np
import pytest

from dockyard.errors import InvalidArgument
from dockyard.monitor import KLLSketch


def _rank_error(sketch: KLLSketch, data: np.ndarray) -> float:
    qs = np.linspace(0.01, 0.99, 99)
    ranks = np.searchsorted(np.sort(data), sketch.quantiles(qs)) / len(data)
    return float(np.max(np.abs(ranks - qs)))


@pytest.mark.parametrize("seed", range(3))
def test_quantiles_stay_within_the_rank_error_bound(seed: int) -> None:
    rng = np.random.default_rng(seed)
    data = np.concatenate([rng.lognormal(size=300_000), rng.normal(size=200_000)])
    rng.shuffle(data)
    sketch = KLLSketch(k=256, seed=seed)
    for chunk in np.array_split(data, 37):
        sketch.update(chunk)
    assert sketch.count == len(data)
    # KLL's rank error is about 1.7 / k; allow 2x for the randomness of one run.
    assert _rank_error(sketch, data) < 2 * 1.7 / 256
    retained = sum(len(level) for level in sketch.to_dict()["data"])
    assert retained < 256 / (1 - 0.64) * 2


def test_merge_is_as_accurate_as_one_sketch_and_keeps_the_count() -> None:
    rng = np.random.default_rng(1)
    parts = [rng.normal(i, 1, 50_000) for i in range(4)]
    sketches = []
    for i, part in enumerate(parts):
        sketch = KLLSketch(k=512, seed=i)
        sketch.update(part)
        sketches.append(sketch)
    merged = sketches[0]
    for other in sketches[1:]:
        merged.merge(other)
    data = np.concatenate(parts)
    assert merged.count == len(data)
    assert _rank_error(merged, data) < 2 * 1.7 / 512


def test_nan_is_ignored_and_small_streams_are_exact() -> None:
    sketch = KLLSketch()
    sketch.update([3.0, np.nan, 1.0, 2.0])
    assert sketch.count == 3
    assert sketch.quantiles([0.0, 0.5, 1.0]).tolist() == [1.0, 2.0, 3.0]
    assert sketch.cdf([0.5, 2.0, 9.0]).tolist() == pytest.approx([0.0, 2 / 3, 1.0])


def test_round_trips_through_sagemakers_sketch_object() -> None:
    sketch = KLLSketch(seed=0)
    sketch.update(np.random.default_rng(0).normal(size=100_000))
    document = sketch.to_dict()
    assert document["parameters"] == {"c": 0.64, "k": 2048.0}
    again = KLLSketch.from_dict(document)
    assert again.count == sketch.count
    assert again.quantiles([0.1, 0.5, 0.9]).tolist() == sketch.quantiles([0.1, 0.5, 0.9]).tolist()


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ([], "sketch"),
        ({"parameters": {"k": "x"}, "data": []}, "sketch.parameters"),
        ({"parameters": {}, "data": [[1.0], ["a"]]}, "sketch.data.1"),
    ],
)
def test_bad_sketch_objects_name_the_field(document: object, field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        KLLSketch.from_dict(document)
    assert caught.value.field == field
