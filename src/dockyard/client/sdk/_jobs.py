"""Training from Python: ``dy.Estimator(...).fit(...)``, in the SageMaker Python SDK's shape."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from dockyard.api.jobs import Job, JobEvent, JobStatus, SecondaryStatus, TrainingJobSpec
from dockyard.client.http import Client, from_answer, routes
from dockyard.client.sdk._context import context
from dockyard.client.sdk._requests import spec_body
from dockyard.client.sdk._upload import check_entry_point, is_local, to_store, upload_path
from dockyard.errors import InvalidArgument, JobFailed
from dockyard.paths import expand_user

if TYPE_CHECKING:
    from dockyard.client.sdk._endpoints import EndpointHandle
    from dockyard.client.sdk._serializers import Deserializer, Serializer
    from dockyard.client.sdk._transform import Transformer

__all__ = ["Estimator", "TrainingJob", "upload_data"]

# How long one request waits for a job to end (the client's read timeout permitting).
_LONG_POLL_S = 20.0


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

    def describe(self, wait: float = 0) -> Job:
        """The job as it is; with ``wait`` (seconds, at most 60), once it has ended or after
        ``wait`` seconds, whichever comes first (one long-polling request)."""
        params = {"wait": wait} if wait > 0 else None
        return from_answer(Job, self._client.call(routes.GET_JOB(name=self.name), params=params))

    def stop(self) -> Job:
        return from_answer(Job, self._client.call(routes.STOP_JOB(name=self.name)))

    def _long_poll(self) -> float:
        """How long one waiting request may take: well within the client's read timeout."""
        return max(0.0, min(_LONG_POLL_S, self._client.timeout / 2))

    def logs(self, offset: int = 0) -> tuple[str, int, bool]:
        """Log text from ``offset``, the next offset, and whether the job has ended."""
        call = routes.GET_JOB_LOGS(name=self.name)
        response = self._client.send(call.method, call.path, params={"offset": offset})
        next_offset = int(response.headers.get("x-next-offset", offset))
        return response.text, next_offset, response.headers.get("x-job-ended") == "true"

    def wait(self, logs: bool = True, poll: float = 0.25, out: TextIO | None = None) -> Job:
        """Block until the job ends, printing its log and status changes as they come.

        Interrupted (Ctrl-C), it says that the job goes on and how to follow or stop it, and
        lets the ``KeyboardInterrupt`` through.

        Raises:
            JobFailed: The job ended Failed or Stopped (the message carries the reason).
        """
        try:
            return self._follow(logs, poll, out)
        except KeyboardInterrupt:
            self._left_running(out or sys.stdout)
            raise

    _COMMAND = "jobs"

    def _left_running(self, stream: TextIO) -> None:
        stream.write(
            f"\n[{self.name}] no longer followed, still on the server: wait() follows it "
            f"again, stop() stops it (or: dockyard {self._COMMAND} logs --follow {self.name}; "
            f"dockyard {self._COMMAND} stop {self.name})\n"
        )
        stream.flush()

    def _follow(self, logs: bool, poll: float, out: TextIO | None) -> Job:
        stream = out or sys.stdout
        offset, seen = 0, 0
        wait = 0.0
        while True:
            # The server answers when the job ends, or after ``wait``: with logs to follow,
            # every ``poll`` seconds; without, only then.
            job = self.describe(wait=wait if logs else self._long_poll())
            new = job.events[seen:]
            seen = len(job.events)
            # Once the job has ended, the steps after its script's run (Uploading, Completed...)
            # come after the rest of the script's log, as they happened.
            cut = len(new)
            if job.status.is_terminal:
                cut = max(
                    (i + 1 for i, e in enumerate(new) if e.secondary_status in _RUNS), default=0
                )
            if logs:
                self._write_events(stream, new[:cut])
                text, offset, _ = self.logs(offset)
                if text:
                    stream.write(text)
                self._write_events(stream, new[cut:])
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
            wait = min(poll, self._long_poll())

    def _write_events(self, stream: TextIO, events: Sequence[JobEvent]) -> None:
        for event in events:
            stream.write(
                f"[{self.name}] {event.secondary_status.value}"
                f"{': ' + event.message.splitlines()[0] if event.message else ''}\n"
            )

    def __repr__(self) -> str:
        return f"<TrainingJob {self.name}>"


#: The steps during which a job's script (or a transform's workers) may write to its log.
_RUNS = frozenset(
    {
        SecondaryStatus.PENDING,
        SecondaryStatus.STARTING,
        SecondaryStatus.DOWNLOADING,
        SecondaryStatus.TRAINING,
        SecondaryStatus.TRANSFORMING,
        SecondaryStatus.MONITORING,
        SecondaryStatus.RESTARTING,
    }
)


#: SageMaker SDK arguments that mean nothing here: accepted, so notebook code runs unchanged.
_IGNORED = frozenset(
    {
        "role",
        "framework_version",
        "py_version",
        "image_uri",
        "sagemaker_session",
        "volume_size",
        "volume_kms_key",
        "output_path",
        "output_kms_key",
        "code_location",
        "use_spot_instances",
        "container_log_level",
        "subnets",
        "security_group_ids",
        "encrypt_inter_container_traffic",
        "debugger_hook_config",
        "disable_profiler",
        "profiler_config",
        "rules",
        "tensorboard_output_config",
        "keep_alive_period_in_seconds",
    }
)
#: SageMaker SDK argument -> the Estimator option it is.
_RENAMED = {
    "max_run": "max_runtime_s",
    "max_wait": "max_wait_s",
    "max_retry_attempts": "max_attempts",
    "checkpoint_s3_uri": "checkpoint_uri",
}


class _Hyperparameters(dict[str, Any]):
    """The estimator's hyperparameters: a dict, and callable as the SageMaker SDK's
    ``estimator.hyperparameters()`` method is."""

    def __call__(self) -> dict[str, Any]:
        return dict(self)


def _sagemaker_options(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with the SageMaker SDK's names translated and its AWS-only ones dropped."""
    out: dict[str, Any] = {}
    for key, value in options.items():
        if key in _IGNORED:
            continue
        if key == "enable_network_isolation":
            if value:
                raise InvalidArgument(
                    "enable_network_isolation=True: Dockyard cannot cut a job off the network",
                    field=key,
                )
            continue
        if key == "input_mode":
            if value not in ("File", "FastFile", None):
                raise InvalidArgument(
                    f"input_mode={value!r}: channels are files here ('File')", field=key
                )
            continue
        if key == "checkpoint_local_path":
            if value not in (None, "/opt/ml/checkpoints"):
                raise InvalidArgument(
                    "checkpoint_local_path: checkpoints live in /opt/ml/checkpoints "
                    "(SM_CHECKPOINT_DIR) here",
                    field=key,
                )
            continue
        if key == "tags" and isinstance(value, list):  # [{"Key": ..., "Value": ...}]
            out["tags"] = {str(t["Key"]): str(t["Value"]) for t in value}
        else:
            out[_RENAMED.get(key, key)] = value
    return out


def _channel(value: Any) -> Any:
    """A channel given as the SageMaker SDK gives one: a ``TrainingInput`` (its ``config``)
    or an ``S3Uri`` mapping, as the spec's ``{"uri", "content_type"}``."""
    config = getattr(value, "config", None)
    if isinstance(config, Mapping):
        value = config
    if isinstance(value, Mapping) and "DataSource" in value:
        source = value["DataSource"].get("S3DataSource", {})
        return {"uri": source.get("S3Uri"), "content_type": value.get("ContentType")}
    if isinstance(value, Mapping) and "S3Uri" in value:
        return {"uri": value["S3Uri"], "content_type": value.get("ContentType")}
    return value


class Estimator:
    """Train a script or a built-in algorithm as a job, then use its model.

    The SageMaker Python SDK's arguments work too, so notebook code runs unchanged:
    ``instance_type`` (its CPUs and memory, capped at what the executor has),
    ``instance_count`` (1), ``max_run``, ``max_wait``, ``max_retry_attempts``,
    ``checkpoint_s3_uri``, ``tags`` as ``[{"Key", "Value"}]``, ``base_job_name``; ``role``,
    ``framework_version``, ``py_version``, ``image_uri``, ``output_path``,
    ``sagemaker_session`` and the other AWS-only ones are accepted and ignored (the model
    stays with the job's run: :attr:`model_data`).

    Args:
        entry_point: The script to run, relative to ``source_dir``; without ``source_dir``, a
            local script (relative to the current directory) uploaded alone, as the
            SageMaker SDK sends one.
        source_dir: Folder with the script (and an optional ``requirements.txt``). A local
            folder is uploaded to the artifact store (nothing is sent again when its content
            is unchanged); ``s3://`` and ``file://`` URIs are read by the server itself.
        hyperparameters: Passed to the script as ``--name value`` and in ``SM_HPS``.
        metric_definitions: ``[{"Name": ..., "Regex": ...}]``: metrics parsed from the log.
        resources: ``{"cpus": 2, "memory_mb": 4096, "gpus": 1}``.
        **options: Any other :class:`~dockyard.api.jobs.TrainingJobSpec` field
            (``max_runtime_s``, ``max_attempts``, ``environment``, ``checkpoint_uri``,
            ``register_as``, ``experiment``, ``tags``, ``base_job_name``, ``module``,
            ``executor``: which of the server's executors runs the job, ``local`` or
            ``ray``, default the server's), or a SageMaker name.
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
        if hyperparameters is not None and not isinstance(hyperparameters, Mapping):
            raise InvalidArgument(
                "hyperparameters must map names to values ({'epochs': 10}), not "
                f"{type(hyperparameters).__name__}",
                field="hyperparameters",
            )
        self.entry_point = entry_point
        self.source_dir = source_dir
        self.hyperparameters = _Hyperparameters(hyperparameters or {})
        self.metric_definitions = list(metric_definitions or [])
        self.resources = dict(resources or {})
        options = _sagemaker_options(options)
        for key in ("instance_type", "instance_count"):
            if key in options:
                self.resources[key] = options.pop(key)
        self.options = options
        self.latest_job: TrainingJob | None = None

    @classmethod
    def builtin(
        cls, algorithm: str, hyperparameters: Mapping[str, Any] | None = None, **options: Any
    ) -> Estimator:
        """An estimator for a built-in algorithm (``xgboost``, ``linear-learner``)."""
        return cls(hyperparameters=hyperparameters, algorithm=algorithm, **options)

    def set_hyperparameters(self, **hyperparameters: Any) -> None:
        """Add or replace hyperparameters (the SageMaker SDK's method)."""
        self.hyperparameters.update(hyperparameters)

    def _spec(
        self, client: Client, inputs: Mapping[str, Any], job_name: str | None
    ) -> TrainingJobSpec | dict[str, Any]:
        opts = dict(self.options)
        body: dict[str, Any] = {
            "name": job_name,
            "entry_point": self.entry_point,
            "module": opts.pop("module", None),
            "algorithm": opts.pop("algorithm", None),
            "hyperparameters": dict(self.hyperparameters),
            "metric_definitions": self.metric_definitions,
            "resources": self.resources,
            "inputs": {
                k: to_store(client, _channel(v), f"jobs/inputs/{k}", f"inputs.{k}.uri")
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
            "executor": opts.pop("executor", None),
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
            check_entry_point(self.source_dir, self.entry_point)
            body["source_dir"] = to_store(client, str(self.source_dir), "jobs/source", "source_dir")
        elif is_local(self.entry_point) and not body.get("module"):
            # The SageMaker SDK's habit: an entry point without source_dir is a local script,
            # sent alone (as SageMaker sends it), in a folder of its own.
            script = expand_user(str(self.entry_point), "entry_point")
            if not script.is_file():
                raise InvalidArgument(
                    f"entry point {self.entry_point} is not a file here; give source_dir, the "
                    "folder that holds it, for a script the server has",
                    field="entry_point",
                )
            stored = upload_path(client, script, "jobs/source", "entry_point")
            body["source_dir"], _, body["entry_point"] = stored.rpartition("/")
        # The server's own spec model: a bad value fails here, naming the field as it would.
        return spec_body(
            TrainingJobSpec, **{k: v for k, v in body.items() if v not in (None, {}, [])}
        )

    def fit(
        self,
        inputs: Any = None,
        *,
        wait: bool = True,
        logs: bool | str = True,
        job_name: str | None = None,
        **ignored: Any,
    ) -> TrainingJob:
        """Submit a training job (``inputs``: a URI for the ``train`` channel, or
        ``{channel: uri}``) and, with ``wait``, block until it ends.

        Local files and folders among the inputs are uploaded first, like ``source_dir``.
        As in the SageMaker SDK, ``logs`` may be ``"All"`` or ``"None"``, a channel may be a
        ``TrainingInput``, and ``experiment_config`` is accepted (and ignored).
        """
        unknown = sorted(set(ignored) - {"experiment_config"})
        if unknown:
            raise InvalidArgument(f"unknown fit() argument {unknown[0]!r}", field=unknown[0])
        client = context().server()
        single = isinstance(inputs, str) or getattr(inputs, "config", None) is not None
        channels = {"train": inputs} if single else dict(inputs or {})
        # Local code and data are uploaded (the server reads only its store and data roots).
        spec = self._spec(client, channels, job_name)
        answer = client.call(routes.SUBMIT_TRAINING_JOB(), spec)
        self.latest_job = TrainingJob(answer["name"], client)
        if wait:
            self.latest_job.wait(logs=logs not in (False, "None", "none"))
        return self.latest_job

    def deploy(
        self,
        initial_instance_count: int | None = None,
        instance_type: str | None = None,
        serializer: Serializer | None = None,
        deserializer: Deserializer | None = None,
        *,
        endpoint_name: str | None = None,
        name: str | None = None,
        wait: bool = True,
        **kwargs: Any,
    ) -> EndpointHandle:
        """Deploy the model this estimator trained behind an endpoint (see
        :func:`dockyard.deploy` for the options).

        In the SageMaker SDK's shape: the endpoint is ``endpoint_name`` (or ``name``; by
        default the training job's name), ``initial_instance_count`` is its number of workers,
        ``instance_type`` is accepted and ignored (workers share this machine), and the handle
        returned predicts with ``serializer`` / ``deserializer``.
        """
        from dockyard.client.sdk._endpoints import deploy

        uri = self.model_uri
        if uri is None or self.latest_job is None:
            raise InvalidArgument("the estimator has no trained model yet: call fit() first")
        for key in ("model_name", "tags", "data_capture_config", "kms_key", "volume_size"):
            kwargs.pop(key, None)  # AWS-only deploy() arguments
        return deploy(
            uri,
            name=endpoint_name or name or self.latest_job.name,
            wait=wait,
            initial_instance_count=initial_instance_count,
            instance_type=instance_type,
            serializer=serializer,
            deserializer=deserializer,
            **kwargs,
        )

    @property
    def model_data(self) -> str | None:
        """The SageMaker SDK's name for :attr:`model_uri`."""
        return self.model_uri

    def transformer(
        self,
        instance_count: int | None = None,
        instance_type: str | None = None,
        **kwargs: Any,
    ) -> Transformer:
        """A :class:`~dockyard.client.sdk.Transformer` for the model this estimator trained,
        called as the SageMaker SDK's is (``transformer(1, "ml.m5.large", ...)``)."""
        from dockyard.client.sdk._transform import Transformer

        uri = self.model_uri
        if uri is None:
            raise InvalidArgument("the estimator has no trained model yet: call fit() first")
        return Transformer(uri, instance_count, instance_type, **kwargs)

    @property
    def model_uri(self) -> str | None:
        """The trained model of the latest job, once it has completed."""
        if self.latest_job is None:
            return None
        return self.latest_job.describe().model_uri
