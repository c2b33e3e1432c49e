"""Where data is (:class:`Dataset`) and the files it names: local paths, folders, s3.

A folder is read recursively in sorted key order, skipping hidden files (``.``/``_`` prefixes:
``_SUCCESS`` markers, ``.crc`` files). ``s3://bucket/prefix`` goes through the artifact store,
so credentials and endpoints work as for artifacts.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Literal

from dockyard.errors import InvalidArgument, NotFound

if TYPE_CHECKING:
    from dockyard.artifacts import ArtifactStore

__all__ = ["FORMATS", "Dataset", "NoData", "Source", "resolve"]

Format = Literal["csv", "jsonl", "parquet", "capture", "auto"]
FORMATS = ("csv", "jsonl", "parquet", "capture", "auto")
_EXTENSIONS = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".json": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}


class NoData(InvalidArgument):
    """The data holds no rows: there is nothing to profile or check (SageMaker fails such a
    monitoring execution: "Job inputs had no data")."""

    def __init__(self, data: Dataset) -> None:
        names = ", ".join(data.uris[:3]) + (
            f" and {len(data.uris) - 3} more" if len(data.uris) > 3 else ""
        )
        super().__init__(f"{names}: no rows to read", field="uris")


@dataclass(frozen=True)
class Dataset:
    """Where data is and how to read it.

    Attributes:
        uris: Local paths, folders (recursed, sorted), ``file://`` URIs or ``s3://`` URIs.
        format: ``csv``, ``jsonl``, ``parquet``, ``capture`` (endpoint capture records) or
            ``auto`` (from each file's extension; ``.jsonl`` under a ``capture/`` key is capture).
        header: CSV only: whether the first line names the columns; ``None`` sniffs it (the
            first row is a header when none of its cells is a number and the second row has one).
        columns: Names for headerless CSV and for arrays; default ``_c0`` .. ``_cN``.
        capture_side: ``capture`` only: read the requests (``input``), the responses
            (``output``, columns ``prediction`` / ``prediction_<i>`` / the keys of objects) or
            ``both`` side by side.
        s3_endpoint_url: Endpoint of an S3-compatible server for ``s3://`` URIs.
        window: ``capture`` only: keep the records whose ``time`` falls in ``[start, end)``
            (milliseconds since the epoch, UTC); a capture file holds its hour's records, and
            a check may ask for part of one.
    """

    uris: tuple[str, ...]
    format: Format = "csv"
    header: bool | None = None
    columns: tuple[str, ...] | None = None
    capture_side: Literal["input", "output", "both"] = "input"
    s3_endpoint_url: str | None = None
    window: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.uris, str):
            raise InvalidArgument("uris must be a tuple of strings, not one string", field="uris")
        if not self.uris:
            raise InvalidArgument("a dataset needs at least one uri", field="uris")
        if self.format not in FORMATS:
            raise InvalidArgument(
                f"format must be one of {', '.join(FORMATS)}, got {self.format!r}", field="format"
            )
        if self.window is not None and not 0 <= self.window[0] < self.window[1]:
            raise InvalidArgument(
                f"window must be (start, end) with 0 <= start < end, got {self.window!r}",
                field="window",
            )
        if self.capture_side not in ("input", "output", "both"):
            raise InvalidArgument(
                f"capture_side must be input, output or both, got {self.capture_side!r}",
                field="capture_side",
            )


@dataclass(frozen=True)
class Source:
    """One file of a dataset: where it is, for messages, and how to open it."""

    name: str
    format: str
    local: Path | None = None
    store_root: str | None = None
    key: str | None = None
    s3_endpoint_url: str | None = None

    @contextmanager
    def open(self) -> Iterator[IO[bytes]]:
        """The file's bytes, streamed; ``.gz`` files decompressed."""
        if self.local is not None:
            try:
                raw: IO[bytes] = self.local.open("rb")
            except FileNotFoundError:
                raise NotFound(f"{self.name}: no such file", field="uris") from None
        else:
            raw = self._store().open_read(self.key or "")
        with raw:
            if self.name.endswith(".gz"):
                with gzip.GzipFile(fileobj=raw) as unpacked:
                    yield unpacked  # type: ignore[misc]
            else:
                yield raw

    @contextmanager
    def local_copy(self) -> Iterator[Path]:
        """A seekable local path (Parquet needs one): the file itself, or a downloaded copy."""
        if self.local is not None:
            yield self.local
            return
        folder = tempfile.mkdtemp(prefix="dockyard-monitor-")
        try:
            path = Path(folder) / "data"
            self._store().get_file(self.key or "", path)
            yield path
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _store(self) -> ArtifactStore:
        from dockyard.artifacts import open_artifact_store

        return open_artifact_store(self.store_root or "", s3_endpoint_url=self.s3_endpoint_url)


def _format_of(name: str, declared: str) -> str:
    if declared != "auto":
        return declared
    lowered = name.lower()
    if lowered.endswith(".jsonl") and "capture/" in lowered.replace(os.sep, "/"):
        return "capture"
    for extension, found in _EXTENSIONS.items():
        if lowered.endswith(extension) or lowered.endswith(extension + ".gz"):
            return found
    return "csv"


def _hidden(name: str) -> bool:
    return name.startswith((".", "_"))


def resolve(data: Dataset) -> list[Source]:
    """The files ``data`` names, in order.

    Raises:
        NotFound: A path or prefix names nothing.
    """
    sources: list[Source] = []
    for index, uri in enumerate(data.uris):
        field = f"uris.{index}"
        if uri.startswith("s3://"):
            sources += _resolve_s3(uri, data, field)
            continue
        path = Path(uri.removeprefix("file://")).expanduser()
        if path.is_dir():
            files = sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and not any(_hidden(part) for part in p.relative_to(path).parts)
            )
            if not files:
                raise NotFound(f"{uri}: the folder holds no data files", field=field)
            sources += [Source(str(p), _format_of(str(p), data.format), local=p) for p in files]
        elif path.is_file():
            sources.append(Source(str(path), _format_of(str(path), data.format), local=path))
        else:
            raise NotFound(f"{uri}: no such file or folder", field=field)
    return sources


def _resolve_s3(uri: str, data: Dataset, field: str) -> list[Source]:
    from dockyard.artifacts import open_artifact_store

    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    root = f"s3://{bucket}"
    store = open_artifact_store(root, s3_endpoint_url=data.s3_endpoint_url)
    prefix = prefix.strip("/")
    if prefix and store.exists(prefix) and not store.stat(prefix).is_dir:
        keys = [prefix]
    else:
        keys = sorted(
            info.path
            for info in store.list(prefix, recursive=True)
            if not info.is_dir and not _hidden(info.path.rpartition("/")[2])
        )
    if not keys:
        raise NotFound(f"{uri}: nothing under this prefix", field=field)
    return [
        Source(
            f"s3://{bucket}/{key}",
            _format_of(key, data.format),
            store_root=root,
            key=key,
            s3_endpoint_url=data.s3_endpoint_url,
        )
        for key in keys
    ]
