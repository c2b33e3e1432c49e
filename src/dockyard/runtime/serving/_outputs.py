"""Predictions to response bodies (JSON, CSV, JSON Lines, NumPy's ``.npy``), and ``Accept``
negotiation.

JSON is ``{"predictions": ...}`` (MLflow's shape). A numeric ndarray goes straight to orjson,
widened to float64 first so a float32 prediction prints as the exact value the model computed
(``353.642822265625``), as the general :func:`~dockyard.models._payload.to_jsonable` path prints
it; NaN and infinities become ``null``. CSV is one line per prediction without a header (via
:func:`~dockyard.models._payload.encode_csv`); JSON Lines is one JSON value per prediction;
``application/x-npy`` is one array in NumPy's file format (the SageMaker SDK's
``NumpyDeserializer``, the default of its scikit-learn and PyTorch predictors).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import orjson

from dockyard.models import encode_csv, to_jsonable
from dockyard.runtime.serving._http import NotAcceptable

__all__ = ["CONTENT_TYPES", "Format", "encode", "encode_json", "negotiate", "parse_content_type"]

Format = Literal["json", "csv", "jsonl", "npy"]

CONTENT_TYPES: dict[str, bytes] = {
    "json": b"application/json",
    "csv": b"text/csv",
    "jsonl": b"application/jsonlines",
    "npy": b"application/x-npy",
}
_MEDIA: dict[bytes, Format] = {
    b"application/json": "json",
    b"application/x-npy": "npy",
    b"text/csv": "csv",
    b"application/jsonlines": "jsonl",
    b"application/x-jsonlines": "jsonl",
    b"application/jsonl": "jsonl",
    b"application/x-ndjson": "jsonl",
    b"*/*": "json",
    b"application/*": "json",
    b"text/*": "csv",
}
_NUMPY = orjson.OPT_SERIALIZE_NUMPY


def parse_content_type(value: bytes | None) -> Format | None:
    """The request format a Content-Type names (``None`` for an unknown one); JSON if absent."""
    if value is None or value == b"application/json":
        return "json"
    media = value.split(b";", 1)[0].strip().lower()
    fmt = _MEDIA.get(media)
    return fmt if media not in (b"*/*", b"application/*", b"text/*") else None


def negotiate(accept: bytes | None, request: Format = "json") -> Format:
    """The response format for an Accept header; when it is absent or indifferent (``*/*``,
    what the SageMaker SDK's default deserializer sends), the ``request``'s own format, as
    SageMaker's built-in containers answer (CSV rows in, CSV predictions out).

    Raises:
        NotAcceptable: No listed type is JSON, CSV, JSON Lines or NPY.
    """
    if accept is None or accept == b"*/*":
        return request
    if accept == b"application/json":
        return "json"
    choices: list[tuple[float, int, Format]] = []
    for position, part in enumerate(accept.split(b",")):
        media, _, rest = part.partition(b";")
        fmt = _MEDIA.get(media.strip().lower())
        if fmt is None:
            continue
        quality = 1.0
        for param in rest.split(b";"):
            key, _, value = param.partition(b"=")
            if key.strip() == b"q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            choices.append((-quality, position, fmt))
    if not choices:
        shown = accept.decode("latin-1")
        raise NotAcceptable(
            f"cannot answer in any type of Accept: {shown!r}; this endpoint writes "
            "application/json, text/csv, application/jsonlines and application/x-npy"
        )
    return min(choices)[2]


def encode(predictions: Any, fmt: Format) -> bytes:
    """The response body for ``predictions`` in ``fmt``."""
    if fmt == "json":
        return encode_json(predictions)
    if fmt == "csv":
        return encode_csv(predictions)
    if fmt == "npy":
        return encode_npy(predictions)
    return b"".join(orjson.dumps(row) + b"\n" for row in _rows(predictions))


def encode_json(predictions: Any) -> bytes:
    """``{"predictions": ...}``, with a copy-free path for numeric arrays."""
    if type(predictions) is np.ndarray and predictions.dtype.kind in "biuf":
        if predictions.dtype != np.float64 and predictions.dtype.kind == "f":
            predictions = predictions.astype(np.float64)
        try:
            return orjson.dumps({"predictions": predictions}, option=_NUMPY)
        except orjson.JSONEncodeError:  # not C-contiguous, or a dtype orjson does not take
            pass
    return orjson.dumps({"predictions": to_jsonable(predictions)})


def encode_npy(predictions: Any) -> bytes:
    """The predictions as one array in NumPy's ``.npy`` format (a data frame's or series'
    values; NaN stays NaN).

    Raises:
        NotAcceptable: Named outputs, or values that make no plain array.
    """
    values = predictions.to_numpy() if hasattr(predictions, "to_numpy") else predictions
    array: np.ndarray | None = None
    if not isinstance(values, Mapping):
        try:
            array = np.asarray(values)
            if array.dtype.kind == "O":  # a frame's labels: strings (or numbers) held as objects
                array = np.asarray(array.tolist())
        except ValueError:  # ragged
            array = None
    if array is None or array.dtype.kind not in "biufU":
        raise NotAcceptable(
            "these predictions make no single NumPy array of numbers or strings (named "
            "outputs, ragged or mixed values): accept application/json, text/csv or "
            "application/jsonlines"
        )
    out = io.BytesIO()
    np.save(out, array, allow_pickle=False)
    return out.getvalue()


def _rows(predictions: Any) -> list[Any]:
    values = to_jsonable(predictions)
    if isinstance(values, Mapping):  # named outputs: one object per row
        names = list(values)
        columns = [v if isinstance(v, list) else [v] for v in values.values()]
        return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]
    return values if isinstance(values, list) else [values]
