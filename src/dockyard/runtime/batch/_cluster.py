"""A transform's shards spread over a Ray cluster's nodes (``executor: ray``).

Under the Ray executor a transform's runner plans as on one machine, then sends each shard to a
node as a Ray task instead of to a local worker process. The task reads its byte range (the
whole file for Parquet and gzip, whose readers need it) from S3, scores it in the Ray worker
itself (no fork: Ray advises against forking its workers), with the model the runner put once
into Ray's object store, and writes its part to S3 beside the outputs (``_parts/<shard>``). The
runner fetches the part, writes the shard's marker as a local worker would and publishes as
today: plan, markers, resume and manifest do not change.

Tasks ask Ray for no CPU: the job's CPUs are held by its runner's host (the server sizes a
transform by the cluster's CPUs). The runner keeps one shard per CPU of the live nodes in flight
and names a node for each, round robin with soft affinity (Ray would pack CPU-less tasks onto one
node). A lost node's tasks run again on another node (``max_retries``); a shard that fails even
so ends the job as a lost local worker does.

Only a transform whose input and output are both ``s3://`` spreads, and only when the model
runs with the host's interpreter (its own environment would be built on every node): nothing
else is reachable from another node. Ray is imported when a pool starts, never at import.
"""

from __future__ import annotations

import collections
import contextlib
import io
import logging
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dockyard.artifacts import ArtifactStore, open_artifact_store
from dockyard.errors import DockyardError, Unavailable
from dockyard.runtime.batch._config import ShardTask, WorkerConfig
from dockyard.runtime.batch._pool import Event

__all__ = ["RayPool", "RayShards", "load_on_node", "score_on_node"]

_log = logging.getLogger("dockyard.runtime.batch")
#: Where a shard's part waits in the output store until the runner has fetched it.
PARTS = "_parts"
_RETRIES = 3  # runs of a shard whose node was lost, on other nodes
_COPY = 1024 * 1024


def _is_s3(uri: str) -> bool:
    return uri.lower().startswith("s3://")


@dataclass
class RayShards:
    """Where a transform's shards run: the Ray cluster at ``address``.

    Attributes:
        address: The cluster's GCS address (``host:port``).
        nodes: Which node (Ray node id) scored each shard, filled as shards finish.
    """

    address: str
    nodes: dict[str, str] = field(default_factory=dict)
    _ray: Any = None

    def applies(self, input_uri: str, output_uri: str) -> bool:
        """Whether shards of this transform can run on other nodes (both ends on S3)."""
        return _is_s3(input_uri) and _is_s3(output_uri)

    def connect(self) -> Any:
        """Ray, joined to the cluster as a driver (once)."""
        if self._ray is None:
            try:
                import ray
            except ImportError as exc:
                raise Unavailable(f"shards on Ray need Ray on the runner's node: {exc}") from None
            if not ray.is_initialized():
                try:
                    ray.init(
                        address=self.address, log_to_driver=False, logging_level=logging.WARNING
                    )
                except (ConnectionError, RuntimeError, ValueError) as exc:
                    raise Unavailable(
                        f"could not join the Ray cluster at {self.address}: {exc}"
                    ) from None
            self._ray = ray
        return self._ray

    def slots(self) -> list[str]:
        """One live node id per CPU of the cluster's live nodes."""
        ray = self.connect()
        found: list[str] = []
        for node in ray.nodes():
            if node["Alive"]:
                found.extend([node["NodeID"]] * int(node["Resources"].get("CPU", 0)))
        return found

    def pool(
        self,
        config: WorkerConfig,
        model_dir: Path,
        count: int,
        *,
        output_uri: str,
        endpoint: str | None,
    ) -> RayPool:
        """A pool of ``count`` slots scoring shards on the cluster's nodes."""
        return RayPool(self, config, model_dir, count, output_uri=output_uri, endpoint=endpoint)


def _packed(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(folder, arcname=".")
    return buffer.getvalue()


class RayPool:
    """Slots that each score one shard at a time as a Ray task: what
    :class:`~dockyard.runtime.batch._pool.WorkerPool` offers the runner's dispatch loop."""

    def __init__(
        self,
        shards: RayShards,
        config: WorkerConfig,
        model_dir: Path,
        count: int,
        *,
        output_uri: str,
        endpoint: str | None,
    ) -> None:
        self._shards = shards
        self._ray = shards.connect()
        self._config = config
        self._model_dir = model_dir
        self._count = max(1, count)
        self._output_uri = output_uri
        self._endpoint = endpoint
        self._store: ArtifactStore = open_artifact_store(output_uri, s3_endpoint_url=endpoint)
        self._events: collections.deque[Event] = collections.deque()
        self._running: dict[Any, tuple[int, ShardTask]] = {}
        self._tails: dict[int, str] = {}
        self._nodes: list[str] = []
        self._model: Any = None
        self._remote: Any = None
        self._options: dict[str, Any] = {}
        self._warming: dict[Any, int] = {}  # model loads under way, by slot

    def start(self) -> None:
        """Put the model into the object store and have each slot's node load it (a slot is
        ready once its node has: meanwhile the runner plans, as local workers import theirs)."""
        ray = self._ray
        self._nodes = self._shards.slots()
        self._model = ray.put(_packed(self._model_dir))
        # The tasks read and write the store: they get its variables (the runner's own).
        store_env = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
        self._remote = ray.remote(score_on_node)
        self._options = {
            "num_cpus": 0,
            "max_retries": _RETRIES,
            "runtime_env": {"env_vars": store_env},
        }
        _log.info("scoring on %d Ray slots over %d nodes", self._count, len(set(self._nodes)))
        warm = ray.remote(load_on_node)
        for slot in range(self._count):
            ref = warm.options(**self._placed(slot)).remote(self._config.to_dict(), self._model)
            self._warming[ref] = slot

    def _placed(self, slot: int) -> dict[str, Any]:
        """The task options for slot ``slot``: on its node, or elsewhere once that is lost."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        options: dict[str, Any] = dict(self._options)
        if self._nodes:
            node = self._nodes[slot % len(self._nodes)]
            options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(node, soft=True)
        return options

    def send(self, worker: int, message: dict[str, Any]) -> bool:
        """Start the shard ``message`` names on the node of slot ``worker``."""
        task = ShardTask.from_dict(message["task"])
        ref = self._remote.options(**self._placed(worker)).remote(
            self._config.to_dict(),
            task.to_dict(),
            self._model,
            output_uri=self._output_uri,
            endpoint=self._endpoint,
        )
        self._running[ref] = (worker, task)
        return True

    def next_event(self, timeout: float) -> Event | None:
        """The next shard finished (its part fetched and its marker written), failed or lost."""
        if self._events:
            return self._events.popleft()
        if not self._running and not self._warming:
            return None
        waited = [*self._warming, *self._running]
        ready, _ = self._ray.wait(waited, num_returns=1, timeout=timeout)
        if not ready:
            return None
        if ready[0] in self._warming:
            return self._warmed(ready[0])
        worker, task = self._running.pop(ready[0])
        try:
            answer: dict[str, Any] = self._ray.get(ready[0])
        except self._ray.exceptions.RayError as exc:
            self._tails[worker] = str(exc)
            return Event(worker, {"type": "exit", "code": None})
        if "error" in answer:
            failed = {"type": "failed", "shard": task.shard_id, "error": answer["error"]}
            return Event(worker, failed)
        key = f"{PARTS}/{task.shard_id}"
        self._store.get_file(key, task.part_path)
        self._store.delete(key)
        from dockyard.runtime.batch._worker import make_durable

        make_durable(task, answer["marker"])
        self._shards.nodes[task.shard_id] = answer["node"]
        return Event(worker, {"type": "done", "shard": task.shard_id, "marker": answer["marker"]})

    def _warmed(self, ref: Any) -> Event:
        slot = self._warming.pop(ref)
        try:
            answer: dict[str, Any] = self._ray.get(ref)
        except self._ray.exceptions.RayError as exc:
            self._tails[slot] = str(exc)
            return Event(slot, {"type": "exit", "code": None})
        if "error" in answer:
            return Event(slot, {"type": "fatal", "error": answer["error"]})
        return Event(slot, {"type": "ready", "python": f"Ray node {answer['node'][:12]}"})

    def stderr_tail(self, index: int) -> str:
        """Why slot ``index``'s last task was lost."""
        return self._tails.get(index, "")

    def close(self, *, kill: bool = False, wait: bool = True) -> None:
        """Cancel the tasks still running and drop the parts they left (never fetched); Ray
        cancels without waiting either way."""
        cancelled = bool(self._running)
        for ref in [*self._warming, *self._running]:
            self._ray.cancel(ref, force=True)
        self._warming.clear()
        self._running.clear()
        if cancelled:
            with contextlib.suppress(DockyardError):  # the store is down: nothing to lose
                self._store.delete(PARTS)


def load_on_node(config: dict[str, Any], model: bytes) -> dict[str, Any]:
    """Load the model in a Ray worker of this node (a Ray task) before its first shard comes.

    Returns ``{"node": ...}``, or ``{"error": ...}`` when the model cannot be loaded.
    """
    import ray

    node = str(ray.get_runtime_context().get_node_id())
    try:
        _MODELS.get(_settings(config, model))
    except DockyardError as exc:
        return {"error": exc.to_dict(), "node": node}
    except Exception as exc:  # a defect in the model's code: reported as a worker reports one
        error = DockyardError(f"loading the model failed: {type(exc).__name__}: {exc}")
        return {"error": error.to_dict(), "node": node}
    return {"node": node}


def _settings(config: dict[str, Any], model: bytes) -> WorkerConfig:
    """The transform's configuration with the model unpacked on this node."""
    settings = WorkerConfig.from_dict(config)
    model_dir = _unpacked(model, str(settings.model_digest))
    return replace(settings, model_path=str(model_dir))


def score_on_node(
    config: dict[str, Any],
    task: dict[str, Any],
    model: bytes,
    *,
    output_uri: str,
    endpoint: str | None,
) -> dict[str, Any]:
    """Score one shard on this node (a Ray task): input from S3, part to S3.

    Returns ``{"marker": ..., "node": ...}``, or ``{"error": ...}`` (an error's dict) for a bad
    record under ``on_error=fail`` or an unusable model or input.
    """
    import ray

    from dockyard.runtime.batch._worker import ShardFailed, score_shard

    node = str(ray.get_runtime_context().get_node_id())
    shard = ShardTask.from_dict(task)
    folder = Path(tempfile.mkdtemp(prefix=f"dockyard-shard-{shard.shard_id}-"))
    try:
        settings = _settings(config, model)
        loaded, codec = _MODELS.get(settings)
        local = replace(
            shard,
            path=str(_fetch_input(shard, folder / "input", endpoint)),
            part_path=str(folder / "part"),
            marker_path=str(folder / "marker"),
        )
        marker = score_shard(local, settings, loaded, codec, lambda _: None)
        store = open_artifact_store(output_uri, s3_endpoint_url=endpoint)
        store.put_file(f"{PARTS}/{shard.shard_id}", local.part_path)
    except ShardFailed as failed:
        return {"error": failed.error.to_dict(), "node": node}
    except DockyardError as exc:
        return {"error": exc.to_dict(), "node": node}
    except Exception as exc:  # a defect: reported as a worker reports one
        error = DockyardError(f"scoring {shard.named} failed: {type(exc).__name__}: {exc}")
        return {"error": error.to_dict(), "node": node}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"marker": marker, "node": node}


def _fetch_input(shard: ShardTask, target: Path, endpoint: str | None) -> Path:
    """The shard's input on this node: its byte range, at its own offsets (the file is sparse
    before them), or the whole file for the readers that need it."""
    from dockyard.runtime.batch._inputs import _bucket

    bucket, key = _bucket(shard.uri)
    store = open_artifact_store(f"s3://{bucket}", s3_endpoint_url=endpoint)
    if shard.kind != "lines":
        store.get_file(key, target)
        return target
    left = None if shard.end < 0 else shard.end - shard.start
    with store.open_read(key, start=shard.start) as source, target.open("wb") as out:
        out.seek(shard.start)
        while left is None or left > 0:
            chunk = source.read(_COPY if left is None else min(_COPY, left))
            if not chunk:
                break
            out.write(chunk)
            if left is not None:
                left -= len(chunk)
    return target


def _unpacked(model: bytes, digest: str) -> Path:
    """The model package in this node's temporary folder, unpacked once per digest."""
    root = Path(tempfile.gettempdir()) / "dockyard-shard-models"
    target = root / digest.replace(":", "-")
    if (target / "MLmodel").is_file():
        return target
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=root, prefix=".unpacking-"))
    with tarfile.open(fileobj=io.BytesIO(model), mode="r") as tar:
        tar.extractall(staging, filter="data")
    try:
        staging.rename(target)
    except OSError:  # another task of this node unpacked it first
        shutil.rmtree(staging, ignore_errors=True)
    return target


class _Loaded:
    """The model last loaded in this Ray worker process, with its codec: a worker process
    scores shard after shard of one transform, and loading takes seconds."""

    def __init__(self) -> None:
        self._key: WorkerConfig | None = None
        self._value: tuple[Any, Any] = (None, None)

    def get(self, config: WorkerConfig) -> tuple[Any, Any]:
        if self._key != config:
            from dockyard.models.pyfunc import load_model
            from dockyard.runtime.batch._worker import make_codec

            model = load_model(config.model_path, expected_digest=config.model_digest)
            self._value = (model, make_codec(config, model))
            self._key = config
        return self._value


# One per Ray worker process, by design: it lives as long as the process that loaded the model.
_MODELS = _Loaded()
