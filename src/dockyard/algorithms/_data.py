"""Reading a channel's files into features and labels, with errors that name file and line.

SageMaker's layouts, label always first:

* **CSV** (``text/csv``): no header; the label is the first column and, with XGBoost's
  ``csv_weights=1``, the instance weight the second. The delimiter is sniffed from the first
  line (``,`` ``;`` tab ``|``). An empty field is a missing value (XGBoost handles those).
* **LIBSVM** (``text/libsvm``): ``<label>[:<weight>] [qid:<id>] <index>:<value> ...``; indices
  are column numbers as written (as XGBoost reads them), absent entries are missing values.
* **Parquet** (``application/x-parquet``): numeric (or boolean) columns; the first is the label.

Every file in the channel's folder is read, in name order and including subfolders, skipping
names that start with ``.`` or ``_`` (``_SUCCESS`` markers, hidden files), and the rows are
concatenated. A channel without a declared ContentType has its format detected from its first
file: Parquet's magic bytes, a LIBSVM ``index:value`` line, otherwise CSV.

Well-formed files take pandas' and pyarrow's fast paths; only when those fail (or find missing
values, which might hide a short row) is the file scanned line by line to say exactly where.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp  # type: ignore[import-untyped]

from dockyard.algorithms._contract import INPUT_EXAMPLE_FILE, ChannelInput, content_format, log
from dockyard.algorithms._readers import Rows, detect, line_of, read_csv, read_libsvm, read_parquet
from dockyard.errors import InvalidArgument

__all__ = ["Table", "align", "read_channel", "write_input_example"]

_EXAMPLE_ROWS = 5
_EXAMPLE_MAX_COLUMNS = 10_000
# A float64 ndarray, or a scipy CSR matrix for LIBSVM data (scipy has no type hints).
Features = Any


@dataclass(frozen=True)
class _Source:
    display: str
    path: Path
    format: str
    first_row: int
    rows: int


@dataclass(frozen=True)
class Table:
    """A channel's rows: features (dense, or CSR for LIBSVM), labels and optional extras."""

    channel: str
    features: Features
    labels: np.ndarray[Any, np.dtype[np.float64]]
    weights: np.ndarray[Any, np.dtype[np.float64]] | None
    qid: np.ndarray[Any, np.dtype[np.int64]] | None
    sources: tuple[_Source, ...]

    @property
    def n_features(self) -> int:
        """Number of feature columns."""
        return int(self.features.shape[1])

    def locate(self, row: int) -> str:
        """Where row ``row`` (0-based, over the whole channel) came from: file and line."""
        for source in self.sources:
            if source.first_row <= row < source.first_row + source.rows:
                offset = row - source.first_row
                if source.format == "parquet":
                    return f"{source.display}, row {offset + 1}"
                line = line_of(source.path, offset, comments=source.format == "libsvm")
                return f"{source.display}, line {line}"
        return f"channel {self.channel!r}, row {row + 1}"


def read_channel(
    channel: ChannelInput, formats: tuple[str, ...], *, algorithm: str, csv_weights: bool = False
) -> Table:
    """Read every data file of ``channel``; ``formats`` are the ones the algorithm accepts."""
    files = _data_files(channel)
    fmt = content_format(channel.content_type, formats, channel=channel.name, algorithm=algorithm)
    if fmt is None:
        fmt = detect(files[0])
        if fmt not in formats:
            fmt = "csv"
        log(f"channel {channel.name!r} declares no ContentType; read as {fmt} ({files[0].name})")
    parts: list[Rows] = []
    sources: list[_Source] = []
    first_row = 0
    for path in files:
        display = f"{channel.name}/{path.relative_to(channel.path).as_posix()}"
        if fmt == "csv":
            rows = read_csv(path, display, csv_weights)
        elif fmt == "libsvm":
            rows = read_libsvm(path, display)
        else:
            rows = read_parquet(path, display)
        if rows is None:
            continue  # an empty file adds nothing
        features, labels, _, _ = rows
        if parts and fmt != "libsvm" and features.shape[1] != parts[0][0].shape[1]:
            raise InvalidArgument(
                f"{display} has {features.shape[1]} feature columns but {sources[0].display} "
                f"has {parts[0][0].shape[1]}: every file of a channel needs the same columns",
                field=f"inputs.{channel.name}",
            )
        parts.append(rows)
        sources.append(_Source(display, path, fmt, first_row, len(labels)))
        first_row += len(labels)
    if first_row == 0:
        raise InvalidArgument(
            f"channel {channel.name!r} has no data rows", field=f"inputs.{channel.name}"
        )
    return Table(
        channel=channel.name,
        features=_stack([p[0] for p in parts]),
        labels=np.concatenate([p[1] for p in parts]),
        weights=_optional(channel.name, "instance weights", [p[2] for p in parts], np.float64),
        qid=_optional(channel.name, "qid", [p[3] for p in parts], np.int64),
        sources=tuple(sources),
    )


def align(train: Table, other: Table) -> tuple[Table, Table]:
    """Give both tables the same feature columns (LIBSVM), or refuse different widths."""
    if isinstance(train.features, sp.csr_matrix) and isinstance(other.features, sp.csr_matrix):
        width = max(train.n_features, other.n_features)
        return _widen(train, width), _widen(other, width)
    if train.n_features != other.n_features:
        raise InvalidArgument(
            f"channel {other.channel!r} has {other.n_features} feature columns but "
            f"{train.channel!r} has {train.n_features}",
            field=f"inputs.{other.channel}",
        )
    return train, other


def write_input_example(model_dir: Path, table: Table) -> Path | None:
    """Write the first rows' features (no label) as ``input_example.csv`` with a header.

    Columns are named ``f0``, ``f1``... (XGBoost's names for unnamed features); a missing
    value is an empty field. The runner infers the packaged model's signature from this file.
    """
    if table.n_features > _EXAMPLE_MAX_COLUMNS:
        log(f"no {INPUT_EXAMPLE_FILE}: {table.n_features} feature columns is too wide")
        return None
    head = table.features[:_EXAMPLE_ROWS]
    if isinstance(head, sp.csr_matrix):
        dense = np.full(head.shape, np.nan)
        coo = head.tocoo()
        dense[coo.row, coo.col] = coo.data
    else:
        dense = np.asarray(head, dtype=np.float64)
    lines = [",".join(f"f{i}" for i in range(table.n_features))]
    lines += [",".join("" if math.isnan(v) else repr(float(v)) for v in row) for row in dense]
    path = model_dir / INPUT_EXAMPLE_FILE
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _data_files(channel: ChannelInput) -> list[Path]:
    root = channel.path
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and not any(part.startswith((".", "_")) for part in p.relative_to(root).parts)
    )
    if not files:
        raise InvalidArgument(
            f"channel {channel.name!r} has no data files in {root}",
            field=f"inputs.{channel.name}",
        )
    return files


def _stack(parts: Sequence[Features]) -> Features:
    if isinstance(parts[0], sp.csr_matrix):
        width = max(int(p.shape[1]) for p in parts)
        return sp.csr_matrix(sp.vstack([_resize(p, width) for p in parts], format="csr"))
    return np.vstack(parts) if len(parts) > 1 else parts[0]


def _resize(matrix: Features, width: int) -> sp.csr_matrix:
    csr = sp.csr_matrix(matrix)
    if csr.shape[1] != width:
        csr = sp.csr_matrix((csr.data, csr.indices, csr.indptr), shape=(csr.shape[0], width))
    return csr


def _widen(table: Table, width: int) -> Table:
    if table.n_features == width:
        return table
    return Table(
        table.channel,
        _resize(table.features, width),
        table.labels,
        table.weights,
        table.qid,
        table.sources,
    )


def _optional(channel: str, what: str, parts: list[Any], dtype: Any) -> Any:
    present = [p is not None for p in parts]
    if not any(present):
        return None
    if not all(present):
        raise InvalidArgument(
            f"channel {channel!r}: some files give {what} and some do not",
            field=f"inputs.{channel}",
        )
    return np.concatenate(parts).astype(dtype)
