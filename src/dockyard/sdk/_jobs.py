"""Training from Python: ``dy.Estimator(...).fit(...)``, in the SageMaker Python SDK's shape."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import quote, urlparse

from dockyard._paths import expand_user
from dockyard.errors import InvalidArgument, JobFailed
from dockyard.jobs import Job, JobStatus
from dockyard.sdk._client import Client
from dockyard.sdk._context import context

if TYPE_CHECKING:
    from dockyard.sdk._endpoints import EndpointHandle
    from dockyard.sdk._transform import Transformer

__all__ = ["Estimator", "TrainingJob", "upload_data"]


def _is_local_server(client: Client) -> bool:
    host = urlparse(client.base_url).hostname or ""
    return host in ("127.0.0.1", "localhost", "::1") or client.base_url.endswith(".embedded")


def upload_data(path: str | Path, key_prefix: str = "data") -> str:
    """Upload a local file or folder to the artifact store; returns a URI jobs can read.

    Like SageMaker's ``Session.upload_data``: the URI is ``s3://...`` on an S3 store, a path on
    the server's disk with a local store.
    """
    local = Path(path)
    if not local.exists():
        raise InvalidArgument(f"{local} does not exist", field="path")
    client = context().server()
    files = [local] if local.is_file() else sorted(p for p in local.rglob("*") if p.is_file())
    if not files:
        raise InvalidArgument(f"{local} is an empty folder", field="path")
    prefix = key_prefix.strip("/")
    uri = ""
    for file in files:
        rel = file.name if local.is_file() else file.relative_to(local).as_posix()
        with file.open("rb") as handle:
            answer = client.request(
                "PUT",
                f"/api/v1/data/{quote(prefix)}/{quote(rel)}",
                params={"prefix": prefix},
                content=handle,
                retry=True,
            )
        uri = answer["prefix_uri"]
    return uri if local.is_dir() else f"{uri}/{local.name}"


class TrainingJob:
    """A submitted job: describe it, follow its logs, wait for it, stop it."""

    def __init__(self, name: str, client: Client) -> None:
        self.name = name
        self._client = client

    def describe(self) -> Job:
        return Job.model_validate(self._client.request("GET", f"/api/v1/jobs/{self.name}"))

    def stop(self) -> Job:
        return Job.model_validate(self._client.request("POST", f"/api/v1/jobs/{self.name}/stop"))

    def logs(self, offset: int = 0) -> tuple[str, int, bool]:
        """Log text from ``offset``, the next offset, and whether the job has ended."""
        response = self._client._http.get(
            f"/api/v1/jobs/{self.name}/logs", params={"offset": offset}
        )
        if response.status_code >= 400:
            raise self._client._error(response)
        next_offset = int(response.headers.get("x-next-offset", offset))
        return response.text, next_offset, response.headers.get("x-job-ended") == "true"

    def wait(self, logs: bool = True, poll: float = 0.25, out: TextIO | None = None) -> Job:
        """Block until the job ends, printing its log and status changes as they come.

        Raises:
            JobFailed: The job ended Failed or Stopped (the message carries the reason).
        """
        stream = out or sys.stdout
        offset, seen = 0, 0
        while True:
            job = self.describe()
            for event in job.events[seen:]:
                if logs:
                    stream.write(
                        f"[{self.name}] {event.secondary_status.value}"
                        f"{': ' + event.message.splitlines()[0] if event.message else ''}\n"
                    )
            seen = len(job.events)
            if logs:
                text, offset, _ = self.logs(offset)
                if text:
                    stream.write(text)
                stream.flush()
            if job.status.is_terminal:
                if logs:
                    text, offset, _ = self.logs(offset)
                    stream.write(text)
                if job.status is not JobStatus.COMPLETED:
                    raise JobFailed(
                        f"job {self.name} {job.status.value.lower()}: "
                        f"{job.failure_reason or job.events[-1].message}",
                        details={"job": self.name, "status": job.status.value},
                    )
                return job
            time.sleep(poll)

    def __repr__(self) -> str:
        return f"<TrainingJob {self.name}>"


class Estimator:
    """Train a script or a built-in algorithm as a job, then use its model.

    Args:
        entry_point: The script to run, relative to ``source_dir``.
        source_dir: Folder with the script (and an optional ``requirements.txt``).
        hyperparameters: Passed to the script as ``--name value`` and in ``SM_HPS``.
        metric_definitions: ``[{"Name": ..., "Regex": ...}]``: metrics parsed from the log.
        resources: ``{"cpus": 2, "memory_mb": 4096}``.
        **options: Any other :class:`~dockyard.jobs.TrainingJobSpec` field (``max_runtime_s``,
            ``max_attempts``, ``environment``, ``checkpoint_uri``, ``register_as``,
            ``experiment``, ``tags``, ``base_job_name``, ``module``).
    """

    def __init__(
        self,
        entry_point: str | None = None,
        source_dir: str | Path | None = None,
        *,
        hyperparameters: Mapping[str, Any] | None = None,
        metric_definitions: Sequence[Mapping[str, str]] | None = None,
        resources: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> None:
        self.entry_point = entry_point
        self.source_dir = source_dir
        self.hyperparameters = dict(hyperparameters or {})
        self.metric_definitions = list(metric_definitions or [])
        self.resources = dict(resources or {})
        self.options = options
        self.latest_job: TrainingJob | None = None

    @classmethod
    def builtin(
        cls, algorithm: str, hyperparameters: Mapping[str, Any] | None = None, **options: Any
    ) -> Estimator:
        """An estimator for a built-in algorithm (``xgboost``, ``linear-learner``)."""
        return cls(hyperparameters=hyperparameters, algorithm=algorithm, **options)

    def _spec(self, inputs: Mapping[str, Any], job_name: str | None, local: bool) -> dict[str, Any]:
        opts = dict(self.options)
        body: dict[str, Any] = {
            "name": job_name,
            "entry_point": self.entry_point,
            "module": opts.pop("module", None),
            "algorithm": opts.pop("algorithm", None),
            "hyperparameters": self.hyperparameters,
            "metric_definitions": self.metric_definitions,
            "resources": self.resources,
            "inputs": {k: self._uri(v, f"inputs/{k}", local) for k, v in inputs.items()},
            "stopping_condition": {
                k: opts.pop(k) for k in ("max_runtime_s", "max_wait_s") if k in opts
            },
            "retry_strategy": {"max_attempts": opts.pop("max_attempts", 1)},
            "environment": opts.pop("environment", {}),
            "output": {"register_as": opts.pop("register_as", None)},
            "experiment": opts.pop("experiment", None),
            "tags": opts.pop("tags", {}),
        }
        if "checkpoint_uri" in opts:
            body["checkpoint"] = {"uri": opts.pop("checkpoint_uri")}
        base = opts.pop("base_job_name", None)
        if base and not job_name:
            body["name"] = f"{base}-{time.strftime('%Y%m%d-%H%M%S')}"
        if opts:
            raise InvalidArgument(
                f"unknown Estimator option {sorted(opts)[0]!r}", field=sorted(opts)[0]
            )
        if self.source_dir is not None:
            body["source_dir"] = self._uri(str(self.source_dir), "source", local)
        # Validated by the server, once: its error names the field.
        return {k: v for k, v in body.items() if v not in (None, {}, [])}

    @staticmethod
    def _uri(value: Any, prefix: str, local: bool) -> Any:
        uri = value["uri"] if isinstance(value, Mapping) else value
        if not isinstance(uri, str) or "://" in uri or uri.startswith("runs:/"):
            return value
        path = expand_user(uri).resolve()
        # A server on this machine reads local paths itself; a remote one gets an upload.
        resolved = str(path) if local else upload_data(path, f"jobs/{prefix}")
        return {**value, "uri": resolved} if isinstance(value, Mapping) else resolved

    def fit(
        self,
        inputs: str | Mapping[str, Any] | None = None,
        *,
        wait: bool = True,
        logs: bool = True,
        job_name: str | None = None,
    ) -> TrainingJob:
        """Submit a training job (``inputs``: a URI for the ``train`` channel, or
        ``{channel: uri}``) and, with ``wait``, block until it ends."""
        client = context().server()
        channels = {"train": inputs} if isinstance(inputs, str) else dict(inputs or {})
        spec = self._spec(channels, job_name, _is_local_server(client))
        answer = client.request("POST", "/api/v1/jobs/training", json=spec)
        self.latest_job = TrainingJob(answer["name"], client)
        if wait:
            self.latest_job.wait(logs=logs)
        return self.latest_job

    def deploy(self, name: str, **kwargs: Any) -> EndpointHandle:
        """Deploy the model this estimator trained behind endpoint ``name``
        (see :func:`dockyard.deploy` for the options)."""
        from dockyard.sdk._endpoints import deploy

        uri = self.model_uri
        if uri is None:
            raise InvalidArgument("the estimator has no trained model yet: call fit() first")
        return deploy(uri, name=name, **kwargs)

    def transformer(self, **kwargs: Any) -> Transformer:
        """A :class:`~dockyard.sdk.Transformer` for the model this estimator trained."""
        from dockyard.sdk._transform import Transformer

        uri = self.model_uri
        if uri is None:
            raise InvalidArgument("the estimator has no trained model yet: call fit() first")
        return Transformer(uri, **kwargs)

    @property
    def model_uri(self) -> str | None:
        """The trained model of the latest job, once it has completed."""
        if self.latest_job is None:
            return None
        return self.latest_job.describe().model_uri
