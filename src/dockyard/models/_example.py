"""The input example stored with a package, in MLflow's files and ``saved_input_example_info``.

Tabular examples are written as ``{"columns": [...], "data": [[...]]}`` (pandas' split orient,
``type: dataframe``), arrays as nested lists (``type: ndarray``); ``serving_input_example.json``
holds the same data as a ready-to-send scoring request. Reading an example back goes through
the same JSON decoding and cast rule as a request.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dockyard.errors import InvalidArgument
from dockyard.models._manifest import inside
from dockyard.models._payload import decode_json, to_jsonable
from dockyard.models._schema import Schema
from dockyard.models._signature import from_tensors, to_frame

if TYPE_CHECKING:
    import pandas as pd
else:
    from dockyard.lazy import pandas as pd

__all__ = ["load_example", "save_example"]

EXAMPLE = "input_example.json"
SERVING_EXAMPLE = "serving_input_example.json"


def save_example(model_dir: Path, example: Any) -> dict[str, Any]:
    """Write the example files; return the manifest's ``saved_input_example_info``."""
    example = from_tensors(example)
    if isinstance(example, np.ndarray) and not example.dtype.names:
        data = to_jsonable(example)
        (model_dir / EXAMPLE).write_text(json.dumps(data))
        (model_dir / SERVING_EXAMPLE).write_text(json.dumps({"inputs": data}, indent=2))
        return {"artifact_path": EXAMPLE, "serving_input_path": SERVING_EXAMPLE, "type": "ndarray"}
    frame = to_frame(example, [])
    split = {
        "columns": [str(c) for c in frame.columns],
        "data": [[to_jsonable(v) for v in row] for row in frame.itertuples(index=False)],
    }
    try:
        (model_dir / EXAMPLE).write_text(json.dumps(split, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"input_example cannot be stored as JSON: {exc}") from exc
    (model_dir / SERVING_EXAMPLE).write_text(json.dumps({"dataframe_split": split}, indent=2))
    return {
        "artifact_path": EXAMPLE,
        "serving_input_path": SERVING_EXAMPLE,
        "type": "dataframe",
        "pandas_orient": "split",
    }


def load_example(model_dir: Path, info: dict[str, Any] | None, schema: Schema | None) -> Any:
    """The stored example as model input (before the signature is applied), or ``None``."""
    if not info:
        return None
    path = inside(model_dir, info.get("artifact_path"), "saved_input_example_info.artifact_path")
    if not path.is_file():
        return None
    body = json.loads(path.read_text())
    kind = info.get("type")
    if kind == "ndarray":
        return np.asarray(body["inputs"] if isinstance(body, dict) else body)
    if kind == "dataframe" and info.get("pandas_orient", "split") == "split":
        return decode_json({"dataframe_split": body}, schema)[0]
    if kind == "dataframe" and info.get("pandas_orient") == "records":
        return pd.DataFrame(body)
    return None
