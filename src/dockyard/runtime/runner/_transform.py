"""Transform jobs: batch transform (:mod:`dockyard.runtime.batch`) as a kind of job in the same
queue.

The runner starts ``python -m dockyard.runtime.runner._transform JOB_DIR`` as the job's process. It
resolves the model to a local package, runs :func:`dockyard.runtime.batch.run_transform` with its
work directory inside the runner's work folder (so ``resume`` re-queues the same job and finished
shards are never redone where the folder survives), reports progress through the runner's status
outbox, and stops cleanly on SIGTERM (the runner's way of passing a stop on).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.api.jobs import JobDir, TransformJobSpec
from dockyard.errors import PermissionDenied
from dockyard.runtime.batch import Progress, RayShards
from dockyard.runtime.runner._events import EventWriter

if TYPE_CHECKING:
    from dockyard.artifacts.roots import AllowedRoots

__all__ = ["main", "run"]


def _local_model(uri: str, job: dict[str, Any]) -> str:
    """A local, verified package folder for any model URI (registry, run, S3 or local)."""
    from dockyard.models.uris import fetch_model_from

    local = fetch_model_from(
        job["server_url"],
        uri,
        cache_dir=Path(job["model_cache"]),
        s3_endpoint_url=job.get("s3_endpoint_url"),
        token=job.get("token"),
    )
    return str(local.path)


def _check_model_root(uri: str, roots: AllowedRoots | None) -> None:
    """A local model folder is checked again now, resolved (a link may have moved since)."""
    from dockyard.models.uris import LocalRef, parse_model_uri

    ref = parse_model_uri(uri, "model_uri")
    if roots is not None and isinstance(ref, LocalRef) and not roots.contains(ref.path):
        raise PermissionDenied(f"{uri} is outside the allowed roots", field="model_uri")


def _private() -> set[str]:
    """What the runner added to this process's environment for the store alone."""
    from dockyard.runtime.runner._contract import STORE_ENV

    return {STORE_ENV, *os.environ.get(STORE_ENV, "").split(",")}


def _worker_env() -> dict[str, str]:
    """This process's environment without what the runner added for the store alone: the
    workers load the model, which is the user's code."""
    private = _private()
    return {k: v for k, v in os.environ.items() if k not in private}


#: The store's variables that are settings, not secrets (any other one may be a credential).
_NOT_SECRET = frozenset(
    {
        "AWS_CA_BUNDLE",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_EC2_METADATA_DISABLED",
        "AWS_MAX_ATTEMPTS",
        "AWS_RETRY_MODE",
    }
)


def _holds_credentials() -> bool:
    """Whether this process may hold the store's credentials, which the model's code must not
    see (so a tiny transform is scored here only when it does not)."""
    return any(
        name.startswith("AWS_") and name not in _NOT_SECRET
        for name in _private()
        if name in os.environ
    )


def _cluster() -> RayShards | None:
    """The Ray cluster the shards may spread over, when the runner runs on one."""
    from dockyard.runtime.runner._contract import SHARDS_ON_RAY

    address = os.environ.get(SHARDS_ON_RAY)
    return RayShards(address) if address else None


def _progress_writer(events: EventWriter) -> Any:
    last = [0.0]

    def report(progress: Progress) -> None:
        now = time.monotonic()
        done = progress.shards_done == progress.shards_total
        if now - last[0] >= 1.0 or done:
            last[0] = now
            events.emit_progress(asdict(progress))

    return report


def main(argv: list[str] | None = None) -> int:
    imported = set(sys.modules)
    args = sys.argv[1:] if argv is None else argv
    jd = JobDir(Path(args[0]))
    job = json.loads(jd.job_file.read_text())
    spec = TransformJobSpec.model_validate(job["spec"])
    events = EventWriter(jd.events)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    from dockyard.runtime.batch import run_transform
    from dockyard.runtime.runner._prepare import roots_of

    roots = roots_of(job)
    _check_model_root(spec.model_uri, roots)
    model = _local_model(spec.model_uri, job)
    transform = spec.transform_spec().model_copy(update={"model_uri": model})
    named = spec.input.display_uri or spec.input.uri  # what the user gave, not its upload
    print(f"[dockyard] transforming {named} with {spec.model_uri}", flush=True)
    workers_imported: list[str] = []  # the model's libraries, when workers loaded them
    cluster = _cluster()
    result = run_transform(
        transform,
        jd.root / "work",
        progress=_progress_writer(events),
        should_stop=stop.is_set,
        s3_endpoint_url=job.get("s3_endpoint_url"),
        allowed_roots=roots,
        worker_env=_worker_env(),
        in_process=not _holds_credentials(),
        on_imported=workers_imported.extend,
        cluster=cluster,
        model_label=spec.model_uri,
    )
    summary = {
        "status": result.status,
        "output_uri": result.output_uri,
        "manifest_uri": result.manifest_uri,
        "records": result.records,
        "bad_records": result.bad_records,
        "shards_total": result.shards_total,
        "shards_reused": result.shards_reused,
        "elapsed_s": round(result.elapsed_s, 3),
    }
    (jd.control / "result.json").write_text(json.dumps(summary))
    if job.get("warm_modules"):
        from dockyard.runtime.runner._learned import record

        record(Path(job["warm_modules"]), imported, workers_imported)
    print(
        f"[dockyard] {result.status}: {result.records} records scored, "
        f"{result.bad_records} bad, {result.shards_reused} of {result.shards_total} shards "
        f"reused; outputs at {result.output_uri}",
        flush=True,
    )
    if cluster is not None and cluster.nodes:
        placed = ", ".join(f"{s} on {n[:12]}" for s, n in sorted(cluster.nodes.items()))
        nodes = len(set(cluster.nodes.values()))
        print(f"[dockyard] shards scored on {nodes} Ray node(s): {placed}", flush=True)
    from dockyard.runtime.batch import shown_location

    for bad in result.reported_bad_records[:20]:  # as the job's failure names one
        where = shown_location(bad.uri, spec.input)
        print(f"[dockyard] bad record in {where} line {bad.line}: {bad.reason}", flush=True)
    return 0


def run(argv: list[str]) -> int:
    """:func:`main`, with a failure written where the runner reads why the job failed."""
    try:
        return main(argv)
    except Exception as exc:
        from dockyard.errors import DockyardError

        message = exc.message if isinstance(exc, DockyardError) else f"{type(exc).__name__}: {exc}"
        jd = JobDir(Path(argv[0]))
        jd.failure.parent.mkdir(parents=True, exist_ok=True)
        jd.failure.write_text(message)
        print(f"[dockyard] failed: {message}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
