"""Whether an input file is in the format the spec says, checked once when the plan is made.

A file of the wrong format otherwise fails deep in a reader (Arrow's "Parquet magic bytes not
found in footer", or every line "not valid UTF-8: byte 0x8b" for gzip data read as text),
naming neither the file nor the setting to change. The first and last bytes tell: Parquet files
start and end with ``PAR1``, gzip streams start with ``1f 8b``.
"""

from __future__ import annotations

from pathlib import Path

from dockyard.api.batch import PARQUET, TransformInput
from dockyard.errors import InvalidArgument

__all__ = ["check_format"]

_PARQUET_MAGIC = b"PAR1"
_GZIP_MAGIC = b"\x1f\x8b"
_SNIFF_BYTES = 4096


def check_format(path: Path, shown: str, source: TransformInput) -> None:
    """Refuse a file whose bytes contradict ``content_type`` or ``compression``.

    Args:
        path: The local (or staged) file.
        shown: What the error calls it (what the user named).
        source: The spec's input section.

    Raises:
        InvalidArgument: Naming the file and the field to change, with the value that fits.
    """
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
        handle.seek(max(0, path.stat().st_size - len(_PARQUET_MAGIC)))
        tail = handle.read(len(_PARQUET_MAGIC))
    parquet = head.startswith(_PARQUET_MAGIC) and tail == _PARQUET_MAGIC
    gzipped = head.startswith(_GZIP_MAGIC)
    if source.content_type == PARQUET:
        if not parquet:
            raise InvalidArgument(
                f"input file {shown} is not Parquet (no Parquet magic bytes): it looks like "
                f"{_guess(head)}",
                field="input.content_type",
                details={"uri": shown},
            )
        return
    if parquet:
        raise InvalidArgument(
            f"input file {shown} is a Parquet file: set input.content_type: {PARQUET}",
            field="input.content_type",
            details={"uri": shown},
        )
    if gzipped and source.compression == "None":
        raise InvalidArgument(
            f"input file {shown} is gzip-compressed: set input.compression: Gzip",
            field="input.compression",
            details={"uri": shown},
        )
    if not gzipped and source.compression == "Gzip":
        raise InvalidArgument(
            f"input file {shown} is not gzip-compressed: set input.compression: None",
            field="input.compression",
            details={"uri": shown},
        )


def _guess(head: bytes) -> str:
    """What a file that is not Parquet seems to be, and the setting that reads it."""
    if head.startswith(_GZIP_MAGIC):
        return (
            "gzip-compressed text: set input.content_type (text/csv or "
            "application/jsonlines) and input.compression: Gzip"
        )
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith((b"{", b"[")):
        return "JSON Lines: set input.content_type: application/jsonlines"
    return "CSV: set input.content_type: text/csv"
