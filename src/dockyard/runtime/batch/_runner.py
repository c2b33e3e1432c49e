"""``run_transform``: plan, score shards in parallel worker processes, publish, resume.

The runner is the only process that talks to the output store and the plan; workers only read
inputs and write their own part and marker files. It stays small (no pandas, no model): the
memory goes to the workers. The exception is a tiny transform (one shard of at most
:data:`IN_PROCESS_MAX_BYTES`) whose caller allows it (``in_process``): starting a worker would
take most of its time, so the runner scores it itself, with the host's interpreter.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from dockyard.api.batch import DEFAULT_MAX_PAYLOAD_MB, TransformSpec, parse_spec
from dockyard.artifacts import ArtifactStore
from dockyard.artifacts.roots import AllowedRoots
from dockyard.errors import DockyardError, NotFound, error_from_dict
from dockyard.runtime.batch._cluster import RayPool, RayShards
from dockyard.runtime.batch._config import MB, ShardTask, WorkerConfig
from dockyard.runtime.batch._env import EnvManager, prepare_runtime
from dockyard.runtime.batch._fork import can_fork
from dockyard.runtime.batch._inputs import (
    InputFile,
    fetch_model,
    list_inputs,
    open_output,
    shown_uri,
    stage,
)
from dockyard.runtime.batch._plan import (
    Plan,
    Shard,
    estimate_shards,
    fingerprint,
    load_plan,
    make_plan,
    save_plan,
    shard_size,
)
from dockyard.runtime.batch._pool import Event, WorkerPool
from dockyard.runtime.batch._progress import Meter, Progress
from dockyard.runtime.batch._publisher import Publisher, complete
from dockyard.runtime.batch._result import TransformResult
from dockyard.runtime.batch._workdir import WorkDir, write_atomically

__all__ = ["run_transform"]

_log = logging.getLogger("dockyard.runtime.batch")
_T = TypeVar("_T")
_TICK_S = 0.1
#: The largest input scored in the runner's own process (when the caller allows it).
IN_PROCESS_MAX_BYTES = 1024 * 1024
_PROGRESS_EVERY_S = 1.0


def run_transform(
    spec: TransformSpec | Mapping[str, Any],
    work_dir: str | os.PathLike[str],
    *,
    progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    s3_endpoint_url: str | None = None,
    env_manager: EnvManager = "auto",
    allowed_roots: AllowedRoots | None = None,
    worker_env: Mapping[str, str] | None = None,
    in_process: bool = False,
    on_imported: Callable[[list[str]], None] | None = None,
    cluster: RayShards | None = None,
    model_label: str | None = None,
) -> TransformResult:
    """Score every input file through the model, or resume a transform that did not finish.

    Args:
        spec: The transform (a :class:`TransformSpec`, or a mapping validated as one).
        work_dir: A folder private to this transform, kept between attempts: running again with
            the same folder resumes (finished shards are not redone) or, once complete, returns
            the same result without doing anything.
        progress: Called with a :class:`Progress` at least once a second, and once at the end.
        should_stop: Polled ten times a second; when it returns ``True`` the workers are killed
            and the result says ``Stopped``. Nothing half-written is published.
        s3_endpoint_url: The S3-compatible endpoint for ``s3://`` URIs (``None``: AWS).
        env_manager: ``auto``: the model's own environment when its requirements differ from
            the host's; ``local``: always the host's interpreter; ``virtualenv``: always the
            model's own environment.
        allowed_roots: When given (a transform job passes the server's), local inputs and the
            local output folder must resolve inside these roots, and a link under the input
            folder is followed only when its target does too.
        worker_env: The environment workers start from (default: this process's). A transform
            job passes its own without the store's credentials: the model's code runs there.
        in_process: Score a transform of one small shard (at most
            :data:`IN_PROCESS_MAX_BYTES`) in this process rather than in a worker, and fork
            the workers of a larger one from this process rather than start new interpreters,
            when the host's interpreter serves the model. Only where the model's code may see
            everything this process holds (a job allows it when it holds no store
            credentials).
        on_imported: Called with the modules the workers imported to load the model, when
            they ran the host's interpreter (a warm process may learn to preload them).
        cluster: Score the shards as tasks on this Ray cluster's nodes rather than in local
            worker processes, when input and output are both on S3 and the model runs with the
            host's interpreter (see :mod:`dockyard.runtime.batch._cluster`); otherwise ignored.
        model_label: The model URI the manifest records (default: ``spec.model_uri``): a
            transform job scores a local copy, and records the URI its user gave.

    Returns:
        The :class:`TransformResult`.

    Raises:
        InvalidArgument: A bad spec, a bad record under ``on_error=fail`` (naming file, line and
            reason), an empty input file, or a model that cannot be loaded.
        NotFound: The model, an input, or any file under an input folder or prefix is missing.
        Conflict: The work directory belongs to another spec, model or input, or is in use.
        ModelError: The model returned a different number of predictions than records.
        Unavailable: Storage could not be reached.
    """
    checked = spec if isinstance(spec, TransformSpec) else parse_spec(spec)
    work = WorkDir(Path(work_dir).expanduser().resolve())  # workers run elsewhere: absolute
    with work.locked() as lock_fd:
        run = _Run(
            checked,
            work,
            progress,
            should_stop,
            s3_endpoint_url,
            env_manager,
            lock_fd,
            allowed_roots,
            worker_env,
            in_process,
            cluster,
            model_label,
        )
        result = run.execute()
    if on_imported is not None and run.worker_modules:
        on_imported(sorted(run.worker_modules))
    return result


class _Run:
    def __init__(
        self,
        spec: TransformSpec,
        work: WorkDir,
        progress: Callable[[Progress], None] | None,
        should_stop: Callable[[], bool] | None,
        endpoint: str | None,
        env_manager: EnvManager,
        lock_fd: int,
        roots: AllowedRoots | None,
        worker_env: Mapping[str, str] | None,
        in_process: bool = False,
        cluster: RayShards | None = None,
        model_label: str | None = None,
    ) -> None:
        self.spec = spec
        self.work = work
        self.report = progress
        self.should_stop = should_stop or (lambda: False)
        self.endpoint = endpoint
        self.env_manager = env_manager
        self.lock_fd = lock_fd
        self.roots = roots
        self.worker_env = worker_env
        self.in_process = in_process
        self.started = time.monotonic()
        self.last_report = 0.0
        self.worker_python: str | None = None
        self.pool: WorkerPool | RayPool | None = None
        self.cluster = cluster
        self.worker_modules: set[str] = set()  # what the host's workers imported
        self.model_label = model_label or spec.model_uri

    def execute(self) -> TransformResult:
        spec, work = self.spec, self.work
        self.model_dir = fetch_model(spec.model_uri, work.root, s3_endpoint_url=self.endpoint)
        self.digest = _package_digest(self.model_dir)
        current = list_inputs(
            spec.input.uri,
            s3_endpoint_url=self.endpoint,
            roots=self.roots,
            display_uri=spec.input.display_uri,
        )
        self.store: ArtifactStore = open_output(
            spec.output.uri, spec.input.uri, s3_endpoint_url=self.endpoint, roots=self.roots
        )
        key = fingerprint(spec, self.digest)
        plan = load_plan(work.plan, key, current)
        if plan is not None and work.result.is_file():
            _log.info("transform already complete in %s", work.root)
            return TransformResult.from_dict(json.loads(work.result.read_text()))
        # Until the plan exists, progress counts input bytes (downloads and planning take time).
        self.meter = Meter(sum(f.size for f in current), len(current), 0)
        if self.cluster is not None and not self._spreads():
            self.cluster = None
        wanted = spec.max_concurrent_transforms or self._cpus()
        try:
            if plan is None:
                size = shard_size(spec, self.meter.bytes_total, wanted)
                # Workers take seconds to import their libraries: they do it while the plan is
                # made (which reads every input once).
                estimated = estimate_shards(current, spec, size)
                if not self._scores_in_process(estimated):
                    self._start_pool(min(wanted, estimated))
                plan = self._waiting(lambda: self._new_plan(current, key, size))
            return self._resume(plan, wanted)
        finally:
            if self.pool is not None:
                self.pool.close(kill=True)  # returns at once if they are gone
            # The copy of the code started workers import (about a megabyte; made again if the
            # transform resumes): job folders stay after their jobs, and would keep one each.
            shutil.rmtree(work.root / "runtime", ignore_errors=True)

    def _spreads(self) -> bool:
        """Whether the shards can run on the cluster's nodes (see ``_cluster``)."""
        assert self.cluster is not None
        if not self.cluster.applies(self.spec.input.uri, self.spec.output.uri):
            return False
        if self.env_manager == "auto":
            from dockyard.runtime.batch._env import requirement_mismatches

            return not requirement_mismatches(self.model_dir)
        return self.env_manager == "local"

    def _cpus(self) -> int:
        if self.cluster is not None:
            return len(self.cluster.slots()) or 1
        return os.cpu_count() or 1

    def _resume(self, plan: Plan, wanted: int) -> TransformResult:
        work = self.work
        self.plan = plan
        self.done = work.done()
        published = work.published()
        for shard in plan.shards:  # a marker is only trusted with its part (or once published)
            trusted = shard.file in published or work.part(shard.id).is_file()
            if shard.id in self.done and not trusted:
                work.forget(shard.id)
                del self.done[shard.id]
        self.reused = len(self.done)
        self.meter = self._meter(len(published))
        pending = [s for s in plan.shards if s.id not in self.done]
        _log.info(
            "transform: %d files, %d shards (%d finished earlier), %d bytes",
            len(plan.files),
            len(plan.shards),
            self.reused,
            self.meter.bytes_total,
        )
        self.publisher = Publisher(self.store, work, plan, published)
        try:
            for file in plan.files:
                self.publisher.submit_if_complete(file.index, self.done)
            stopped = False
            if pending and self.pool is None and self._scores_in_process(len(pending)):
                stopped = self._score_in_process(pending[0])
            elif pending:
                if self.pool is None:
                    self._start_pool(min(wanted, len(pending)))
                stopped = self._drive(pending)
            self._wait_publishing()
        finally:
            self.publisher.shutdown()
        result = complete(
            spec=self.spec,
            model_label=self.model_label,
            plan=plan,
            store=self.store,
            digest=self.digest,
            done=self.done,
            published=published,
            stopped=stopped,
            bytes_in=self.meter.bytes_done,
            shards_reused=self.reused,
            elapsed_s=time.monotonic() - self.started,
            worker_python=self.worker_python,
        )
        if not stopped:
            write_atomically(work.result, json.dumps(result.to_dict()).encode())
        self._emit(force=True)
        _log.info(
            "transform %s: %d records, %d bad, %.1f s",
            result.status.lower(),
            result.records,
            result.bad_records,
            result.elapsed_s,
        )
        return result

    def _new_plan(self, files: list[InputFile], key: str, size: int) -> Plan:
        staged = [stage(f, self.work.staged, s3_endpoint_url=self.endpoint) for f in files]
        plan = make_plan(staged, self.spec, key, size)
        save_plan(plan, self.work.plan)
        return plan

    def _waiting(self, work: Callable[[], _T]) -> _T:
        """Run ``work`` in a thread, still reporting progress every second until it returns."""
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch-wait") as executor:
            future = executor.submit(work)
            while True:
                try:
                    return future.result(timeout=_TICK_S)
                except TimeoutError:
                    self._emit()

    def _meter(self, files_done: int) -> Meter:
        plan = self.plan
        meter = Meter(sum(s.nbytes for s in plan.shards), len(plan.files), len(plan.shards))
        for shard in plan.shards:
            marker = self.done.get(shard.id)
            if marker is not None:
                meter.add(marker["records"] + marker["bad_records"], shard.nbytes)
                meter.bad_records += marker["bad_records"]
                meter.shards_done += 1
        meter.files_done = files_done
        meter.restart_clock()
        return meter

    def _emit(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if self.report is not None and (force or now - self.last_report >= _PROGRESS_EVERY_S):
            self.last_report = now
            self.report(self.meter.snapshot())

    def _config(self) -> WorkerConfig:
        spec = self.spec
        payload = spec.max_payload_mb
        processing = spec.data_processing
        return WorkerConfig(
            model_path=str(self.model_dir),
            content_type=spec.input.content_type,
            accept=spec.accept,
            whole_file=spec.input.split_type == "None",
            single_record=spec.batch_strategy == "SingleRecord",
            batch_bytes=(payload or DEFAULT_MAX_PAYLOAD_MB) * MB,
            max_record_bytes=payload * MB if payload else None,
            input_filter=processing.input_filter,
            output_filter=processing.output_filter,
            join=processing.join_source == "Input",
            assemble_line=spec.output.assemble_with == "Line",
            fail_fast=spec.bad_records.on_error == "fail",
            max_reported=spec.bad_records.max_reported,
            model_digest=self.digest,
        )

    def _start_pool(self, count: int) -> None:
        if self.cluster is not None:
            self.worker_python = f"Ray cluster at {self.cluster.address}"
            self.pool = self.cluster.pool(
                self._config(),
                self.model_dir,
                count,
                output_uri=self.spec.output.uri,
                endpoint=self.endpoint,
            )
            self.pool.start()
            return
        # Workers forked from this process run this process's code: no runtime copy for them.
        fork = self.in_process and can_fork()
        runtime = self._waiting(
            lambda: prepare_runtime(self.model_dir, self.work.root, self.env_manager, copy=not fork)
        )
        self.worker_python = runtime.python
        _log.info("starting %d workers with %s (%s)", count, runtime.python, runtime.reason)
        self.pool = WorkerPool(
            runtime,
            self._config(),
            max(1, count),
            # Python puts the working directory first on sys.path: the runtime copy holds only
            # the dockyard package, so nothing else there can shadow a module.
            cwd=runtime.path,
            cpus=os.cpu_count() or 1,
            keep_fds=(self.lock_fd,),
            base_env=self.worker_env,
            fork=self.in_process,
        )
        self.pool.start()

    def _task(self, shard: Shard) -> ShardTask:
        file = self.plan.files[shard.file]
        if file.key is not None and not Path(str(file.local_path)).is_file():
            # An s3:// input whose staged copy is gone (a new machine, a cleaned disk).
            file = stage(file, self.work.staged, s3_endpoint_url=self.endpoint)
        return ShardTask(
            shard_id=shard.id,
            uri=file.uri,
            shown=shown_uri(file, self.spec.input),
            path=str(file.local_path),
            kind=shard.kind,
            start=shard.start,
            end=shard.end,
            first_line=shard.first_line,
            row_groups=shard.row_groups,
            part_path=str(self.work.part(shard.id)),
            marker_path=str(self.work.marker(shard.id)),
            nbytes=shard.nbytes,
        )

    def _drive(self, pending: list[Shard]) -> bool:
        """Feed shards to idle workers until all are done; ``True`` if stopped."""
        pool = self.pool
        assert pool is not None
        queue = collections.deque(pending)
        state = _Dispatch({s.id: s for s in pending})
        self._emit(force=True)
        while queue or state.running:
            if state.failure is not None:
                # Only shards before the failed one can hold an earlier bad record: the rest
                # are neither started nor waited for (the caller kills the workers).
                cutoff = state.failure[0]
                queue = collections.deque(s for s in queue if state.order[s.id] < cutoff)
                if not queue and all(state.order[s] > cutoff for s in state.running):
                    break
            if self.should_stop():
                left = len(queue) + len(state.running)
                _log.info("stop requested: %d shards left for a resumed run", left)
                pool.close(kill=True)
                return True
            while state.idle and queue:
                worker, shard = state.idle.pop(), queue.popleft()
                state.running[shard.id] = worker
                pool.send(worker, {"type": "shard", "task": self._task(shard).to_dict()})
            event = pool.next_event(_TICK_S)
            if event is not None:
                self._handle(event, state)
            self.meter.files_done += self.publisher.poll()
            self._emit()
        if state.failure is not None:
            raise error_from_dict(state.failure[1])
        # Every marker is written and synced: idle workers have nothing left to lose, and a
        # graceful interpreter exit (seconds with large libraries loaded) would only add latency.
        # Their end is waited for once the outputs are published (``execute``).
        pool.close(kill=True, wait=False)
        return False

    def _scores_in_process(self, shards: int) -> bool:
        if not self.in_process or shards != 1 or self.meter.bytes_total > IN_PROCESS_MAX_BYTES:
            return False
        if self.env_manager == "auto":
            from dockyard.runtime.batch._env import requirement_mismatches

            return not requirement_mismatches(self.model_dir)
        return self.env_manager == "local"

    def _score_in_process(self, shard: Shard) -> bool:
        """Score ``shard`` here, as a worker would (the same events, the same errors);
        ``True`` if a stop came first."""
        from dockyard.models.pyfunc import load_model, preload_libraries
        from dockyard.runtime.batch._worker import ShardFailed, make_codec, run_shard

        if self.should_stop():
            return True
        _log.info("scoring the only shard in this process")
        self.worker_python = sys.executable
        config = self._config()
        state = _Dispatch({shard.id: shard})
        state.running[shard.id] = 0
        self._emit(force=True)
        # As a worker does: this process loads no other model, so the library's optional
        # integrations this package does not use may be left out.
        with contextlib.suppress(Exception):  # the load below reports the problem properly
            preload_libraries(config.model_path, dedicated=True)
        model = load_model(config.model_path, expected_digest=config.model_digest)
        codec = make_codec(config, model)
        task = self._task(shard)
        try:
            marker = run_shard(
                task, config, model, codec, lambda m: self._handle(Event(0, m), state)
            )
        except ShardFailed as failed:
            raise failed.error from None
        except DockyardError:
            raise
        except Exception as exc:  # what a worker reports for a defect
            raise DockyardError(
                f"scoring {task.named} failed: {type(exc).__name__}: {exc}"
            ) from exc
        self._handle(Event(0, {"type": "done", "shard": shard.id, "marker": marker}), state)
        return False

    def _handle(self, event: Event, state: _Dispatch) -> None:
        message = event.message
        if event.type == "ready":
            state.idle.append(event.worker)
            if self.worker_python == sys.executable:
                self.worker_modules.update(message.get("imported") or ())
            _log.info(
                "worker %d ready (pid %s, python %s, dockyard from %s)",
                event.worker,
                message.get("pid"),
                message.get("python"),
                message.get("dockyard"),
            )
        elif event.type == "progress":
            counts = state.partial[message["shard"]]
            counts[0] += message["records"]
            counts[1] += message["bytes"]
            counts[2] += message["bad_records"]
            self.meter.add(message["records"], message["bytes"], message["bad_records"])
        elif event.type == "done":
            shard = state.shards[message["shard"]]
            marker = message["marker"]
            seen = state.partial.pop(shard.id, [0, 0, 0])
            # The marker's totals are exact; progress messages may have lagged behind them.
            self.meter.add(
                marker["records"] + marker["bad_records"] - seen[0],
                shard.nbytes - seen[1],
                marker["bad_records"] - seen[2],
            )
            self.meter.shards_done += 1
            self.done[shard.id] = marker
            state.running.pop(shard.id, None)
            if shard.id in state.freed:  # the worker took another shard meanwhile
                state.freed.discard(shard.id)
            else:
                state.idle.append(event.worker)
            self.publisher.submit_if_complete(shard.file, self.done)
        elif event.type == "free":  # scored, being synced: the worker can take the next one
            state.freed.add(message["shard"])
            state.idle.append(event.worker)
        elif event.type == "failed" and message.get("shard") in state.order:
            # Shards fail in whatever order the workers reach them; the job reports the first
            # failing shard in input order, so the same input always names the same record.
            shard_id = message["shard"]
            order = state.order[shard_id]
            if state.failure is None or order < state.failure[0]:
                state.failure = (order, message["error"])
            if state.running.pop(shard_id, None) is not None:
                state.idle.append(event.worker)
        elif event.type in ("failed", "fatal"):
            raise error_from_dict(message["error"])
        elif event.type == "exit":
            held = sorted(s for s, w in state.running.items() if w == event.worker)
            doing = f" while scoring shard {', '.join(held)}" if held else ""
            tail = self.pool.stderr_tail(event.worker) if self.pool is not None else ""
            raise DockyardError(
                f"worker {event.worker} exited with code {message.get('code')}{doing}: "
                f"{tail[-2000:] or 'no output'}"
            )

    def _wait_publishing(self) -> None:
        while self.publisher.busy:
            self.publisher.wait(_TICK_S)
            self.meter.files_done += self.publisher.poll()
            self._emit()


class _Dispatch:
    """Which worker scores which shard, and progress counted for shards not yet done."""

    def __init__(self, shards: dict[str, Shard]) -> None:
        self.shards = shards
        # Input order: by file, then by position in it (ids sort so only up to 99,999 of each).
        ordered = sorted(shards.values(), key=lambda s: (s.file, s.first_line))
        self.order = {shard.id: index for index, shard in enumerate(ordered)}
        self.failure: tuple[int, dict[str, Any]] | None = None  # the first failing shard's
        self.running: dict[str, int] = {}  # shard -> worker, until the shard is done
        self.freed: set[str] = set()  # shards scored and being synced (their worker is idle)
        self.idle: list[int] = []
        self.partial: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0, 0])


def _package_digest(model_dir: Path) -> str:
    """The package digest (``sha256:`` of its manifest), read without loading the model."""
    manifest = model_dir / "MLmodel"
    if not manifest.is_file():
        raise NotFound(f"no model package at {model_dir} (no MLmodel file)", field="model_uri")
    return "sha256:" + hashlib.sha256(manifest.read_bytes()).hexdigest()
