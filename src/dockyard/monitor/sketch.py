"""A mergeable quantile sketch (KLL), vectorised with numpy, in SageMaker's ``kll`` layout.

KLL (Karnin, Lang, Liberty 2016) keeps items in levels; an item at level ``h`` stands for
``2**h`` values. A level over its capacity ``k * c**(depth - 1 - h)`` is sorted and halved (every
other item, from a random start) into the level above. The rank error is about ``1.7 / k`` of
the count: with SageMaker's parameters (``k = 2048``, ``c = 0.64``) under 0.1 %, in about
``k / (1 - c)`` (~5,700) retained items whatever the count.

Values arrive in batches, so a full level 0 is compacted several levels at once: taking every
``2**j``-th item of a sorted array from a random start is the same draw as ``j`` successive
halvings, for one sort instead of ``j``; a large level is compacted as rows of 4,096 items
sorted apiece (``_strided``). Items that do not fill a whole stride stay behind, so weights
always add up to the exact count.

``to_dict`` / ``from_dict`` read and write the ``sketch`` object of a ``statistics.json``
(``{"parameters": {"c": 0.64, "k": 2048.0}, "data": [[level 0], [level 1], ...]}``), so sketches
computed elsewhere merge with ours.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from dockyard.errors import InvalidArgument

__all__ = ["DEFAULT_C", "DEFAULT_K", "KLLSketch"]

DEFAULT_K = 2048
DEFAULT_C = 0.64
_PENDING_MAX = 1 << 16  # values buffered before one compaction pass
_CHUNK = 4096  # items sorted together in a compaction of a large level
_MAX_JUMPS = 3  # levels one compaction may skip

Floats = npt.NDArray[np.float64]


class KLLSketch:
    """Approximate quantiles of a stream of floats; ``merge`` combines two sketches."""

    def __init__(
        self, k: int = DEFAULT_K, c: float = DEFAULT_C, *, seed: int | None = None
    ) -> None:
        if k < 8:
            raise InvalidArgument(f"the sketch's k must be at least 8, got {k}", field="k")
        if not 0.5 <= c < 1:
            raise InvalidArgument(f"the sketch's c must be in [0.5, 1), got {c}", field="c")
        self.k = k
        self.c = c
        self._levels: list[Floats] = [np.empty(0)]
        self._pending: list[Floats] = []
        self._pending_n = 0
        self._rng = np.random.default_rng(seed)

    # -- building -------------------------------------------------------------------------

    def update(self, values: npt.ArrayLike) -> None:
        """Add values (NaN ignored)."""
        array = np.asarray(values, dtype=np.float64).ravel()
        array = array[~np.isnan(array)]
        if not array.size:
            return
        self._pending.append(array)
        self._pending_n += array.size
        if self._pending_n >= _PENDING_MAX:
            self._flush()

    def merge(self, other: KLLSketch) -> None:
        """Add everything ``other`` has seen (``other`` is left unchanged)."""
        other._flush()
        self._flush()
        self.k = min(self.k, other.k)
        for height, items in enumerate(other._levels):
            self._level(height)
            self._levels[height] = np.concatenate([self._levels[height], items])
        self._compress()

    def _flush(self) -> None:
        if self._pending:
            self._levels[0] = np.concatenate([self._levels[0], *self._pending])
            self._pending = []
            self._pending_n = 0
            self._compress()

    def _level(self, height: int) -> None:
        while len(self._levels) <= height:
            self._levels.append(np.empty(0))

    def _capacity(self, height: int) -> int:
        depth = len(self._levels)
        return max(2, math.ceil(self.k * self.c ** (depth - 1 - height)))

    def _compress(self) -> None:
        height = 0
        while height < len(self._levels):
            items = self._levels[height]
            capacity = self._capacity(height)
            if items.size > capacity:
                # Halve j times at once, toward about k items, placed j levels up. At most 8x
                # per step: a row compacted by a stride s errs by up to s (times the weight),
                # so long strides over many rows would cost accuracy; the levels above take
                # the next steps.
                jumps = min(_MAX_JUMPS, max(1, int(math.log2(max(items.size / self.k, 1)))))
                stride = 1 << jumps
                promoted, rest = self._strided(items, stride)
                self._levels[height] = rest
                self._level(height + jumps)
                above = self._levels[height + jumps]
                self._levels[height + jumps] = np.concatenate([above, promoted])
            height += 1

    def _strided(self, items: Floats, stride: int) -> tuple[Floats, Floats]:
        """Every ``stride``-th item from a random start, compacting rows of ``_CHUNK`` (4,096) items
        apiece (sorting short rows is ~2x faster than one long sort; each row is one valid
        compaction, and still far larger than the buffers KLL compacts at its low levels);
        what does not fill a row, or a whole stride, stays behind."""
        width = max(_CHUNK, 4 * stride)
        rows = items.size // width
        if rows >= 2:
            block = np.sort(items[: rows * width].reshape(rows, width), axis=1)
            starts = self._rng.integers(stride, size=(rows, 1))
            picks = starts + np.arange(0, width, stride)
            promoted: Floats = np.take_along_axis(block, picks, axis=1).ravel()
            return promoted, items[rows * width :]
        ordered = np.sort(items)
        whole = ordered.size - ordered.size % stride
        start = int(self._rng.integers(stride))
        return ordered[:whole][start::stride], ordered[whole:]

    # -- reading --------------------------------------------------------------------------

    @property
    def count(self) -> int:
        """How many values the sketch has seen."""
        return sum(len(items) << h for h, items in enumerate(self._levels)) + self._pending_n

    def weighted(self) -> tuple[Floats, Floats]:
        """The retained items, sorted, and the number of values each stands for."""
        self._flush()
        values = np.concatenate(self._levels)
        weights = np.concatenate(
            [np.full(len(items), float(1 << h)) for h, items in enumerate(self._levels)]
        )
        order = np.argsort(values, kind="stable")
        return values[order], weights[order]

    def quantiles(self, qs: npt.ArrayLike) -> Floats:
        """The values at ranks ``qs`` (fractions in [0, 1]); NaN when empty."""
        q = np.asarray(qs, dtype=np.float64)
        values, weights = self.weighted()
        if not values.size:
            return np.full(q.shape, np.nan)
        cumulative = np.cumsum(weights)
        index = np.searchsorted(cumulative, q * cumulative[-1], side="left")
        found: Floats = values[np.clip(index, 0, values.size - 1)]
        return found

    def cdf(self, points: npt.ArrayLike) -> Floats:
        """The fraction of values ``<=`` each point."""
        x = np.asarray(points, dtype=np.float64)
        values, weights = self.weighted()
        if not values.size:
            return np.zeros(x.shape)
        cumulative = np.concatenate([[0.0], np.cumsum(weights)])
        found: Floats = cumulative[np.searchsorted(values, x, side="right")] / cumulative[-1]
        return found

    # -- statistics.json ------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The ``sketch`` object of SageMaker's ``statistics.json``."""
        self._flush()
        return {
            "parameters": {"c": self.c, "k": float(self.k)},
            "data": [items.tolist() for items in self._levels],
        }

    @classmethod
    def from_dict(cls, document: Any, field: str = "sketch") -> KLLSketch:
        """Read a ``sketch`` object; errors name ``field``."""
        if not isinstance(document, dict):
            raise InvalidArgument(f"{field} must be an object", field=field)
        parameters = document.get("parameters", {})
        data = document.get("data")
        if not isinstance(parameters, dict) or not isinstance(data, list):
            raise InvalidArgument(
                f"{field} needs 'parameters' (an object) and 'data' (a list of levels)",
                field=field,
            )
        try:
            k = int(float(parameters.get("k", DEFAULT_K)))
            c = float(parameters.get("c", DEFAULT_C))
        except (TypeError, ValueError):
            raise InvalidArgument(
                f"{field}.parameters: k and c must be numbers", field=f"{field}.parameters"
            ) from None
        sketch = cls(k, c)
        levels = []
        for height, items in enumerate(data):
            try:
                levels.append(np.asarray(items, dtype=np.float64).ravel())
            except (TypeError, ValueError):
                raise InvalidArgument(
                    f"{field}.data.{height} must be a list of numbers",
                    field=f"{field}.data.{height}",
                ) from None
        sketch._levels = levels or [np.empty(0)]
        return sketch
