"""A worker process: loads the model once, then scores the shards it is sent.

Run as ``python -m dockyard.runtime.batch._worker`` with the interpreter of the model's environment.
It imports only the model runtime (``dockyard.errors``, ``dockyard.models``) and this package's
worker-side modules, so it also runs where Dockyard's server dependencies are not installed.

Protocol: JSON lines. The runner writes ``{"type": "init", "config": ...}`` then ``{"type":
"shard", "task": ...}`` messages on stdin (EOF or ``{"type": "exit"}`` ends the worker). The
worker answers on its original stdout: ``ready`` (or ``fatal``), then per shard ``progress``
messages and one ``done`` or ``failed``; ``free`` before ``done`` says the shard is scored and
the worker takes the next while this one's part and marker are synced
(:mod:`dockyard.runtime.batch._finisher`), a disk's wait that would otherwise idle a core.
Whatever the model prints goes to stderr, which the runner forwards to its log, so it can never
corrupt the protocol.

An ``init`` message with ``fork`` (one ``[stdin, protocol, stderr]`` descriptor triple per
further worker, made by the runner) makes this process worker 0 and the others' parent: it
imports the model's library, forks one worker per triple, which speaks the protocol above on
its own descriptors, then serves as a worker itself, also reporting each sibling's exit as
``{"type": "exited", "worker": i, "code": c}``.

A shard's output is written to its part file, flushed and fsynced, and only then is its marker
written (atomically: temporary file, fsync, rename): a marker always means a complete part.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, NoReturn

import numpy as np

from dockyard.errors import DockyardError, InvalidArgument
from dockyard.models.pyfunc import PyFuncModel, load_model, preload_libraries
from dockyard.runtime.batch._config import PARENT_ENV, ShardTask, WorkerConfig
from dockyard.runtime.batch._csv import CsvCodec
from dockyard.runtime.batch._encode import optional_arrow
from dockyard.runtime.batch._finisher import Finisher
from dockyard.runtime.batch._handlers import HandlerCodec
from dockyard.runtime.batch._jsonl import JsonLinesCodec
from dockyard.runtime.batch._parquet import FrameBatch, ParquetCodec, parquet_batches
from dockyard.runtime.batch._records import Oversized, TextBatch, text_batches
from dockyard.runtime.batch._scoring import BadRecordFound, score
from dockyard.runtime.batch._table import Codec, ModelShape, Table
from dockyard.runtime.batch._workdir import write_atomically

__all__ = ["main", "make_durable", "run_shard", "score_shard"]

_PROGRESS_EVERY_S = 0.25
_log = logging.getLogger("dockyard.runtime.batch.worker")


class ShardFailed(Exception):  # carries the job's error out of the shard loop
    """A bad record under ``on_error=fail``: the job's error, naming file, line and reason."""

    def __init__(self, error: DockyardError) -> None:
        super().__init__(error.message)
        self.error = error


def make_codec(config: WorkerConfig, model: PyFuncModel) -> Codec | HandlerCodec:
    """The codec for the configured content type and the model's signature (or the model's
    own inference handlers, which read the records themselves)."""
    if model.invoke is not None:
        return HandlerCodec(config, model.invoke)
    shape = ModelShape.of(model.metadata.signature)
    if config.content_type == "text/csv":
        return CsvCodec(config, shape)
    if config.content_type == "application/jsonlines":
        return JsonLinesCodec(config, shape)
    return ParquetCodec(config, shape)


class _Shard:
    """Counts, reports and output of one shard being scored."""

    def __init__(self, task: ShardTask, config: WorkerConfig, send: Send) -> None:
        self.task = task
        self.config = config
        self.send = send
        self.records = 0
        self.bad = 0
        self.reported: list[dict[str, Any]] = []
        self.pending_records = 0
        self.pending_bytes = 0
        self.pending_bad = 0
        self.last_sent = time.monotonic()

    def fail(self, line: int, reason: str) -> NoReturn:
        """End the shard (and the job) at this bad record: ``on_error=fail``."""
        unit = "row" if self.task.kind == "parquet" else "line"
        raise ShardFailed(
            InvalidArgument(
                f"bad record in {self.task.named} {unit} {line}: {reason}",
                details={"uri": self.task.named, "line": line, "reason": reason},
            )
        )

    def bad_record(self, line: int, reason: str) -> None:
        """Count and report a bad record, or fail under ``on_error=fail``."""
        if self.config.fail_fast:
            self.fail(line, reason)
        self.bad += 1
        self.pending_bad += 1
        if len(self.reported) < self.config.max_reported:
            self.reported.append({"line": line, "reason": reason})

    def progress(self, records: int, nbytes: int, *, force: bool = False) -> None:
        self.pending_records += records
        self.pending_bytes += nbytes
        now = time.monotonic()
        if force or now - self.last_sent >= _PROGRESS_EVERY_S:
            self.send(
                {
                    "type": "progress",
                    "shard": self.task.shard_id,
                    "records": self.pending_records,
                    "bytes": self.pending_bytes,
                    "bad_records": self.pending_bad,
                }
            )
            self.pending_records = self.pending_bytes = self.pending_bad = 0
            self.last_sent = now


Send = Callable[[dict[str, Any]], None]


def run_shard(
    task: ShardTask,
    config: WorkerConfig,
    model: PyFuncModel,
    codec: Codec | HandlerCodec,
    send: Send,
) -> dict[str, Any]:
    """Score one shard into its part file, then write its marker; return the marker's content.

    Raises:
        ShardFailed: A bad record under ``on_error=fail``.
        DockyardError: The model or the input is unusable as a whole (not one record).
    """
    marker = score_shard(task, config, model, codec, send)
    make_durable(task, marker)
    return marker


def score_shard(
    task: ShardTask,
    config: WorkerConfig,
    model: PyFuncModel,
    codec: Codec | HandlerCodec,
    send: Send,
) -> dict[str, Any]:
    """Score one shard into its part file (written, not yet synced); return what its marker
    will say once :func:`make_durable` has made both durable.

    Raises:
        ShardFailed: A bad record under ``on_error=fail``.
        DockyardError: The model or the input is unusable as a whole (not one record).
    """
    shard = _Shard(task, config, send)
    if isinstance(codec, ParquetCodec):
        batches: Any = parquet_batches(task, config)
    else:
        header = 0
        if isinstance(codec, CsvCodec) and task.start == 0:
            head = codec.head(task)
            header = head.length
            if head.problem is not None:
                shard.bad_record(task.first_line, head.problem)
        batches = text_batches(task, config, header)
    part = Path(task.part_path)
    with part.open("wb") as out:
        for item in batches:
            if isinstance(item, Oversized):
                limit = config.max_record_bytes
                shard.bad_record(
                    item.line,
                    f"the record is {item.size} bytes, over max_payload_mb ({limit} bytes)",
                )
                shard.progress(1, item.nbytes)
                continue
            if isinstance(codec, HandlerCodec):
                written, scored = codec.score(item, shard.bad_record)
                shard.records += scored
                out.write(written)
            else:
                out.write(_score_batch(item, task, model, codec, shard))
            shard.progress(item.count if not item.whole else 1, item.nbytes)
        out.flush()
        size = out.tell()
    shard.progress(0, 0, force=True)
    return {
        "shard": task.shard_id,
        "records": shard.records,
        "bad_records": shard.bad,
        "reported": shard.reported,
        "bytes_in": task.nbytes,
        "bytes_out": size,
    }


def make_durable(task: ShardTask, marker: dict[str, Any]) -> None:
    """Sync the shard's part, then write its marker: a marker always means a complete part."""
    part = os.open(task.part_path, os.O_RDONLY)
    try:
        os.fsync(part)  # the file's data, whichever descriptor wrote it
    finally:
        os.close(part)
    write_atomically(Path(task.marker_path), json.dumps(marker).encode())


def _score_batch(
    batch: TextBatch | FrameBatch, task: ShardTask, model: PyFuncModel, codec: Codec, shard: _Shard
) -> bytes:
    """The batch's output bytes (each record's output followed by the separator)."""
    table = codec.decode(batch, task)
    if batch.whole:
        return _score_whole(batch, table, model, codec, shard)
    if table.bad and shard.config.fail_fast:
        _fail_at_first(batch, table, model, shard)
    for index in sorted(table.bad):
        shard.bad_record(batch.line(index), table.bad[index])
    try:
        scored = score(model.predict, table, atomic=False, fail_fast=shard.config.fail_fast)
    except BadRecordFound as found:  # only raised under fail_fast
        shard.fail(batch.line(int(table.rows[found.position])), found.reason)
    if not scored.bad and len(scored.groups) == 1 and len(scored.groups[0][0]) == table.size:
        block = codec.encode_block(table, scored.groups[0][1])
        if block is not None:  # every row scored, formatted in one vectorised pass
            shard.records += table.size
            return block
    failures = {int(table.rows[p]): why for p, why in scored.bad.items()}
    texts: list[str] = []
    for positions, predictions in scored.groups:
        outputs, refused = codec.encode(table, positions, predictions)
        for offset, why in refused.items():
            failures[int(table.rows[positions[offset]])] = why
        texts.extend(outputs)
    for index in sorted(failures):
        shard.bad_record(batch.line(index), failures[index])
    shard.records += len(texts)
    return _joined(texts, shard.config.separator)


def _fail_at_first(
    batch: TextBatch | FrameBatch, table: Table, model: PyFuncModel, shard: _Shard
) -> NoReturn:
    """Fail at the batch's first bad record: one the model refuses may come before the first
    one decoding refused (an empty field reads as a missing value the model may not take)."""
    first = min(table.bad)
    earlier = np.flatnonzero(table.rows < first)
    if len(earlier):
        subset = Table(table.rows[earlier], {}, lambda p: table.select(earlier[p]))
        try:
            score(model.predict, subset, atomic=False, fail_fast=True)
        except BadRecordFound as found:
            shard.fail(batch.line(int(subset.rows[found.position])), found.reason)
    shard.fail(batch.line(first), table.bad[first])


def _score_whole(
    batch: TextBatch | FrameBatch, table: Table, model: PyFuncModel, codec: Codec, shard: _Shard
) -> bytes:
    """A whole file as one record: any row that fails makes the record bad."""
    if table.bad:
        first = min(table.bad)
        shard.bad_record(batch.line(0), f"line {batch.line(first)}: {table.bad[first]}")
        return b""
    scored = score(model.predict, table, atomic=True, fail_fast=False)
    if scored.bad:
        shard.bad_record(batch.line(0), next(iter(scored.bad.values())))
        return b""
    texts: list[str] = []
    for positions, predictions in scored.groups:
        outputs, refused = codec.encode(table, positions, predictions)
        if refused:
            shard.bad_record(batch.line(0), next(iter(refused.values())))
            return b""
        texts.extend(outputs)
    shard.records += 1
    return _joined(["\n".join(texts)], shard.config.separator)


def _joined(texts: list[str], separator: str) -> bytes:
    return (separator.join(texts) + separator).encode("utf-8") if texts else b""


def _protocol_stream() -> IO[bytes]:
    """Keep the real stdout for the protocol; point fd 1 (and ``print``) at stderr."""
    protocol = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return protocol


def _die_with_parent(parent: int | None) -> None:
    """Ask Linux to kill this process when its parent dies, so no orphan keeps writing parts."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    except (OSError, AttributeError):  # not Linux: the runner's lock still fences orphans
        return
    if parent is not None and os.getppid() != parent:
        os._exit(1)  # the parent died before the request took effect


def _sender(protocol: IO[bytes]) -> Send:
    lock = threading.Lock()  # a forking worker also reports its siblings' exits

    def send(message: dict[str, Any]) -> None:
        data = json.dumps(message).encode() + b"\n"
        with lock:
            protocol.write(data)

    return send


def main() -> int:
    """The worker's entry point; returns the process exit code."""
    before = frozenset(sys.modules)
    protocol = _protocol_stream()
    parent = os.environ.get(PARENT_ENV)
    _die_with_parent(int(parent) if parent is not None else None)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    first = sys.stdin.buffer.readline()
    if not first:
        return 0
    init = json.loads(first)
    config = WorkerConfig.from_dict(init["config"])
    send = _sender(protocol)
    channels = init.get("fork")
    _preload(config)  # once, before any fork: the siblings inherit the imported modules
    if channels:
        _fork_siblings(config, [tuple(c) for c in channels], protocol, send)
    return _serve(config, sys.stdin.buffer, send, before)


def _fork_siblings(
    config: WorkerConfig, channels: list[tuple[int, ...]], protocol: IO[bytes], send: Send
) -> None:
    """Fork one more worker per channel (the model's library is already imported).

    Each channel is the ``(stdin, protocol, stderr)`` descriptors the runner made for one
    sibling (workers 1, 2...; this process is worker 0). The siblings share the imported
    modules' memory (copy on write, kept clean by freezing the collector's view of them) and
    start without importing anything. Every worker loads the model itself, after the fork.
    A thread reports each sibling's exit on this worker's protocol stream.

    Frozen without a collection first: a collection here took ~5 ms, on the way to every
    worker's first shard, and the little garbage it would free lives as long as this worker.
    Frozen, no garbage of this process's (a file object whose descriptor a sibling closes) is
    ever collected in a sibling either.
    """
    gc.freeze()
    sys.stderr.flush()
    me = os.getpid()
    children: dict[int, int] = {}
    for index in range(len(channels)):
        pid = os.fork()
        if pid == 0:
            os._exit(_forked(config, channels, index, protocol, me))
        children[pid] = index + 1
    for channel in channels:
        for fd in channel:
            os.close(fd)

    def reap() -> None:
        while children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                return
            if pid in children:
                code = os.waitstatus_to_exitcode(status)
                send({"type": "exited", "worker": children.pop(pid), "code": code})

    threading.Thread(target=reap, name="batch-reaper", daemon=True).start()


def _forked(
    config: WorkerConfig,
    channels: list[tuple[int, ...]],
    index: int,
    protocol: IO[bytes],
    parent: int,
) -> int:
    """In a forked worker: take over this worker's descriptors, then serve shards."""
    stdin, output, errors = channels[index]
    code = 1
    try:
        os.dup2(errors, 2)
        os.dup2(errors, 1)
        protocol.close()  # the forking process's own: its end must close when it does
        keep = {stdin, output}
        for fd in {fd for channel in channels for fd in channel} - keep:
            os.close(fd)
        os.close(0)
        _die_with_parent(parent)
        with os.fdopen(stdin, "rb") as reader, os.fdopen(output, "wb", buffering=0) as out:
            code = _serve(config, reader, _sender(out))
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stderr.flush()
    return code


def _preload(config: WorkerConfig) -> None:
    """Import the model's library as a process that runs only this model may, and Arrow's
    CSV reader and compute functions (~35 MB) when installed, so forked workers share them."""
    try:
        preload_libraries(config.model_path, dedicated=True)
    except Exception as exc:  # the worker's own load reports the problem properly
        _log.info("not preloading the model's library: %s", exc)
    if optional_arrow() is not None:
        import pyarrow.compute
        import pyarrow.csv  # noqa: F401


def _serve(
    config: WorkerConfig, reader: IO[bytes], send: Send, before: frozenset[str] | None = None
) -> int:
    """Load the model, say ``ready``, then score every shard sent until the input ends.

    With ``before`` (the modules loaded when the worker began), ``ready`` also lists the
    modules loading the model imported, which a warm process may learn to preload.
    """
    try:
        model = load_model(config.model_path, expected_digest=config.model_digest)
        codec = make_codec(config, model)
    except DockyardError as exc:
        send({"type": "fatal", "error": exc.to_dict()})
        return 1
    import dockyard

    send(
        {
            "type": "ready",
            "pid": os.getpid(),
            "dockyard": dockyard.__file__,
            "python": sys.executable,
            **({} if before is None else {"imported": sorted(set(sys.modules) - before)}),
        }
    )
    finisher = Finisher(make_durable, send)
    try:
        for line in reader:
            message = json.loads(line)
            if message.get("type") != "shard":
                break
            task = ShardTask.from_dict(message["task"])
            try:
                marker = score_shard(task, config, model, codec, send)
            except ShardFailed as failed:
                send({"type": "failed", "shard": task.shard_id, "error": failed.error.to_dict()})
            except DockyardError as exc:
                send({"type": "failed", "shard": task.shard_id, "error": exc.to_dict()})
            except Exception as exc:  # a defect: reported with its traceback rather than lost
                _log.error("%s", traceback.format_exc())
                error = DockyardError(f"scoring {task.named} failed: {type(exc).__name__}: {exc}")
                send({"type": "failed", "shard": task.shard_id, "error": error.to_dict()})
            else:
                # The next shard is scored while this one is synced; ``done`` follows.
                send({"type": "free", "shard": task.shard_id})
                finisher.submit(task, marker)
    finally:
        finisher.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
