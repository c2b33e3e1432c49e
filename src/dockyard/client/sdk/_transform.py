"""Batch scoring from Python: ``dy.Transformer(model_uri, ...).transform(input_uri, ...)``."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from dockyard.api.batch import respelled
from dockyard.api.jobs import Job, JobStatus
from dockyard.client.http import Client, from_answer, routes
from dockyard.client.sdk._context import context
from dockyard.client.sdk._jobs import TrainingJob
from dockyard.client.sdk._requests import transform_request
from dockyard.client.sdk._upload import download_outputs, is_local, to_store
from dockyard.errors import DockyardError, JobFailed
from dockyard.paths import expand_user

__all__ = ["TransformJob", "Transformer"]

#: Spec field -> the keyword a :class:`Transformer` caller passed, so errors name what they wrote.
KEYWORDS: Mapping[str, str] = {
    "name": "job_name",
    "input.uri": "data",
    "input.content_type": "content_type",
    "input.split_type": "split_type",
    "input.compression": "compression_type",
    "input.display_uri": "data",
    "output.uri": "output_path",
    "output.accept": "accept",
    "output.assemble_with": "assemble_with",
    "batch_strategy": "strategy",
    "max_payload_mb": "max_payload",
    "max_concurrent_transforms": "instance_count",
    "data_processing.input_filter": "input_filter",
    "data_processing.output_filter": "output_filter",
    "data_processing.join_source": "join_source",
    "bad_records.on_error": "on_error",
}


class TransformJob(TrainingJob):
    """A submitted transform job; ``wait`` shows a progress bar (records, rate, ETA).

    Args:
        download_to: A local folder the outputs are downloaded into once the job completes
            (when the transform was given a local ``output_path``).
    """

    def __init__(
        self,
        name: str,
        client: Client,
        download_to: str | Path | None = None,
        names: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(name, client)
        self.download_to = download_to
        self._names = names  # how the caller spelled the spec's fields, for failure reasons

    _COMMAND = "transform"

    def __repr__(self) -> str:
        return f"<TransformJob {self.name}>"

    def download(self, dest: str | Path) -> Path:
        """Download the outputs (``<input name>.out`` files, ``_manifest.json``) into ``dest``."""
        return download_outputs(self._client, self.name, dest)

    def resume(self) -> Job:
        """Queue it again after a failure or stop; finished shards are not redone."""
        return from_answer(Job, self._client.call(routes.RESUME_JOB(name=self.name)))

    def wait(self, logs: bool = True, poll: float = 0.25, out: TextIO | None = None) -> Job:
        """Block until the job ends; then download the outputs if a local folder was asked for.

        Raises:
            JobFailed: The job ended Failed or Stopped.
        """
        try:
            job = self._wait(logs, poll, out)
        except KeyboardInterrupt:
            self._left_running(out or (sys.stdout if not logs else sys.stderr))
            raise
        except JobFailed as failed:
            if self._names is None:
                raise
            raise respelled(failed, self._names) from None
        if self.download_to is not None:
            self.download(self.download_to)
        return job

    def _wait(self, logs: bool, poll: float, out: TextIO | None) -> Job:
        if not logs:
            return self._follow(False, poll, out)
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )

        console = Console(file=out or sys.stderr)
        columns = (
            TextColumn(f"[bold]{self.name}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[records]:,} records  {task.fields[rate]}"),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=console, transient=False) as bar:
            task = bar.add_task("transform", total=None, records=0, rate="")
            wait = 0.0
            while True:
                job = self.describe(wait=wait)
                p = job.progress or {}
                if p.get("bytes_total"):
                    bar.update(
                        task,
                        total=p["bytes_total"],
                        completed=p.get("bytes_done", 0),
                        records=p.get("records", 0),
                        rate=f"{p.get('records_per_s', 0):,.0f}/s",
                    )
                if job.status.is_terminal:
                    break
                # The next answer comes once the job ends, or after ``poll`` for the bar.
                wait = min(poll, self._long_poll())
        if job.status is not JobStatus.COMPLETED:
            raise JobFailed(
                f"job {self.name} {job.status.value.lower()}: "
                f"{job.failure_reason or job.events[-1].message}",
                details={"job": self.name, "status": job.status.value},
            )
        # One line whatever the terminal's width: wrapped, it ended in a dangling "; ".
        console.print(job.events[-1].message, soft_wrap=True, markup=False, highlight=False)
        return job


class Transformer:
    """Score files through a model as a transform job, SageMaker's Transformer shape.

    Args:
        model_uri: ``models:/name@alias``, ``runs:/<run>/model``, a local package or ``s3://``.
        output_path: Where ``<input name>.out`` files go: an ``s3://`` or ``file://`` URI the
            server writes to, or a local folder (the outputs are written to the store, then
            downloaded into it when ``wait`` sees the job complete); default
            ``transform/<job>/`` in the artifact store.
        instance_count: Parallel worker processes (``max_concurrent_transforms``).
        instance_type: Accepted and ignored: the workers share the server's machine.
        max_concurrent_transforms: Parallel worker processes; wins over ``instance_count``.
        strategy: ``MultiRecord`` (batches up to ``max_payload`` MB) or ``SingleRecord``.
        assemble_with: ``Line`` or ``None``.
        accept: Output content type (``text/csv``, ``application/jsonlines``).
        max_payload: Megabytes per mini-batch.
        on_error: ``fail`` at the first bad record, or ``skip`` and count bad records.
        executor: Which of the server's executors runs the job (``local``, ``ray``); default
            the server's.

    As in the SageMaker SDK, ``instance_count`` and ``instance_type`` may come second and third
    (``Transformer(model, 1, "ml.m5.large", ...)``), and ``tags`` may be ``[{"Key", "Value"}]``.
    """

    def __init__(
        self,
        model_uri: str,
        instance_count: int | None = None,
        instance_type: str | None = None,
        *,
        output_path: str | None = None,
        strategy: str = "MultiRecord",
        assemble_with: str = "Line",
        accept: str | None = None,
        max_payload: int = 6,
        max_concurrent_transforms: int | None = None,
        on_error: str = "fail",
        experiment: str | None = None,
        tags: dict[str, str] | list[dict[str, str]] | None = None,
        executor: str | None = None,
    ) -> None:
        del instance_type  # the workers share the server's machine
        self.model_uri = model_uri
        self.executor = executor
        self.output_path = output_path
        self.instance_count = max_concurrent_transforms or instance_count
        self._workers_keyword = (
            "max_concurrent_transforms" if max_concurrent_transforms else "instance_count"
        )
        self.strategy = strategy
        self.assemble_with = assemble_with
        self.accept = accept
        self.max_payload = max_payload
        self.on_error = on_error
        self.experiment = experiment
        if isinstance(tags, list):  # the SageMaker SDK's [{"Key": ..., "Value": ...}]
            tags = {str(t["Key"]): str(t.get("Value", "")) for t in tags}
        self.tags = dict(tags or {})
        self.latest_job: TransformJob | None = None

    @property
    def _keywords(self) -> Mapping[str, str]:
        """Spec fields by the keyword that set them here."""
        return {**KEYWORDS, "max_concurrent_transforms": self._workers_keyword}

    def transform(
        self,
        data: str | Path,
        *,
        content_type: str = "text/csv",
        split_type: str = "Line",
        compression_type: str | None = None,
        input_filter: str | None = None,
        output_filter: str | None = None,
        join_source: str | None = None,
        job_name: str | None = None,
        wait: bool = True,
        logs: bool = True,
    ) -> TransformJob:
        """Submit a transform job over ``data`` (a file, folder or prefix, local or s3://).

        A local model folder and local input are uploaded to the store first.
        """
        client = context().server()
        body: dict[str, Any] = {
            "name": job_name,
            "model_uri": to_store(client, self.model_uri, "models", "model_uri"),
            "input": {
                "uri": to_store(client, str(data), "transform/inputs", "data"),
                "content_type": content_type,
                "split_type": split_type,
                **({"compression": compression_type} if compression_type else {}),
                # Errors name the file the caller gave, not the store's copy of it.
                **({"display_uri": str(data)} if is_local(data) else {}),
            },
            "batch_strategy": self.strategy,
            "max_payload_mb": self.max_payload,
            "data_processing": {
                k: v
                for k, v in (
                    ("input_filter", input_filter),
                    ("output_filter", output_filter),
                    ("join_source", join_source),
                )
                if v is not None
            },
            "bad_records": {"on_error": self.on_error},
            "experiment": self.experiment,
            "tags": self.tags,
            "executor": self.executor,
        }
        output: dict[str, Any] = {"assemble_with": self.assemble_with}
        # A local folder is resolved now, against the current directory: the download happens
        # when the job completes, and the process may have moved by then.
        download_to = None
        if is_local(self.output_path):
            download_to = expand_user(str(self.output_path), "output_path").absolute()
        if self.output_path and download_to is None:
            output["uri"] = self.output_path
        if self.accept:
            output["accept"] = self.accept
        body["output"] = output
        if self.instance_count:
            body["max_concurrent_transforms"] = self.instance_count
        # Checked against the server's own spec model: a bad value fails here, naming the
        # keyword the caller passed (not the spec field it fills).
        try:
            spec = transform_request({k: v for k, v in body.items() if v not in (None, {})})
            answer = client.call(routes.SUBMIT_TRANSFORM_JOB(), spec)
        except DockyardError as exc:
            raise respelled(exc, self._keywords) from None
        self.latest_job = TransformJob(answer["name"], client, download_to, self._keywords)
        if wait:
            self.latest_job.wait(logs=logs)
        return self.latest_job
