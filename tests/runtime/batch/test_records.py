"""Text shards as mini-batches: record counts and line numbers around empty lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.runtime.batch._config import MB, ShardTask, WorkerConfig
from dockyard.runtime.batch._records import TextBatch, text_batches


def _batches(path: Path, batch_bytes: int) -> list[TextBatch]:
    config = WorkerConfig(
        model_path="-",
        content_type="text/csv",
        accept="text/csv",
        whole_file=False,
        single_record=False,
        batch_bytes=batch_bytes,
        max_record_bytes=MB,
        input_filter="$",
        output_filter="$",
        join=False,
        assemble_line=True,
        fail_fast=False,
        max_reported=10,
    )
    size = path.stat().st_size
    task = ShardTask("0", str(path), str(path), "lines", 0, size, 1, (), "-", "-", size)
    found = list(text_batches(task, config))
    assert all(isinstance(b, TextBatch) for b in found)
    return found  # type: ignore[return-value]


@pytest.mark.parametrize("batch_bytes", [4, 9, 1024])
@pytest.mark.parametrize(
    "text",
    [
        "a\nb\nc\n",
        "\n\na\n\n\nb\r\n\r\nc",
        "a\n\nb\n\n",
        "\n",
        "a,1\r\nb,2\r\n\r\n",
    ],
    ids=["plain", "leading-and-runs", "trailing", "only-blank", "crlf"],
)
def test_records_keep_their_file_line_numbers(tmp_path: Path, text: str, batch_bytes: int) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(text.encode())
    batches = _batches(path, batch_bytes)
    expected = [
        (number, line.rstrip("\r"))
        for number, line in enumerate(text.split("\n"), start=1)
        if line.rstrip("\r")
    ]
    got = [
        (batch.line(index), record.decode())
        for batch in batches
        for index, record in enumerate(batch.lines())
    ]
    assert got == expected
    assert sum(b.count for b in batches) == len(expected)
    assert sum(b.nbytes for b in batches) == path.stat().st_size
