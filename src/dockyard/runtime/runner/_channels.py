"""A training job's input channels as its run's datasets: the data lineage of what it trains.

Once the channels are fetched, each is logged as an input of the job's run, as a script logging
its data with ``dy.log_input`` would: named after the channel, its URI as the source, the
channel's name as its context (``train``, ``validation``), and a digest of the bytes the job
received. A model version the job registers then shows them in its lineage, with a digest that
says whether two versions were trained on the same data.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.api.jobs import scheme
from dockyard.client.http import Client, SocketTransport, routes

if TYPE_CHECKING:
    from dockyard.runtime.runner._runner import Runner

__all__ = ["channel_digest", "record_channels"]

_DIGEST_CHARS = 16
_CONTEXT_TAG = "mlflow.data.context"


def channel_digest(folder: Path) -> str:
    """The digest of a fetched channel: every file's relative path, size and sha256, as the
    SDK's content-addressed uploads compute it (the same files give the same digest)."""
    whole = hashlib.sha256()
    files = sorted((p.relative_to(folder).as_posix(), p) for p in folder.rglob("*") if p.is_file())
    for relative, path in files:
        content = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                content.update(block)
        whole.update(f"{relative}\0{path.stat().st_size}\0{content.hexdigest()}\n".encode())
    return whole.hexdigest()[:_DIGEST_CHARS]


def _datasets(runner: Runner) -> list[dict[str, Any]]:
    found = []
    for name, channel in sorted(runner.spec.get("inputs", {}).items()):
        uri = channel["uri"]
        dataset = {
            "name": name,
            "digest": channel_digest(runner.dir.data / name),
            "source_type": scheme(uri),
            "source": json.dumps({"uri": uri}),
        }
        found.append({"dataset": dataset, "tags": {_CONTEXT_TAG: name}})
    return found


def record_channels(runner: Runner) -> None:
    """Log the fetched channels as inputs of the job's run (with the job's runner token)."""
    job = runner.job
    server, run_id = job.get("server_url"), job.get("run_id")
    datasets = _datasets(runner)
    if not (server and run_id and datasets):
        return
    # Plain sockets, as the runner's other calls (see dockyard.client.http._sockets).
    with Client(server, token=job.get("token"), transport=SocketTransport()) as client:
        client.call(routes.LOG_INPUTS(run_id=run_id), {"datasets": datasets}, retry=True)
