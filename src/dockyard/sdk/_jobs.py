"""Training from Python: ``dy.Estimator(...).fit(...)``, in the SageMaker Python SDK's shape."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from dockyard.errors import InvalidArgument, JobFailed
from dockyard.jobs import Job, JobStatus
from dockyard.sdk._client import Client
from dockyard.sdk._context import context
from dockyard.sdk._upload import to_store, upload_path

if TYPE_CHECKING:
    from dockyard.sdk._endpoints import EndpointHandle
    from dockyard.sdk._transform import Transformer

__all__ = ["Estimator", "TrainingJob", "upload_data"]


def upload_data(path: str | Path, key_prefix: str = "data") -> str:
    """Upload a local file or folder to the artifact store; returns a URI jobs can read.

    Like SageMaker's ``Session.upload_data``, with the content's digest as the last folder of
    the key: ``<store>/data/<key_prefix>/<digest>/...`` (``s3://...`` on an S3 store, a path on
    the server's disk with a local store). Uploading the same content again uploads nothing and
    returns the same URI.
    """
    return upload_path(context().server(), path, key_prefix)


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
        source_dir: Folder with the script (and an optional ``requirements.txt``). A local
            folder is uploaded to the artifact store (nothing is sent again when its content
            is unchanged); ``s3://`` and ``file://`` URIs are read by the server itself.
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

    def _spec(
        self, client: Client, inputs: Mapping[str, Any], job_name: str | None
    ) -> dict[str, Any]:
        opts = dict(self.options)
        body: dict[str, Any] = {
            "name": job_name,
            "entry_point": self.entry_point,
            "module": opts.pop("module", None),
            "algorithm": opts.pop("algorithm", None),
            "hyperparameters": self.hyperparameters,
            "metric_definitions": self.metric_definitions,
            "resources": self.resources,
            "inputs": {
                k: to_store(client, v, f"jobs/inputs/{k}", f"inputs.{k}.uri")
                for k, v in inputs.items()
            },
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
            body["source_dir"] = to_store(client, str(self.source_dir), "jobs/source", "source_dir")
        # Validated by the server, once: its error names the field.
        return {k: v for k, v in body.items() if v not in (None, {}, [])}

    def fit(
        self,
        inputs: str | Mapping[str, Any] | None = None,
        *,
        wait: bool = True,
        logs: bool = True,
        job_name: str | None = None,
    ) -> TrainingJob:
        """Submit a training job (``inputs``: a URI for the ``train`` channel, or
        ``{channel: uri}``) and, with ``wait``, block until it ends.

        Local files and folders among the inputs are uploaded first, like ``source_dir``.
        """
        client = context().server()
        channels = {"train": inputs} if isinstance(inputs, str) else dict(inputs or {})
        # Local code and data are uploaded (the server reads only its store and data roots).
        spec = self._spec(client, channels, job_name)
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
