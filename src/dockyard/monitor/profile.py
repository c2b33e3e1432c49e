"""Per-feature statistics over record batches, and their ``statistics.json`` form.

Each column keeps, whatever type each batch brings: counts of present and missing values and of
values that read as integral, fractional or other strings (the inferred type: ``String`` when
any present value is not a number, else ``Fractional`` when any is fractional, else
``Integral``; ``Unknown`` when nothing is present); over its numbers, count / mean / M2 merged
batch by batch (Chan et al.), sum, min, max and a :class:`~dockyard.monitor.sketch.KLLSketch`;
over its strings, exact value counts up to ``distinct_limit`` distinct values (then the rarest
half is dropped, so counts and ``distinct_count`` become lower bounds). ``std_dev`` is the
population standard deviation, as Deequ (SageMaker's engine) reports it. Work per batch is
vectorised in pyarrow / numpy; nothing runs per row in Python.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from dockyard.monitor.readers import INFERENCE_ID
from dockyard.monitor.sketch import DEFAULT_C, DEFAULT_K, KLLSketch

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["ColumnProfile", "DatasetProfile", "profile_batches"]

_INTEGRAL = r"^\s*[+-]?\d+\s*$"
_FRACTIONAL = r"^\s*[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?\s*$|^\s*[+-]?(\d+\.\d*|\.\d+)\s*$"
BUCKETS = 10  # SageMaker materialises a kll distribution in 10 buckets


@dataclass
class ColumnProfile:
    """What one column's values add up to so far."""

    name: str
    k: int = DEFAULT_K
    distinct_limit: int = 10_000
    as_text: bool = False  # numbers too are read as text (a String feature's codes)
    present: int = 0
    missing: int = 0
    integral: int = 0
    fractional: int = 0
    strings: int = 0
    numbers: int = 0
    mean: float = 0.0
    m2: float = 0.0
    total: float = 0.0
    low: float = math.inf
    high: float = -math.inf
    counts: dict[str, int] = field(default_factory=dict)
    pruned: bool = False
    sketch: KLLSketch = field(init=False)

    def __post_init__(self) -> None:
        self.sketch = KLLSketch(self.k, DEFAULT_C, seed=0)

    @property
    def inferred_type(self) -> str:
        if not self.present:
            return "Unknown"
        if self.strings:
            return "String"
        return "Fractional" if self.fractional else "Integral"

    @property
    def is_numeric(self) -> bool:
        return self.inferred_type in ("Integral", "Fractional")

    def type_share(self, expected: str) -> float:
        """The fraction of present values that fit ``expected`` (an integral fits Fractional)."""
        if not self.present:
            return 1.0
        fitting = {
            "Integral": self.integral,
            "Fractional": self.integral + self.fractional,
        }.get(expected, self.present)
        return fitting / self.present

    # -- batches --------------------------------------------------------------------------

    def add_missing(self, count: int) -> None:
        self.missing += count

    def update(self, array: pa.Array | pa.ChunkedArray) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        kind = array.type
        if pa.types.is_dictionary(kind):
            array = array.cast(kind.value_type)
            kind = array.type
        numeric = pa.types.is_integer(kind) or pa.types.is_floating(kind)
        if not self.as_text and (numeric or pa.types.is_decimal(kind)):
            values = array.cast(pa.float64()).to_numpy(zero_copy_only=False)
            valid = values[~np.isnan(values)]
            self.missing += len(values) - len(valid)
            self.present += len(valid)
            if pa.types.is_integer(kind):
                self.integral += len(valid)
            else:
                self.fractional += len(valid)
            self._numbers(valid)
            return
        if pa.types.is_null(kind):
            self.missing += len(array)
            return
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            try:
                array = array.cast(pa.string())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                import orjson

                array = pa.array(
                    [None if v is None else orjson.dumps(v).decode() for v in array.to_pylist()],
                    pa.string(),
                )
        self.missing += array.null_count
        valid = array.drop_null()
        present = len(valid)
        self.present += present
        if not present:
            return
        is_int = pc.match_substring_regex(valid, _INTEGRAL)
        is_number = pc.match_substring_regex(valid, _FRACTIONAL)
        ints = pc.sum(is_int).as_py() or 0
        numbers = pc.sum(is_number).as_py() or 0
        self.integral += ints
        self.fractional += numbers - ints
        self.strings += present - numbers
        if numbers:
            parsed = pc.filter(valid, is_number).cast(pa.float64()).to_numpy(zero_copy_only=False)
            self._numbers(parsed)
        self._count(valid)

    def _numbers(self, values: np.ndarray[Any, Any]) -> None:
        n = len(values)
        if not n:
            return
        batch_mean = float(values.mean())
        batch_m2 = float(((values - batch_mean) ** 2).sum())
        total_n = self.numbers + n
        delta = batch_mean - self.mean
        self.mean += delta * n / total_n
        self.m2 += batch_m2 + delta * delta * self.numbers * n / total_n
        self.numbers = total_n
        self.total += float(values.sum())
        self.low = min(self.low, float(values.min()))
        self.high = max(self.high, float(values.max()))
        self.sketch.update(values)

    def _count(self, valid: pa.Array) -> None:
        import pyarrow.compute as pc

        found = pc.value_counts(valid)
        values = found.field("values").to_pylist()
        counts = found.field("counts").to_pylist()
        merged = self.counts
        for value, count in zip(values, counts, strict=True):
            merged[value] = merged.get(value, 0) + count
        if len(merged) > self.distinct_limit:
            keep = sorted(merged.items(), key=lambda item: -item[1])[: self.distinct_limit // 2]
            self.counts = dict(keep)
            self.pruned = True

    # -- statistics.json ------------------------------------------------------------------

    @property
    def std_dev(self) -> float:
        return math.sqrt(self.m2 / self.numbers) if self.numbers else 0.0

    def to_feature(self, top_k: int) -> dict[str, Any]:
        common = {"num_present": self.present, "num_missing": self.missing}
        feature: dict[str, Any] = {"name": self.name, "inferred_type": self.inferred_type}
        if self.is_numeric:
            feature["numerical_statistics"] = {
                "common": common,
                "mean": self.mean,
                "sum": self.total,
                "std_dev": self.std_dev,
                "min": self.low,
                "max": self.high,
                "distribution": {
                    "kll": {"buckets": self._buckets(), "sketch": self.sketch.to_dict()}
                },
            }
        else:
            top = sorted(self.counts.items(), key=lambda item: (-item[1], item[0]))[:top_k]
            feature["string_statistics"] = {
                "common": common,
                "distinct_count": len(self.counts),
                "distribution": {
                    "categorical": {"buckets": [{"value": v, "count": c} for v, c in top]}
                },
            }
        return feature

    def _buckets(self) -> list[dict[str, float]]:
        if not self.numbers:
            return []
        edges = np.linspace(self.low, self.high, BUCKETS + 1)
        cdf = self.sketch.cdf(edges[1:-1])
        cumulative = np.concatenate([[0.0], cdf, [1.0]]) * self.numbers
        return [
            {"lower_bound": float(lo), "upper_bound": float(hi), "count": float(c)}
            for lo, hi, c in zip(edges[:-1], edges[1:], np.diff(cumulative), strict=True)
        ]


@dataclass
class DatasetProfile:
    """Every column's profile, in first-seen order, and the row count."""

    rows: int = 0
    columns: dict[str, ColumnProfile] = field(default_factory=dict)

    def statistics(self, top_k: int) -> dict[str, Any]:
        """SageMaker's ``statistics.json``."""
        return {
            "version": 0.0,
            "dataset": {"item_count": self.rows},
            "features": [column.to_feature(top_k) for column in self.columns.values()],
        }


def profile_batches(
    batches: Iterable[pa.RecordBatch],
    *,
    k: int = DEFAULT_K,
    distinct_limit: int = 10_000,
    text_columns: Collection[str] = (),
) -> DatasetProfile:
    """Profile every column of ``batches`` (the inference-id column is skipped).

    ``text_columns`` are read as text whatever type a batch gives them: a check passes the
    baseline's ``String`` features, so codes like ``1``, ``2`` that a CSV block parsed as
    numbers are still counted as categories against the baseline's.
    """
    result = DatasetProfile()
    for batch in batches:
        seen = set()
        for name, array in zip(batch.schema.names, batch.columns, strict=True):
            if name == INFERENCE_ID:
                continue
            column = result.columns.get(name)
            if column is None:
                column = ColumnProfile(
                    name, k=k, distinct_limit=distinct_limit, as_text=name in text_columns
                )
                column.add_missing(result.rows)  # rows read before the column first appeared
                result.columns[name] = column
            column.update(array)
            seen.add(name)
        for name, column in result.columns.items():
            if name not in seen:
                column.add_missing(batch.num_rows)
        result.rows += batch.num_rows
    return result
