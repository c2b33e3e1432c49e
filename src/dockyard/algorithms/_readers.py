"""Readers for one data file each: CSV, LIBSVM and Parquet, label first.

Each returns ``(features, labels, weights or None, qid or None)``, or ``None`` for a file with
no rows, and raises InvalidArgument naming the file and line (or row, or column) at fault.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp  # type: ignore[import-untyped]

from dockyard.errors import InvalidArgument

__all__ = ["Rows", "detect", "line_of", "read_csv", "read_libsvm", "read_parquet"]

# features (float64 ndarray, or scipy CSR for LIBSVM), labels, weights or None, qid or None
Rows = tuple[Any, Any, Any, Any]


def detect(path: Path) -> str:
    """The format of a file whose ContentType was not declared."""
    with path.open("rb") as stream:
        head = stream.read(65536)
    if head.startswith(b"PAR1"):
        return "parquet"
    for raw in head.splitlines():
        line = raw.split(b"#", 1)[0].strip()
        if line:
            tokens = line.split()
            if b"," not in line and len(tokens) > 1 and all(b":" in t for t in tokens[1:]):
                return "libsvm"
            break
    return "csv"


def _bad(display: str, where: str, problem: str) -> InvalidArgument:
    return InvalidArgument(f"{display}, {where}: {problem}", details={"file": display})


# -- CSV -----------------------------------------------------------------------------------------


def _delimiter(path: Path) -> str:
    with path.open(encoding="utf-8", errors="replace", newline="") as stream:
        for line in stream:
            if line.strip():
                try:
                    return csv.Sniffer().sniff(line, delimiters=",;\t|").delimiter
                except csv.Error:
                    return ","
    return ","


def read_csv(path: Path, display: str, weighted: bool) -> Rows | None:
    """A headerless CSV file; ``weighted``: the second column holds instance weights."""
    delimiter = _delimiter(path)
    try:
        frame = pd.read_csv(
            path, header=None, sep=delimiter, dtype=np.float64, skip_blank_lines=True
        )
    except pd.errors.EmptyDataError:
        return None
    except (ValueError, pd.errors.ParserError) as exc:
        found = _scan_csv(path, display, delimiter, weighted)
        raise found or InvalidArgument(f"{display}: not readable as CSV ({exc})") from None
    data = frame.to_numpy(dtype=np.float64)
    if np.isnan(data).any():
        # Missing features are fine, but pandas also fills a short row with missing values,
        # and a missing label is an error: the line-by-line scan tells them apart.
        error = _scan_csv(path, display, delimiter, weighted)
        if error:
            raise error
    label_columns = 2 if weighted else 1
    if data.shape[1] <= label_columns:
        what = "label and weight" if weighted else "label"
        raise _bad(display, "line 1", f"no feature columns after the {what}")
    weights = data[:, 1] if weighted else None
    return data[:, label_columns:], data[:, 0], weights, None


def _scan_csv(path: Path, display: str, delimiter: str, weighted: bool) -> InvalidArgument | None:
    width: int | None = None
    with path.open(encoding="utf-8", errors="replace", newline="") as stream:
        reader = csv.reader(stream, delimiter=delimiter)
        for row in reader:
            line = f"line {reader.line_num}"
            if not any(cell.strip() for cell in row):
                continue
            if width is None:
                width = len(row)
            elif len(row) != width:
                return _bad(display, line, f"{len(row)} fields where the first row has {width}")
            for column, raw in enumerate(row, 1):
                cell = raw.strip()
                value = _float(cell) if cell else math.nan
                if value is None:
                    header = " (training CSV has no header row)" if reader.line_num == 1 else ""
                    where = f"{line}, column {column}"
                    return _bad(display, where, f"{cell[:40]!r} is not a number{header}")
                if math.isnan(value) and (column == 1 or (weighted and column == 2)):
                    what = "label (first column)" if column == 1 else "weight (second column)"
                    return _bad(display, line, f"the {what} is missing")
    return None


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def line_of(path: Path, offset: int, *, comments: bool) -> int:
    """The line number of the ``offset``-th data row of a CSV or LIBSVM file."""
    seen = -1
    with path.open(encoding="utf-8", errors="replace") as stream:
        for number, line in enumerate(stream, 1):
            if (line.split("#", 1)[0] if comments else line).strip():
                seen += 1
                if seen == offset:
                    return number
    return offset + 1


# -- LIBSVM --------------------------------------------------------------------------------------


def read_libsvm(path: Path, display: str) -> Rows | None:
    """A LIBSVM file, as a CSR matrix whose width is the highest index plus one."""
    labels: list[float] = []
    weights: list[float] = []
    qids: list[int] = []
    indptr, indices, values = [0], [], []
    with path.open(encoding="utf-8", errors="replace") as stream:
        for number, raw in enumerate(stream, 1):
            tokens = raw.split("#", 1)[0].split()
            if not tokens:
                continue
            where = f"line {number}"
            label, _, weight = tokens[0].partition(":")
            label_value, weight_value = _float(label), _float(weight) if weight else 1.0
            if label_value is None or math.isnan(label_value) or weight_value is None:
                raise _bad(display, where, f"{tokens[0]!r} is not <label>[:<weight>]")
            labels.append(label_value)
            if weight:
                weights.append(weight_value)
            for token in tokens[1:]:
                key, colon, text = token.partition(":")
                value = _float(text)
                if key == "qid" and colon and text.isdigit():
                    qids.append(int(text))
                elif colon and key.isdigit() and value is not None:
                    indices.append(int(key))
                    values.append(value)
                else:
                    raise _bad(display, where, f"{token!r} is not <index>:<value>")
            indptr.append(len(indices))
    rows = len(labels)
    if rows == 0:
        return None
    for what, found in (("instance weights", weights), ("qid", qids)):
        if found and len(found) != rows:
            raise _bad(display, "all lines", f"some lines give {what} and some do not")
    width = max(indices) + 1 if indices else 0
    matrix = sp.csr_matrix(
        (np.asarray(values, np.float64), np.asarray(indices, np.int64), indptr),
        shape=(rows, width),
    )
    return (
        matrix,
        np.asarray(labels, np.float64),
        np.asarray(weights, np.float64) if weights else None,
        np.asarray(qids, np.int64) if qids else None,
    )


# -- Parquet -------------------------------------------------------------------------------------


def read_parquet(path: Path, display: str) -> Rows | None:
    """A Parquet file of numeric or boolean columns; nulls in features are missing values."""
    import pyarrow.parquet as pq

    try:
        frame = pq.read_table(path).to_pandas()
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise _bad(display, "whole file", f"not a readable Parquet file: {exc}") from None
    for column in frame.columns:
        dtype = frame[column].dtype
        if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
            raise _bad(display, f"column {column!r}", f"type {dtype} is not numeric")
    data = frame.to_numpy(dtype=np.float64, na_value=np.nan)
    if len(data) == 0:
        return None
    if data.shape[1] < 2:
        raise _bad(display, "whole file", "no feature columns after the label")
    missing = np.flatnonzero(np.isnan(data[:, 0]))
    if len(missing):
        raise _bad(display, f"row {missing[0] + 1}", "the label (first column) is missing")
    return data[:, 1:], data[:, 0], None, None
