"""Splitting input files into shards, and the plan a resumed run must find unchanged.

A text file (not compressed, ``split_type=Line``) is cut into shards of about ``shard_bytes``,
each ending just after a newline. Shards are made smaller than ``shard_bytes`` when that gives
each worker several of them (see :func:`shard_size`): workers then finish together instead of
one waiting on another's last big shard. Planning reads the file once, sequentially, counting lines,
so every shard knows the line number of its first line and reports name real lines. Gzip
files and ``split_type=None`` files are one shard each; Parquet files are cut between row
groups.

The plan (files, shards, and a fingerprint of the spec and the model) is written to the work
directory before anything is scored. A resumed run reuses it as it is, so shard ids and their
byte ranges stay identical across runs; a different spec, model or input file is refused.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dockyard.api.batch import PARQUET, TransformSpec
from dockyard.errors import Conflict
from dockyard.runtime.batch._config import ShardKind
from dockyard.runtime.batch._formats import check_format
from dockyard.runtime.batch._inputs import InputFile, shown_uri

__all__ = [
    "Plan",
    "Shard",
    "estimate_shards",
    "fingerprint",
    "load_plan",
    "make_plan",
    "save_plan",
    "shard_size",
]

PLAN_VERSION = 1
_SCAN_CHUNK = 1024 * 1024  # larger reads scan no faster; they only hold more memory
_NEWLINE = ord("\n")
_SHARDS_PER_WORKER = 8
_MIN_SHARD_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Shard:
    """One unit of work; its id names its part and marker files in every run."""

    id: str
    file: int
    kind: ShardKind
    start: int
    end: int
    first_line: int
    row_groups: tuple[int, ...]
    nbytes: int


@dataclass(frozen=True, slots=True)
class Plan:
    """Every input file and shard of a transform, fixed when it first runs."""

    fingerprint: str
    files: tuple[InputFile, ...]
    shards: tuple[Shard, ...]

    def shards_of(self, file: int) -> list[Shard]:
        """The shards of one file, in order."""
        return [s for s in self.shards if s.file == file]


def fingerprint(spec: TransformSpec, model_digest: str) -> str:
    """What must not change between a run and its resumption: the spec and the model.

    The worker count is left out: a run may be resumed with more or fewer processes.
    """
    body = spec.model_dump(
        mode="json",
        exclude={"max_concurrent_transforms": True, "input": {"display_uri"}},
    )
    text = json.dumps({"spec": body, "model": model_digest}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def shard_size(spec: TransformSpec, total_bytes: int, workers: int) -> int:
    """The shard size to plan with: ``spec.shard_bytes``, or less to give each worker about
    eight shards (never below 4 MB unless ``spec.shard_bytes`` is)."""
    share = -(-total_bytes // (workers * _SHARDS_PER_WORKER))
    return min(spec.shard_bytes, max(share, _MIN_SHARD_BYTES))


def estimate_shards(files: list[InputFile], spec: TransformSpec, size: int) -> int:
    """About how many shards ``make_plan`` will make (before reading any file)."""
    if spec.input.split_type == "None" or spec.input.compression == "Gzip":
        return len(files)
    return sum(max(1, -(-f.size // size)) for f in files)


def make_plan(
    files: list[InputFile], spec: TransformSpec, digest: str, size: int | None = None
) -> Plan:
    """Plan the shards of ``files`` (all of them local or staged) of about ``size`` bytes
    (default ``spec.shard_bytes``)."""
    shards: list[Shard] = []
    for file in files:
        shards.extend(_file_shards(file, spec, size or spec.shard_bytes))
    return Plan(digest, tuple(files), tuple(shards))


def _file_shards(file: InputFile, spec: TransformSpec, size: int) -> list[Shard]:
    path = Path(str(file.local_path))
    check_format(path, shown_uri(file, spec.input), spec.input)
    whole = spec.input.split_type == "None"
    if spec.input.content_type == PARQUET:
        return _parquet_shards(file, path, size, whole)
    if spec.input.compression == "Gzip":
        return [_shard(file, 0, "gzip", 0, -1, 1, (), file.size)]
    if whole:
        return [_shard(file, 0, "lines", 0, file.size, 1, (), file.size)]
    ranges = _line_ranges(path, file.size, size)
    return [
        _shard(file, number, "lines", start, end, line, (), end - start)
        for number, (start, end, line) in enumerate(ranges)
    ]


def _shard(
    file: InputFile,
    number: int,
    kind: ShardKind,
    start: int,
    end: int,
    first_line: int,
    row_groups: tuple[int, ...],
    nbytes: int,
) -> Shard:
    shard_id = f"{file.index:05d}-{number:05d}"
    return Shard(shard_id, file.index, kind, start, end, first_line, row_groups, nbytes)


def _line_ranges(path: Path, size: int, shard_bytes: int) -> list[tuple[int, int, int]]:
    """``(start, end, first line)`` of each shard: ends fall just after a newline.

    The file is read once into one reused buffer. Newlines are counted by NumPy, a byte
    comparison that runs at memory speed (``bytes.count`` of one byte takes about three times
    as long, and planning waits on it before the first shard is scored).
    """
    ranges: list[tuple[int, int, int]] = []
    shard_start, shard_line = 0, 1
    target = shard_bytes
    position, line = 0, 1
    buffer = bytearray(min(_SCAN_CHUNK, max(size, 1)))
    view = memoryview(buffer)
    flags = np.empty(len(buffer), dtype=np.bool_)
    with path.open("rb", buffering=0) as handle:
        while position < size:
            length = handle.readinto(view[: min(len(buffer), size - position)])
            if not length:
                break
            newlines = np.equal(
                np.frombuffer(buffer, np.uint8, length), _NEWLINE, out=flags[:length]
            )
            offset = 0
            while target < position + length:
                newline = buffer.find(b"\n", max(target - position, offset), length)
                if newline < 0:
                    break  # the boundary's newline is in a later chunk
                line += int(np.count_nonzero(newlines[offset : newline + 1]))
                offset = newline + 1
                cut = position + offset
                if cut < size:
                    ranges.append((shard_start, cut, shard_line))
                    shard_start, shard_line = cut, line
                target = cut + shard_bytes
            line += int(np.count_nonzero(newlines[offset:]))
            position += length
    ranges.append((shard_start, size, shard_line))
    return ranges


def _parquet_shards(file: InputFile, path: Path, shard_bytes: int, whole: bool) -> list[Shard]:
    import pyarrow.parquet as pq

    metadata = pq.ParquetFile(path).metadata
    groups: list[list[int]] = [[]]
    sizes: list[int] = [0]
    for group in range(metadata.num_row_groups):
        compressed = sum(
            metadata.row_group(group).column(c).total_compressed_size
            for c in range(metadata.num_columns)
        )
        if groups[-1] and sizes[-1] >= shard_bytes and not whole:
            groups.append([])
            sizes.append(0)
        groups[-1].append(group)
        sizes[-1] += compressed
    shards = []
    first_row = 1
    for number, (members, compressed) in enumerate(zip(groups, sizes, strict=True)):
        if not members:
            continue
        rows = sum(metadata.row_group(g).num_rows for g in members)
        # Shard sizes add up to the file's size; the footer counts towards the last one.
        nbytes = compressed if number < len(groups) - 1 else file.size - sum(sizes[:-1])
        shards.append(_shard(file, number, "parquet", 0, -1, first_row, tuple(members), nbytes))
        first_row += rows
    return shards


def save_plan(plan: Plan, path: Path) -> None:
    """Write the plan atomically."""
    body = {
        "version": PLAN_VERSION,
        "fingerprint": plan.fingerprint,
        "files": [dataclasses.asdict(f) for f in plan.files],
        "shards": [dataclasses.asdict(s) for s in plan.shards],
    }
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(body, indent=1))
    temporary.replace(path)


def load_plan(path: Path, expected: str, current: list[InputFile]) -> Plan | None:
    """The plan of an earlier run in this work directory, if there is one.

    Raises:
        Conflict: The earlier run had another spec or model, or an input file changed since.
    """
    if not path.is_file():
        return None
    body = json.loads(path.read_text())
    if body.get("version") != PLAN_VERSION or body.get("fingerprint") != expected:
        raise Conflict(
            f"the work directory {path.parent} belongs to a transform with another spec or "
            "model; resume it with the same spec, or use a new work directory"
        )
    files = tuple(InputFile(**f) for f in body["files"])
    previous = {(f.uri, f.size, f.version) for f in files}
    for file in current:
        if (file.uri, file.size, file.version) not in previous:
            raise Conflict(
                f"input {file.uri} changed (or appeared) since this transform started; "
                "its finished shards would not match: use a new work directory",
                details={"uri": file.uri},
            )
    if len(current) != len(files):
        raise Conflict(
            "input files were removed since this transform started: use a new work directory"
        )
    shards = tuple(Shard(**{**s, "row_groups": tuple(s["row_groups"])}) for s in body["shards"])
    return Plan(body["fingerprint"], files, shards)
