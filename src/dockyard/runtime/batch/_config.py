"""What a worker process is told: its configuration and the shards it scores.

These are plain dataclasses sent as JSON lines, not the pydantic spec: workers may run in a
model's own environment, which has numpy, pandas and the model's libraries but not Dockyard's
server dependencies.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["PARENT_ENV", "ShardKind", "ShardTask", "WorkerConfig"]

MB = 1024 * 1024
#: Names the runner's pid in a worker's environment (see ``_worker._die_with_parent``).
PARENT_ENV = "DOCKYARD_BATCH_PARENT"
ShardKind = Literal["lines", "gzip", "parquet"]


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """How every shard of one transform is read, scored and written.

    Attributes:
        model_path: The local package directory each worker loads once.
        content_type: The input format (see ``_spec``).
        accept: The output format.
        whole_file: ``split_type=None``: each file (shard) is a single record.
        single_record: ``batch_strategy=SingleRecord``: one record per predict call.
        batch_bytes: The most input bytes per predict call (MultiRecord).
        max_record_bytes: A record larger than this is a bad record; ``None``: no limit.
        input_filter: JSONPath applied to each record before predicting.
        output_filter: JSONPath applied to each (joined) output.
        join: ``join_source=Input``.
        assemble_line: ``assemble_with=Line``: a newline after every record's output.
        fail_fast: ``on_error=fail``.
        max_reported: Bad records listed per shard (the runner keeps the first overall).
        model_digest: The package digest the runner read; a worker refuses any other package.
    """

    model_path: str
    content_type: str
    accept: str
    whole_file: bool
    single_record: bool
    batch_bytes: int
    max_record_bytes: int | None
    input_filter: str
    output_filter: str
    join: bool
    assemble_line: bool
    fail_fast: bool
    max_reported: int
    model_digest: str | None = None

    @property
    def separator(self) -> str:
        """What follows every record's output: a newline (``assemble_with=Line``) or nothing."""
        return "\n" if self.assemble_line else ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (the inverse of :meth:`from_dict`)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> WorkerConfig:
        """Rebuild from :meth:`to_dict` output."""
        return cls(**body)


@dataclass(frozen=True, slots=True)
class ShardTask:
    """One unit of work: a byte range of a text file, or row groups of a Parquet file.

    Attributes:
        shard_id: Stable across runs (``<file>-<shard>``); names the part and marker files.
        uri: The input file's URI (where a cluster's node fetches it).
        path: The local file to read (a staged copy for ``s3://`` inputs).
        kind: ``lines`` (a byte range of a text file), ``gzip`` (a whole compressed file)
            or ``parquet`` (row groups).
        start: First byte (0 for ``gzip`` and ``parquet``).
        end: End byte (exclusive) for ``lines``; ``-1`` means the end of the file.
        first_line: The line (or Parquet row) number of the shard's first line, from 1.
        row_groups: The Parquet row groups of this shard.
        part_path: Where the shard's output is written.
        marker_path: Written, atomically, once the part file is complete and synced.
        nbytes: Input bytes this shard accounts for in progress reports.
        shown: What messages call the file: what the user gave when ``uri`` is an uploaded
            copy (the input's ``display_uri``), else empty and ``uri`` is named.
    """

    shard_id: str
    uri: str
    path: str
    kind: ShardKind
    start: int
    end: int
    first_line: int
    row_groups: tuple[int, ...]
    part_path: str
    marker_path: str
    nbytes: int
    shown: str = ""

    @property
    def named(self) -> str:
        """The file as messages name it."""
        return self.shown or self.uri

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (the inverse of :meth:`from_dict`)."""
        body = dataclasses.asdict(self)
        body["row_groups"] = list(self.row_groups)
        return body

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> ShardTask:
        """Rebuild from :meth:`to_dict` output."""
        return cls(**{**body, "row_groups": tuple(body.get("row_groups", ()))})
