"""What a transform produced: per-file reports, bad records, totals."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = ["BadRecord", "FileReport", "TransformResult"]


@dataclass(frozen=True, slots=True)
class BadRecord:
    """A record that could not be scored.

    Attributes:
        uri: The input file.
        line: Its line number (row number for Parquet), from 1.
        reason: Why, in words that name the problem.
    """

    uri: str
    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class FileReport:
    """One input file and its published output.

    Attributes:
        input_uri: The input file.
        output_uri: ``<output>/<input name>.out``.
        records: Records scored and written.
        bad_records: Records skipped as bad.
        bytes_in: Input size.
        bytes_out: Output size.
        sha256: The output's sha256 (hex).
    """

    input_uri: str
    output_uri: str
    records: int
    bad_records: int
    bytes_in: int
    bytes_out: int
    sha256: str


@dataclass(frozen=True, slots=True)
class TransformResult:
    """The outcome of :func:`~dockyard.runtime.batch.run_transform`.

    Attributes:
        status: ``Completed`` (every output and the manifest are published) or ``Stopped``
            (``should_stop`` said so; run again with the same work directory to resume).
        output_uri: Where outputs are.
        manifest_uri: The manifest, once complete.
        files: Reports of published files (all of them when completed).
        records: Records scored and written.
        bad_records: Records skipped as bad.
        reported_bad_records: The first ``max_reported`` bad records, in file and line order.
        bytes_in: Input bytes processed.
        bytes_out: Output bytes published.
        shards_total: Shards in the plan.
        shards_reused: Shards an earlier run had finished, not scored again by this one.
        elapsed_s: This run's duration.
        worker_python: The interpreter the workers ran (the model's own environment, or the
            host's).
    """

    status: Literal["Completed", "Stopped"]
    output_uri: str
    manifest_uri: str | None
    files: tuple[FileReport, ...]
    records: int
    bad_records: int
    reported_bad_records: tuple[BadRecord, ...]
    bytes_in: int
    bytes_out: int
    shards_total: int
    shards_reused: int
    elapsed_s: float
    worker_python: str | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (for a job's status or a stored result)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> TransformResult:
        """Rebuild from :meth:`to_dict` output."""
        return cls(
            **{
                **body,
                "files": tuple(FileReport(**f) for f in body["files"]),
                "reported_bad_records": tuple(BadRecord(**b) for b in body["reported_bad_records"]),
            }
        )
