"""Dockyard's stand-in for ``sagemaker_xgboost_container.data_utils``: a channel's files as a
``DMatrix``, in the container's conventions (label in the first column, no header; LIBSVM
indices used as column numbers as XGBoost's own reader does).

Read with numpy rather than XGBoost's text URIs (``path?format=csv``), which XGBoost 3.1
deprecated. File mode only: Dockyard channels are folders of files.
"""

from __future__ import annotations

import csv
import os
from typing import Any

CSV = "csv"
LIBSVM = "libsvm"
PARQUET = "parquet"
RECORDIO_PROTOBUF = "recordio-protobuf"

_ALIASES = {
    "csv": CSV,
    "text/csv": CSV,
    "libsvm": LIBSVM,
    "text/libsvm": LIBSVM,
    "text/x-libsvm": LIBSVM,
    "parquet": PARQUET,
    "application/x-parquet": PARQUET,
    "recordio-protobuf": RECORDIO_PROTOBUF,
    "application/x-recordio-protobuf": RECORDIO_PROTOBUF,
}
_MAX_DEPTH = 3


def get_content_type(content_type_cfg_val: str | None) -> str:
    """``csv``, ``libsvm``, ``parquet`` or ``recordio-protobuf`` for a channel's content type
    (LIBSVM when it has none, as in the container)."""
    if content_type_cfg_val is None:
        return LIBSVM
    base = content_type_cfg_val.split(";", 1)[0].strip().lower()
    if base not in _ALIASES:
        accepted = ", ".join(sorted(_ALIASES))
        raise ValueError(f"{content_type_cfg_val} is not an accepted ContentType: {accepted}.")
    return _ALIASES[base]


def _data_files(path: str, depth: int = 1) -> list[str]:
    if os.path.isfile(path):
        return [path]
    files: list[str] = []
    if depth > _MAX_DEPTH:
        return files
    for name in sorted(os.listdir(path)):
        if name.startswith((".", "_")):
            continue
        full = os.path.join(path, name)
        files += _data_files(full, depth + 1) if os.path.isdir(full) else [full]
    return files


def _csv(files: list[str], csv_weights: int) -> Any:
    import numpy as np
    import xgboost as xgb

    blocks = []
    for file in files:
        with open(file) as handle:
            first = handle.readline()
        if not first.strip():
            continue
        try:
            delimiter = csv.Sniffer().sniff(first, delimiters=",;\t| ").delimiter
        except csv.Error:
            delimiter = ","
        blocks.append(np.genfromtxt(file, delimiter=delimiter, ndmin=2, dtype=np.float32))
    if not blocks:
        return None
    data = np.vstack(blocks)
    first_feature = 2 if csv_weights == 1 else 1
    weight = data[:, 1] if csv_weights == 1 else None
    return xgb.DMatrix(data[:, first_feature:], label=data[:, 0], weight=weight)


def _libsvm(files: list[str]) -> Any:
    import numpy as np
    import xgboost as xgb
    from scipy.sparse import csr_matrix  # type: ignore[import-untyped]

    labels: list[float] = []
    weights: list[float] = []
    indptr, indices, values = [0], [], []
    for file in files:
        with open(file) as handle:
            for number, line in enumerate(handle, 1):
                fields = line.split("#", 1)[0].split()
                if not fields:
                    continue
                try:
                    label, _, weight = fields[0].partition(":")
                    labels.append(float(label))
                    weights.append(float(weight) if weight else 1.0)
                    for pair in fields[1:]:
                        index, _, value = pair.partition(":")
                        indices.append(int(index))
                        values.append(float(value))
                except ValueError:
                    raise ValueError(
                        f"line {number} of {os.path.basename(file)} is not LIBSVM: {line[:50]!r}"
                    ) from None
                indptr.append(len(indices))
    if not labels:
        return None
    columns = max(indices, default=-1) + 1
    matrix = csr_matrix(
        (np.asarray(values, dtype=np.float32), indices, indptr), shape=(len(labels), columns)
    )
    weighted = any(w != 1.0 for w in weights)
    return xgb.DMatrix(
        matrix, label=np.asarray(labels), weight=np.asarray(weights) if weighted else None
    )


def _parquet(files: list[str]) -> Any:
    import numpy as np
    import pandas as pd
    import xgboost as xgb

    data = np.vstack([pd.read_parquet(f).to_numpy() for f in files])
    return xgb.DMatrix(data[:, 1:], label=data[:, 0])


def get_dmatrix(
    data_path: str | list[str] | None,
    content_type: str,
    csv_weights: int = 0,
    is_pipe: bool = False,
) -> Any:
    """An ``xgboost.DMatrix`` of the files in ``data_path`` (a folder, a file or a list of
    them); None when the path does not exist or holds no rows.

    Raises:
        ValueError: Pipe mode, RecordIO-protobuf, or a file that is not in ``content_type``.
    """
    if is_pipe:
        raise ValueError("pipe mode is not available: Dockyard channels are files")
    if data_path is None:
        return None
    paths = data_path if isinstance(data_path, list) else [data_path]
    paths = [p for p in paths if os.path.exists(p)]
    if not paths:
        return None
    files = [f for p in paths for f in _data_files(p)]
    kind = get_content_type(content_type)
    if kind == CSV:
        dmatrix = _csv(files, csv_weights)
    elif kind == LIBSVM:
        dmatrix = _libsvm(files)
    elif kind == PARQUET:
        dmatrix = _parquet(files)
    else:
        raise ValueError(f"{content_type} data is not available here: use CSV, LIBSVM or Parquet")
    if dmatrix is not None and dmatrix.get_label().size == 0:
        raise ValueError("Got input data without labels. Please check the input data set.")
    return dmatrix
