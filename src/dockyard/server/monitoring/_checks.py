"""What a schedule's spec names, checked against the world once, at create and update: the
endpoint (capturing, with that variant) or transform job it watches, its baseline's files or
the data to suggest one from (inside the allowed roots), the core's check options. Each refusal
names the spec's field."""

from __future__ import annotations

from typing import Any

import orjson

from dockyard.api.monitoring import BaselineSource, MonitoringScheduleSpec
from dockyard.artifacts import open_artifact_store
from dockyard.errors import InvalidArgument, NotFound
from dockyard.server.actor import Actor
from dockyard.server.tracking import TrackingService
from dockyard.settings import Settings

__all__ = ["BASELINE_FILES", "SpecChecks"]

BASELINE_FILES = ("statistics.json", "constraints.json")
#: A baseline file larger than this is refused (a profile of many features is a few MB).
_MAX_BASELINE = 64 << 20


class SpecChecks:
    """The checks, over the services that know what a spec names."""

    def __init__(
        self, settings: Settings, tracking: TrackingService, jobs: Any, endpoints: Any
    ) -> None:
        self._settings = settings
        self._tracking = tracking
        self._jobs = jobs
        self._endpoints = endpoints

    def spec(self, actor: Actor, spec: MonitoringScheduleSpec) -> None:
        """What the spec names exists and may be read: the endpoint or transform job, the
        baseline's files (or the data to suggest one from), the cron expression; and its
        reports may be written where it says."""
        if not spec.is_hourly:
            from dockyard.server.triggers import Cron

            Cron.parse(spec.schedule, spec.timezone, field="schedule")
        target = spec.target
        if target.endpoint is not None:
            try:
                endpoint = self._endpoints.get(actor, target.endpoint)
            except NotFound as exc:
                raise InvalidArgument(exc.message, field="target.endpoint") from exc
            if not endpoint.config.capture.enabled:
                raise InvalidArgument(
                    f"endpoint {target.endpoint!r} does not capture its traffic: turn capture "
                    "on (capture: {enabled: true})",
                    field="target.endpoint",
                )
            variants = {v.name for v in endpoint.config.variants}
            if target.variant is not None and target.variant not in variants:
                known = ", ".join(sorted(variants))
                raise InvalidArgument(
                    f"endpoint {target.endpoint!r} has no variant {target.variant!r} (it has "
                    f"{known})",
                    field="target.variant",
                )
        elif target.transform_job is not None:
            try:
                job = self._jobs.get(actor, target.transform_job)
            except NotFound as exc:
                raise InvalidArgument(exc.message, field="target.transform_job") from exc
            if job.kind != "transform":
                raise InvalidArgument(
                    f"job {target.transform_job!r} is a {job.kind} job, not a transform",
                    field="target.transform_job",
                )
        self.options(spec.check.options())
        self.baseline(actor, spec.baseline, "baseline")
        self.executor(spec.executor)
        if spec.reports_uri is not None:
            self.reports(actor, spec.reports_uri)

    def reports(self, actor: Actor, uri: str) -> None:
        """Executions' jobs may write their reports under ``uri``: where a job's spec may."""
        self._jobs.checks.check_location(actor, uri, "reports_uri", write=True)

    def executor(self, name: str | None) -> None:
        """The server runs the executor ``name`` names (None: its default)."""
        self._jobs.executors.choose(name)

    def baseline(self, actor: Actor, baseline: BaselineSource, field: str) -> None:
        if baseline.uri is not None:
            self._jobs.checks.check_location(actor, baseline.uri, f"{field}.uri")
            store = open_artifact_store(
                baseline.uri, s3_endpoint_url=self._settings.s3_endpoint_url
            )
            missing = [n for n in BASELINE_FILES if not store.exists(n)]
            if missing:
                raise InvalidArgument(
                    f"{baseline.uri} lacks {' and '.join(missing)} (a baseline folder holds "
                    "statistics.json and constraints.json)",
                    field=f"{field}.uri",
                )
            self._readable_baseline(store, baseline.uri, f"{field}.uri")
            return
        self.baseline_data(actor, baseline, field)

    @staticmethod
    def _readable_baseline(store: Any, uri: str, field: str) -> None:
        """The baseline's files are what every check reads: refuse them now, as the local
        ``monitor check`` does, rather than fail each window."""
        from dockyard.monitor import parse_baseline

        documents = []
        for name in BASELINE_FILES:
            if (store.stat(name).size or 0) > _MAX_BASELINE:
                raise InvalidArgument(
                    f"{uri}/{name} is larger than {_MAX_BASELINE >> 20} MB", field=field
                )
            with store.open_read(name) as handle:
                documents.append(handle.read())
        try:
            parse_baseline(documents[0], documents[1], uri.rstrip("/"), field)
        except InvalidArgument as exc:  # the message names the file; the field is the spec's
            raise InvalidArgument(exc.message, field=field) from None

    def baseline_data(self, actor: Actor, baseline: BaselineSource, field: str) -> str:
        """The URI of the data a baseline is suggested from (a dataset, a training job's
        channel, a run's logged input), checked to lie in the allowed roots."""
        source = baseline.suggest_from
        assert source is not None
        where = f"{field}.suggest_from"
        if source.dataset_uri is not None:
            uri, field_name = source.dataset_uri, f"{where}.dataset_uri"
        elif source.training_job is not None:
            field_name = f"{where}.training_job"
            try:
                job = self._jobs.get(actor, source.training_job)
            except NotFound as exc:
                raise InvalidArgument(exc.message, field=field_name) from exc
            channel = (job.spec.get("inputs") or {}).get(source.channel)
            if channel is None:
                raise InvalidArgument(
                    f"job {source.training_job!r} has no input channel {source.channel!r}",
                    field=f"{where}.channel",
                )
            uri = str(channel["uri"])
        else:
            assert source.run_id is not None
            field_name = f"{where}.run_id"
            uri = self._run_input(actor, source.run_id, source.dataset, field_name)
        self._jobs.checks.check_location(actor, uri, field_name)
        return uri

    def _run_input(self, actor: Actor, run_id: str, name: str | None, field: str) -> str:
        try:
            run = self._tracking.get_run(actor, run_id)
        except NotFound as exc:
            raise InvalidArgument(exc.message, field=field) from exc
        inputs = list(run.inputs or [])
        for item in inputs:
            dataset = item.dataset
            if name is None or dataset.name == name:
                source = str(dataset.source)
                try:
                    parsed = orjson.loads(source)
                except orjson.JSONDecodeError:
                    return source
                if isinstance(parsed, dict):
                    for key in ("uri", "path", "url"):
                        if isinstance(parsed.get(key), str):
                            return str(parsed[key])
                return source
        what = f"logged input named {name!r}" if name else "logged input"
        raise InvalidArgument(f"run {run_id!r} has no {what}", field=field)

    @staticmethod
    def options(options: dict[str, Any]) -> None:
        """Refuse check options the core would refuse at the first check, naming the field."""
        from dockyard.monitor import CheckOptions

        try:
            CheckOptions(**options)
        except InvalidArgument as exc:
            raise InvalidArgument(
                exc.message, field=f"check.{exc.field or ''}".rstrip(".")
            ) from exc
