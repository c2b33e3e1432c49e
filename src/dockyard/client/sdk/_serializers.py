"""How a :class:`Predictor` encodes requests and decodes answers (SageMaker SDK's shape)."""

from __future__ import annotations

import io
from typing import Any, Protocol

import orjson

__all__ = [
    "CSVSerializer",
    "Deserializer",
    "JSONDeserializer",
    "JSONSerializer",
    "NumpyDeserializer",
    "Serializer",
]


class Serializer(Protocol):
    """Turns prediction input into a request body."""

    content_type: str

    def serialize(self, data: Any) -> bytes: ...


class Deserializer(Protocol):
    """Turns a response body into a Python value."""

    accept: str

    def deserialize(self, body: bytes, content_type: str) -> Any: ...


class JSONSerializer:
    """A DataFrame as MLflow's ``dataframe_split``; arrays and lists as ``instances``; a dict or
    anything else as it is."""

    content_type = "application/json"

    def serialize(self, data: Any) -> bytes:
        import numpy as np
        import pandas as pd

        if isinstance(data, pd.DataFrame):
            payload: Any = {
                "dataframe_split": {
                    "columns": [_label(c) for c in data.columns],
                    "data": data.to_numpy().tolist(),
                }
            }
        elif isinstance(data, np.ndarray):
            payload = {"instances": data.tolist()}
        elif isinstance(data, list):
            payload = {"instances": data}
        else:
            payload = data
        return orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY)


def _label(column: Any) -> Any:
    """A column label as JSON carries it: an integer stays one, so a frame read without a
    header (labels 0, 1, ...) still maps by position onto a signature with made-up names
    (``f0``, ``f1``, ...), as it does in ``model.predict``; anything else is its text."""
    import numpy as np

    if isinstance(column, (int, np.integer)) and not isinstance(column, (bool, np.bool_)):
        return int(column)
    return str(column)


class CSVSerializer:
    """Rows as CSV lines without a header (SageMaker's ``text/csv``)."""

    content_type = "text/csv"

    def serialize(self, data: Any) -> bytes:
        import numpy as np
        import pandas as pd

        if isinstance(data, (str, bytes)):
            return data.encode() if isinstance(data, str) else data
        frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(np.atleast_2d(data))
        buffer = io.StringIO()
        frame.to_csv(buffer, header=False, index=False)
        return buffer.getvalue().encode()


class JSONDeserializer:
    """The JSON answer as Python objects."""

    accept = "application/json"

    def deserialize(self, body: bytes, content_type: str) -> Any:
        return orjson.loads(body)


class NumpyDeserializer:
    """The predictions as a numpy array (from JSON ``predictions`` or CSV)."""

    accept = "application/json"

    def deserialize(self, body: bytes, content_type: str) -> Any:
        import numpy as np

        if content_type.startswith("text/csv"):
            return np.loadtxt(io.StringIO(body.decode()), delimiter=",", ndmin=1)
        value = orjson.loads(body)
        if isinstance(value, dict) and "predictions" in value:
            value = value["predictions"]
        return np.asarray(value)
