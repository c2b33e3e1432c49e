"""Publishing finished files in the background, and the job's result and manifest at the end.

A file is published as soon as its last shard is done, by one background thread, so the runner
keeps dispatching shards and reporting progress while outputs upload. Each publication is
recorded in the work directory; a resumed run publishes only what is not recorded yet.
"""

from __future__ import annotations

import logging
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from dockyard.api.batch import TransformSpec
from dockyard.artifacts import ArtifactStore
from dockyard.runtime.batch._assemble import MANIFEST, manifest_body, output_uri, publish
from dockyard.runtime.batch._plan import Plan, Shard
from dockyard.runtime.batch._result import BadRecord, FileReport, TransformResult
from dockyard.runtime.batch._workdir import WorkDir

__all__ = ["Publisher", "complete"]

_log = logging.getLogger("dockyard.runtime.batch")


class Publisher:
    """Publishes each input file's output once all its shards are done."""

    def __init__(
        self, store: ArtifactStore, work: WorkDir, plan: Plan, published: dict[int, dict[str, Any]]
    ) -> None:
        self.store = store
        self.work = work
        self.plan = plan
        self.published = published
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch-publish")
        self._running: dict[int, Future[dict[str, Any]]] = {}

    @property
    def busy(self) -> bool:
        """Whether a publication is queued or running."""
        return bool(self._running)

    def submit_if_complete(self, file: int, done: dict[str, dict[str, Any]]) -> None:
        """Queue ``file`` for publication if every shard of it is done (and it is not yet)."""
        if file in self.published or file in self._running:
            return
        shards = self.plan.shards_of(file)
        if all(s.id in done for s in shards):
            markers = [done[s.id] for s in shards]
            self._running[file] = self._executor.submit(self._publish, file, shards, markers)

    def poll(self) -> int:
        """Collect finished publications; return how many. Re-raises a failed upload."""
        finished = 0
        for file, future in list(self._running.items()):
            if future.done():
                del self._running[file]
                self.published[file] = future.result()
                finished += 1
        return finished

    def wait(self, timeout: float) -> None:
        """Return once a publication finishes, or after ``timeout`` seconds."""
        if self._running:
            wait(list(self._running.values()), timeout=timeout, return_when=FIRST_COMPLETED)

    def shutdown(self) -> None:
        """Wait for a running publication (it is atomic either way) and drop queued ones."""
        self._executor.shutdown(wait=True, cancel_futures=True)

    def _publish(
        self, index: int, shards: list[Shard], markers: list[dict[str, Any]]
    ) -> dict[str, Any]:
        file = self.plan.files[index]
        key = f"{file.name}.out"
        digest, size = publish(self.store, key, [self.work.part(s.id) for s in shards])
        body = {
            "key": key,
            "sha256": digest,
            "bytes_out": size,
            "records": sum(m["records"] for m in markers),
            "bad_records": sum(m["bad_records"] for m in markers),
        }
        self.work.mark_published(index, body)
        for shard in shards:  # published: the parts are no longer needed
            self.work.part(shard.id).unlink(missing_ok=True)
        if file.key is not None and file.local_path is not None:
            Path(file.local_path).unlink(missing_ok=True)  # a staged copy of an s3:// input
        _log.info("published %s (%d records, %d bytes)", key, body["records"], size)
        return body


def complete(
    *,
    spec: TransformSpec,
    model_label: str,
    plan: Plan,
    store: ArtifactStore,
    digest: str,
    done: dict[str, dict[str, Any]],
    published: dict[int, dict[str, Any]],
    stopped: bool,
    bytes_in: int,
    shards_reused: int,
    elapsed_s: float,
    worker_python: str | None,
) -> TransformResult:
    """The result; unless stopped, the manifest is written first (last of all outputs)."""
    reports = [_file_report(spec, plan, i, published[i]) for i in sorted(published)]
    reported = _bad_records(spec, plan, done)
    bad = sum(m["bad_records"] for m in done.values())
    manifest = None
    if not stopped:
        manifest = output_uri(spec.output.uri, MANIFEST)
        body = manifest_body(
            model_uri=model_label,
            model_digest=digest,
            input_uri=spec.input.uri,
            output=spec.output.uri,
            content_type=spec.input.content_type,
            accept=spec.accept,
            files=reports,
            bad_records=bad,
            reported=reported,
        )
        store.put_bytes(MANIFEST, body)  # last: its presence means "complete"
    return TransformResult(
        status="Stopped" if stopped else "Completed",
        output_uri=spec.output.uri,
        manifest_uri=manifest,
        files=tuple(reports),
        records=sum(m["records"] for m in done.values()),
        bad_records=bad,
        reported_bad_records=tuple(reported),
        bytes_in=bytes_in,
        bytes_out=sum(r.bytes_out for r in reports),
        shards_total=len(plan.shards),
        shards_reused=shards_reused,
        elapsed_s=elapsed_s,
        worker_python=worker_python,
    )


def _file_report(spec: TransformSpec, plan: Plan, index: int, body: dict[str, Any]) -> FileReport:
    file = plan.files[index]
    return FileReport(
        input_uri=file.uri,
        output_uri=output_uri(spec.output.uri, body["key"]),
        records=body["records"],
        bad_records=body["bad_records"],
        bytes_in=file.size,
        bytes_out=body["bytes_out"],
        sha256=body["sha256"],
    )


def _bad_records(
    spec: TransformSpec, plan: Plan, done: dict[str, dict[str, Any]]
) -> list[BadRecord]:
    found: list[tuple[int, int, BadRecord]] = []
    for shard in plan.shards:
        marker = done.get(shard.id)
        if marker is None:
            continue
        uri = plan.files[shard.file].uri
        for item in marker["reported"]:
            found.append((shard.file, item["line"], BadRecord(uri, item["line"], item["reason"])))
    found.sort(key=lambda entry: (entry[0], entry[1]))
    return [entry[2] for entry in found[: spec.bad_records.max_reported]]
