"""What every codec's decoding produces: the scorable rows of a mini-batch and their input."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from dockyard.api.batch import JsonPath, JsonPathError
from dockyard.models import Schema, Signature

if TYPE_CHECKING:
    from dockyard.runtime.batch._config import ShardTask

__all__ = ["Codec", "ModelShape", "Table"]

Positions = np.ndarray[Any, np.dtype[np.intp]]


@dataclass(slots=True)
class Table:
    """The decoded rows of one mini-batch.

    Attributes:
        rows: For each decoded row, the index of its record in the batch.
        bad: Records that could not be decoded (record index -> reason); they have no row.
        select: Builds the model input for some rows (positions into ``rows``).
        sources: Per decoded row, what a join appends the prediction to (the input line for
            CSV, the parsed record for JSON), or ``None`` when there is no join.
    """

    rows: Positions
    bad: dict[int, str]
    select: Callable[[Positions], Any]
    sources: list[Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """How many rows can be predicted."""
        return len(self.rows)

    def model_input(self, positions: Positions) -> Any:
        """The model input for the rows at ``positions``."""
        return self.select(positions)


class Codec(Protocol):
    """Decodes one content type's mini-batches and encodes their outputs."""

    def decode(self, batch: Any, task: ShardTask) -> Table:
        """The scorable rows of ``batch`` and their model input."""
        ...

    def encode(
        self, table: Table, positions: Positions, predictions: Any
    ) -> tuple[list[str], dict[int, str]]:
        """Output text per row (joined and filtered), and the rows that could not be written."""
        ...

    def encode_block(self, table: Table, predictions: Any) -> bytes | None:
        """Every row's output at once, each followed by the record separator, when a vectorised
        writer produces exactly what :meth:`encode` would; ``None`` otherwise."""
        ...


@dataclass(frozen=True, slots=True)
class ModelShape:
    """What a record must look like after the input filter, read from the model's signature.

    Attributes:
        schema: The input schema, if the package has a signature.
        names: Column names, for column signatures whose columns are all named.
        types: Column types, for column signatures.
        width: The number of fields a record must have after the input filter, when the
            signature says (columns, or a ``(-1, k)`` tensor); ``None`` otherwise.
        tensor_dtype: The dtype of a single unnamed tensor input, if that is the signature.
        item_shape: That tensor's axes after the first, when they are several and all fixed
            (an image, ``(1, 28, 28)``): each record is one flattened item, in row-major order.
    """

    schema: Schema | None
    names: tuple[str, ...] | None
    types: tuple[str, ...] | None
    width: int | None
    tensor_dtype: str | None
    item_shape: tuple[int, ...] | None = None

    def tensor(self, rows: Any) -> Any:
        """Rows of fields (a 2-D array or DataFrame) as the single tensor input."""
        if hasattr(rows, "to_numpy"):
            array = rows.to_numpy(dtype=self.tensor_dtype)
        else:
            array = rows.astype(self.tensor_dtype, copy=False)
        return array.reshape(-1, *self.item_shape) if self.item_shape else array

    @classmethod
    def of(cls, signature: Signature | None) -> ModelShape:
        """Read the shape from a signature (or know nothing without one)."""
        schema = signature.inputs if signature is not None else None
        if schema is None:
            return cls(None, None, None, None, None)
        if schema.columns:
            names = [c.name for c in schema.columns]
            named = tuple(str(n) for n in names) if all(n is not None for n in names) else None
            types = tuple(c.type for c in schema.columns)
            return cls(schema, named, types, len(schema.columns), None)
        tensors = schema.tensors
        if len(tensors) == 1 and tensors[0].name is None and len(tensors[0].shape) == 2:
            width = tensors[0].shape[1]
            return cls(schema, None, None, width if width > 0 else None, tensors[0].dtype)
        if len(tensors) == 1 and tensors[0].name is None:
            item = tuple(tensors[0].shape[1:])
            if len(item) > 1 and all(size > 0 for size in item):
                return cls(schema, None, None, math.prod(item), tensors[0].dtype, item)
        return cls(schema, None, None, None, None)


def filtered_positions(
    path: JsonPath, width: int, shape: ModelShape, reference_width: int | None
) -> list[int] | str:
    """The fields a record of ``width`` fields passes to the model, or why it cannot."""
    try:
        positions = path.positions(width)
    except JsonPathError as exc:
        return f"input filter {path.text}: {exc}"
    if shape.width is not None and len(positions) != shape.width:
        after = f" after input filter {path.text}" if not path.is_identity else ""
        return (
            f"the record has {len(positions)} fields{after}; "
            f"the model's signature takes {shape.width}"
        )
    if shape.width is None and reference_width is not None and width != reference_width:
        return f"the record has {width} fields; the file's first record has {reference_width}"
    return positions
