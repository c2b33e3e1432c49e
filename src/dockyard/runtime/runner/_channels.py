"""A training job's input channels as its run's datasets: the data lineage of what it trains.

Once the channels are fetched, each is logged as an input of the job's run, as a script logging
its data with ``dy.log_input`` would: named after the channel, its URI as the source, the
channel's name as its context (``train``, ``validation``), and a digest of the bytes the job
received. A model version the job registers then shows them in its lineage, with a digest that
says whether two versions were trained on the same data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.api.jobs import scheme
from dockyard.client.http import Client, SocketTransport, routes
from dockyard.content_digest import digest_of, files_of

if TYPE_CHECKING:
    from dockyard.runtime.runner._runner import Runner

__all__ = ["channel_digest", "record_channels"]

_CONTEXT_TAG = "mlflow.data.context"


def channel_digest(folder: Path) -> str:
    """The digest of a fetched channel, as the SDK's content-addressed uploads compute it (the
    same files give the same digest)."""
    return digest_of(files_of(folder))


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
