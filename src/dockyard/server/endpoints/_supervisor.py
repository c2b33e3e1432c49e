"""The endpoint supervisor: keeps every endpoint's workers running, rolls out updates with
automatic rollback, and scales fleets by load.

A :class:`~dockyard.server.loops.BackgroundLoop` under the ``endpoints`` leadership lock; workers
are started through a launcher (:mod:`dockyard.server.endpoints._launcher`). Slow work (loading
models, baking a canary) happens on one thread per endpoint, so one endpoint's rollout never delays
another's crash recovery. On taking the lock it reattaches to workers that outlived a restart;
an update a restart interrupted is rolled back to the configuration that was in service.

An update's traffic steps are held and judged as :class:`~dockyard.server.endpoints.Rollout` says
(partial steps ``bake_s``, 100% ``final_bake_s``, each needing ``thresholds.min_requests``);
the step being held is recorded for ``describe`` (:mod:`dockyard.server.endpoints._progress`).

An endpoint fails only when no worker serves it. A worker that fails to start while others
serve (its model's load raised in that one process, the machine ran short of memory) is
reported as an event and started again later, with a growing pause between attempts. A Failed
endpoint's port answers every request at once that it failed
(:meth:`~dockyard.server.endpoints._port.EndpointPorts.refuse`), until an update or a delete.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dockyard.api.endpoints import EndpointConfig, EndpointStatus, RolloutStep
from dockyard.api.serving.config import WorkerConfig
from dockyard.errors import DockyardError, InvalidArgument
from dockyard.server.endpoints._fleet import SUPERVISOR, Fleet
from dockyard.server.endpoints._launcher import LocalWorkerLauncher, WorkerLauncher
from dockyard.server.endpoints._port import EndpointPorts
from dockyard.server.endpoints._progress import clear_progress, write_progress
from dockyard.server.endpoints._service import EndpointService
from dockyard.server.endpoints._traffic import blend, green_names, judge, limit_fields, totals
from dockyard.server.loops import BackgroundLoop
from dockyard.server.store import Database
from dockyard.settings import Settings

__all__ = ["Supervisor"]

log = logging.getLogger("dockyard.server.endpoints")

_TICK_S = 0.5
_COPY_LOGS_S = 2.0  # how often workers' logs on other machines are copied here
_LOOK_S = 0.25  # between looks at a held step's counters
# Pauses between attempts to start a worker that keeps failing while others serve.
_RETRY_FIRST_S = 1.0
_RETRY_MAX_S = 60.0


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _pause(until_bake_ends: float) -> float:
    """How long a held step sleeps between looks at the counters: a quarter second, less to
    end the bake on time (never a busy loop once it has ended)."""
    if until_bake_ends <= 0:
        return _LOOK_S
    return max(0.01, min(_LOOK_S, until_bake_ends))


class Supervisor(BackgroundLoop):
    """Carries out what the endpoint service records."""

    name = SUPERVISOR
    interval_s = _TICK_S

    def __init__(
        self,
        endpoints: EndpointService,
        db: Database,
        settings: Settings,
        *,
        resolve: Callable[[str], tuple[str, str | None]],
        capture_root: str,
        launcher: WorkerLauncher | None = None,
    ) -> None:
        super().__init__(db, settings.home, wake=endpoints.wake)
        self._svc = endpoints
        self._settings = settings
        self._resolve = resolve
        self._capture_root = capture_root
        self._launcher = launcher or LocalWorkerLauncher(settings)
        self._fleets: dict[str, Fleet] = {}
        self._busy: dict[str, threading.Thread] = {}
        self._load: dict[str, deque[float]] = {}
        self._scaled_at: dict[str, float] = {}
        self._launch_failures: dict[str, int] = {}
        self._retry_at: dict[str, float] = {}
        self._logs_copied: dict[str, float] = {}  # by endpoint: when its logs were last copied
        self._fixed_limits: set[str] = set()  # endpoints whose workers refused new limits
        # The server's own connection limits hold for its endpoints' workers and ports too.
        self._limits = settings.connection_limits()
        self._ports = EndpointPorts(self._limits)

    # Stopping leaves the workers serving while the server is away; the next leader
    # reattaches to them.

    def fleet(self, name: str) -> Fleet:
        if name not in self._fleets:
            fleet = Fleet(self._settings.home / "endpoints" / name, self._launcher)
            fleet.sweep()  # before this supervisor launches any worker for the endpoint
            self._fleets[name] = fleet
        return self._fleets[name]

    # -- loop ---------------------------------------------------------------------------------

    def reconcile(self) -> None:
        """An update a restart interrupted is rolled back to the configuration in service."""
        for row in self._svc.rows():
            status = EndpointStatus(row.status)
            if status in (EndpointStatus.UPDATING, EndpointStatus.ROLLING_BACK):
                self._spawn(row.name, self._interrupted, row)

    def tick(self) -> None:
        """One pass over every endpoint."""
        for row in self._svc.rows():
            name, status = row.name, EndpointStatus(row.status)
            busy = name in self._busy and self._busy[name].is_alive()
            if status is EndpointStatus.FAILED:
                if not busy and not self._ports.refusing(name):
                    self._refuse(row)
                continue
            if self._ports.refusing(name):
                if busy:  # its work just failed: the port says so before its status does
                    continue
                self._ports.close(name)  # updated or deleted: its workers take the port
            if status is not EndpointStatus.DELETING:
                self._hold_port(row)
            if busy:
                continue
            if status is EndpointStatus.CREATING:
                self._spawn(name, self._create, row)
            elif status is EndpointStatus.UPDATING:
                self._spawn(name, self._update, row)
            elif status is EndpointStatus.DELETING:
                self._spawn(name, self._delete, row)
            elif status is EndpointStatus.IN_SERVICE:
                self._keep(row)

    def finish(self) -> None:
        """The next leader serves the endpoints' ports (workers on this machine keep theirs)."""
        self._ports.close_all()

    def _hold_port(self, row: Any) -> None:
        """Serve the endpoint's port here when its workers listen elsewhere (replicas on a
        cluster's nodes), forwarding to them (:mod:`dockyard.server.endpoints._port`)."""
        fleet = self.fleet(row.name)
        if not any(h.port for h in fleet.workers):
            return  # on the endpoint's port itself, or nothing to forward to yet
        config = fleet.current_config()  # asked from a replica once after a restart
        if config is None:
            return

        def addresses() -> list[tuple[str, int]]:  # at each request: replacements count at once
            return [(h.host, h.port) for h in fleet.workers if h.port]

        bind_host = EndpointConfig.model_validate_json(row.config).bind_host
        self._ports.serve(row.name, bind_host, row.port, addresses, config)

    def _refuse(self, row: Any) -> None:
        """Answer on a Failed endpoint's port that it failed, unless a worker still serves it
        (:meth:`EndpointPorts.refuse`): the launcher's listening socket, which no worker
        accepts on any more, is let go first, so no caller waits on it for nothing."""
        fleet = self.fleet(row.name)
        if fleet.workers:
            return
        self._launcher.release(fleet.folder)
        bind_host = EndpointConfig.model_validate_json(row.config).bind_host
        self._ports.refuse(row.name, bind_host, row.port)

    def _spawn(self, name: str, work: Callable[[Any], object], row: Any) -> None:
        def run() -> None:
            try:
                work(row)
            except Exception as exc:
                log.exception("endpoint %s", name)
                message = exc.message if isinstance(exc, DockyardError) else repr(exc)
                try:  # its port says so before its status does: no caller is left waiting
                    self._refuse(row)
                except Exception:
                    log.exception("endpoint %s: answering on its port that it failed", name)
                # A failed endpoint has no update in progress: what it would serve is its config.
                self._svc.transition(
                    name,
                    EndpointStatus.FAILED,
                    message,
                    failure_reason=message,
                    pending_config=None,
                )

        thread = threading.Thread(target=run, name=f"dockyard-endpoint-{name}", daemon=True)
        self._busy[name] = thread
        thread.start()

    # -- operations ---------------------------------------------------------------------------

    def _worker_config(
        self, row: Any, blue: EndpointConfig | None, green: EndpointConfig | None, share: float
    ) -> tuple[Any, dict[str, float]]:
        worker, traffic = blend(
            blue,
            green,
            share,
            resolve=self._resolve,
            port=row.port,
            capture_root=self._capture_root,
            api_keys=self._svc.key_digests(row.name),
            s3_endpoint_url=self._settings.s3_endpoint_url,
            limits=self._limits,
        )
        serving = self.fleet(row.name).config
        if row.name in self._fixed_limits and serving is not None:
            # Workers that refused the server's limits would refuse every config carrying them.
            kept = {field: getattr(serving, field) for field in limit_fields(self._limits)}
            worker = worker.model_copy(update=kept)
        return worker, traffic

    def _sync(self, name: str, fleet: Fleet, worker: WorkerConfig) -> WorkerConfig:
        """Push the endpoint's current API keys, then the server's connection limits, if the
        workers' differ (a key was made or revoked; the server restarted with other limits
        while its workers ran on); returns the config the workers now serve."""
        keys = self._svc.key_digests(name)
        if keys != worker.api_keys:
            worker = self._push(fleet, worker.model_copy(update={"api_keys": keys}))
        limits = limit_fields(self._limits)
        if name in self._fixed_limits or all(
            getattr(worker, field) == value for field, value in limits.items()
        ):
            return worker
        try:
            return self._push(fleet, worker.model_copy(update=limits))
        except InvalidArgument as exc:
            if exc.field not in limits:
                raise
            # Workers of an earlier version take new limits only when they start: they keep
            # serving (and taking keys) under the old ones until replaced.
            self._fixed_limits.add(name)
            log.warning("endpoint %s: its workers keep their connection limits: %s", name, exc)
            return worker

    @staticmethod
    def _push(fleet: Fleet, worker: WorkerConfig) -> WorkerConfig:
        if fleet.workers:
            fleet.push(worker)
        else:
            fleet.config = worker
        return worker

    def _create(self, row: Any) -> None:
        config = EndpointConfig.model_validate_json(row.config)
        worker, traffic = self._worker_config(row, config, None, 0.0)
        fleet = self.fleet(row.name)
        while len(fleet.workers) < config.scaling.min_workers:
            if not self._launch(row.name, fleet, worker, EndpointStatus.CREATING):
                break  # the others serve; _keep starts the missing ones later
        self._hold_port(row)  # in service: its URL answers
        self._svc.transition(
            row.name,
            EndpointStatus.IN_SERVICE,
            f"{len(fleet.workers)} worker(s) serving",
            traffic=traffic,
        )

    def _keep(self, row: Any) -> None:
        """Replace crashed workers; scale by in-flight requests."""
        config = EndpointConfig.model_validate_json(row.config)
        fleet = self.fleet(row.name)
        for dead in fleet.reap():
            self._svc.transition(
                row.name, EndpointStatus.IN_SERVICE, f"worker {dead.pid} exited; replacing it"
            )
        now = time.monotonic()
        if now >= self._logs_copied.get(row.name, 0.0) + _COPY_LOGS_S:
            self._logs_copied[row.name] = now
            fleet.copy_logs()
        worker = fleet.current_config()
        if worker is None:
            worker, _ = self._worker_config(row, config, None, 0.0)
        try:
            worker = self._sync(row.name, fleet, worker)
        except (DockyardError, OSError):  # a worker going away mid-push: the next tick retries
            log.warning(
                "endpoint %s: pushing its API keys or limits failed", row.name, exc_info=True
            )
        if len(fleet.workers) < config.scaling.min_workers:
            if time.monotonic() >= self._retry_at.get(row.name, 0.0):
                self._spawn(row.name, lambda _: self._launch(row.name, fleet, worker), row)
            return
        self._autoscale(row, config, fleet, worker)

    def _autoscale(self, row: Any, config: EndpointConfig, fleet: Fleet, worker: Any) -> None:
        scaling = config.scaling
        if scaling.max_workers == scaling.min_workers:
            return
        stats = fleet.stats()
        in_flight = sum(s["in_flight"] for w in stats for s in w.get("variants", {}).values())
        samples = self._load.setdefault(row.name, deque(maxlen=10))
        samples.append(in_flight / max(1, len(fleet.workers)))
        average = sum(samples) / len(samples)
        now = time.monotonic()
        if now - self._scaled_at.get(row.name, 0.0) < scaling.cooldown_s:
            return
        n = len(fleet.workers)
        if average > scaling.target_in_flight and n < scaling.max_workers:
            self._scaled_at[row.name] = now
            self._svc.transition(
                row.name,
                EndpointStatus.IN_SERVICE,
                f"scaling out to {n + 1} workers ({average:.1f} in flight each)",
            )
            self._spawn(row.name, lambda _: self._launch(row.name, fleet, worker), row)
        elif average < scaling.target_in_flight / 4 and n > scaling.min_workers:
            self._scaled_at[row.name] = now
            self._svc.transition(
                row.name,
                EndpointStatus.IN_SERVICE,
                f"scaling in to {n - 1} workers ({average:.1f} in flight each)",
            )
            self._spawn(row.name, lambda _: fleet.drain_one(fleet.workers[-1]), row)

    def _update(self, row: Any) -> None:
        blue = EndpointConfig.model_validate_json(row.config)
        green = EndpointConfig.model_validate_json(row.pending_config)
        fleet = self.fleet(row.name)
        rollout = green.rollout
        worker, _ = self._worker_config(row, blue, green, 0.0)
        try:
            fleet.push(worker)  # load the new models everywhere before any traffic moves
        except (DockyardError, OSError) as exc:  # the old models still serve everywhere
            self._rollback(row, blue, green, fleet, _load_failure(exc, blue, green), loaded=False)
            return
        steps = rollout.steps()
        for number, (share, hold) in enumerate(steps, start=1):
            worker, traffic = self._worker_config(row, blue, green, share)
            fleet.push(worker)
            baking = f", held {hold:g} s" if hold else ""
            self._svc.transition(
                row.name,
                EndpointStatus.UPDATING,
                f"{share:.0%} of traffic on the new configuration "
                f"(step {number} of {len(steps)}{baking})",
                traffic=traffic,
            )
            try:
                breach = self._bake(
                    row, fleet, worker, blue, green, number, len(steps), share, hold
                )
            finally:
                clear_progress(fleet.folder)
            if self._stopping.is_set():
                return  # the next leader rolls the interrupted update back
            if breach is not None:
                self._rollback(row, blue, green, fleet, breach)
                return
        final, traffic = self._worker_config(row, green, None, 0.0)
        fleet.push(final)
        self._grow(row.name, fleet, final, green)
        self._svc.transition(
            row.name,
            EndpointStatus.IN_SERVICE,
            "update complete",
            config=green.model_dump_json(),
            pending_config=None,
            traffic=traffic,
        )

    def _bake(
        self,
        row: Any,
        fleet: Fleet,
        worker: WorkerConfig,
        blue: EndpointConfig,
        green: EndpointConfig,
        number: int,
        steps: int,
        share: float,
        hold: float,
    ) -> str | None:
        """Hold one traffic step and judge the new configuration; why it must be rolled back,
        or None when it passed (or is not judged: held 0 s).

        The step passes once ``hold`` has elapsed and the new configuration has answered
        ``thresholds.min_requests`` requests in it; short of them it is held until the
        rollout's ``max_hold``, then fails. A breach of the thresholds fails it at once.
        """
        if hold <= 0:
            return None
        rollout = green.rollout
        need = rollout.thresholds.min_requests
        green_wnames = list(green_names(blue, green).values())
        before = totals(fleet.stats(), green_wnames)
        start = time.monotonic()
        started_ms = _now_ms()
        bake_until = start + hold
        give_up = start + rollout.max_hold(hold)
        progress = RolloutStep(
            step=number,
            steps=steps,
            share=share,
            phase="baking",
            started_time=started_ms,
            bake_until_time=started_ms + round(hold * 1000),
            give_up_time=started_ms + round(rollout.max_hold(hold) * 1000),
            requests=0,
            min_requests=need,
        )
        write_progress(fleet.folder, progress)
        waiting_reported = False
        while not self._stopping.wait(_pause(bake_until - time.monotonic())):
            worker = self._sync(row.name, fleet, worker)  # a revocation cannot wait
            window = totals(fleet.stats(), green_wnames).minus(before)
            breach = judge(window, rollout.thresholds)
            if breach is not None:
                return breach
            now = time.monotonic()
            enough = window.requests >= need
            if now >= bake_until and enough:
                return None
            if now >= give_up:
                return (
                    f"the new configuration answered {window.requests} request(s) at "
                    f"{share:.0%} of traffic in {rollout.max_hold(hold):g} s; "
                    f"thresholds.min_requests needs {need}"
                )
            phase = "baking" if now < bake_until else "waiting_for_traffic"
            if phase == "waiting_for_traffic" and not waiting_reported:
                waiting_reported = True
                self._svc.transition(
                    row.name,
                    EndpointStatus.UPDATING,
                    f"step {number} of {steps} baked {hold:g} s but the new configuration "
                    f"answered {window.requests} of the {need} requests it needs; waiting up to "
                    f"{give_up - now:.0f} s more",
                )
            if (phase, window.requests) != (progress.phase, progress.requests):
                progress = progress.model_copy(update={"phase": phase, "requests": window.requests})
                write_progress(fleet.folder, progress)
        return None

    def _launch(
        self,
        name: str,
        fleet: Fleet,
        worker: Any,
        status: EndpointStatus = EndpointStatus.IN_SERVICE,
    ) -> bool:
        """Start one worker; False if it failed while others serve (reported, retried later).

        With no other worker serving, the failure is raised: the endpoint cannot serve at all.
        """
        try:
            fleet.launch(worker)
        except Exception as exc:
            if not fleet.workers:
                raise
            failures = self._launch_failures.get(name, 0) + 1
            self._launch_failures[name] = failures
            pause = min(_RETRY_MAX_S, _RETRY_FIRST_S * 2 ** (failures - 1))
            self._retry_at[name] = time.monotonic() + pause
            reason = exc.message if isinstance(exc, DockyardError) else repr(exc)
            log.warning("endpoint %s: a worker failed to start: %s", name, reason)
            self._svc.transition(
                name,
                status,
                f"a worker failed to start ({len(fleet.workers)} serving); "
                f"retrying in {pause:.0f} s: {reason}",
            )
            return False
        self._launch_failures.pop(name, None)
        self._retry_at.pop(name, None)
        return True

    def _grow(self, name: str, fleet: Fleet, worker: Any, config: EndpointConfig) -> None:
        while len(fleet.workers) < config.scaling.min_workers:
            if not self._launch(name, fleet, worker, EndpointStatus.UPDATING):
                break
        while len(fleet.workers) > config.scaling.max_workers:
            fleet.drain_one(fleet.workers[-1])

    def _rollback(
        self,
        row: Any,
        blue: EndpointConfig,
        green: EndpointConfig,
        fleet: Fleet,
        reason: str,
        *,
        loaded: bool = True,
    ) -> None:
        """Serve ``blue`` alone again. ``loaded``: the new models loaded everywhere (when they
        did not, no traffic moved, and pushing them again would fail again)."""
        self._svc.transition(row.name, EndpointStatus.ROLLING_BACK, f"rolling back: {reason}")
        if loaded:
            worker, _ = self._worker_config(row, blue, green, 0.0)
            fleet.push(worker)  # traffic back first, then unload the new models
        worker, traffic = self._worker_config(row, blue, None, 0.0)
        fleet.push(worker)
        self._svc.transition(
            row.name,
            EndpointStatus.IN_SERVICE,
            f"rolled back to the previous configuration: {reason}",
            pending_config=None,
            traffic=traffic,
            failure_reason=f"update rolled back: {reason}",
        )

    def _interrupted(self, row: Any) -> None:
        blue = EndpointConfig.model_validate_json(row.config)
        fleet = self.fleet(row.name)
        clear_progress(fleet.folder)  # left by a supervisor that was killed mid-step
        worker, traffic = self._worker_config(row, blue, None, 0.0)
        if fleet.workers:
            fleet.push(worker)
        self._svc.transition(
            row.name,
            EndpointStatus.IN_SERVICE,
            "an update was interrupted by a server restart; the previous configuration serves",
            pending_config=None,
            traffic=traffic,
            failure_reason="update interrupted by a server restart; submit it again",
        )

    def _delete(self, row: Any) -> None:
        self._ports.close(row.name)
        fleet = self.fleet(row.name)
        fleet.drain_all()
        self._fleets.pop(row.name, None)
        self._launch_failures.pop(row.name, None)
        self._retry_at.pop(row.name, None)
        self._fixed_limits.discard(row.name)
        self._svc.remove(row.name)
        shutil.rmtree(Path(fleet.folder), ignore_errors=True)


def _load_failure(exc: Exception, blue: EndpointConfig, green: EndpointConfig) -> str:
    """Why an update's models did not load, naming the variant and its model when the worker
    said which (a worker names its own variants; a new one named like an old one has a
    suffix)."""
    if not isinstance(exc, DockyardError):
        return f"a worker did not take the new configuration: {exc!r}"
    wname = exc.details.get("variant")
    by_worker_name = {w: user for user, w in green_names(blue, green).items()}
    uris = {v.name: v.model_uri for v in green.variants}
    if wname in by_worker_name:
        user = by_worker_name[wname]
        return f"variant {user} ({uris[user]}) failed to load: {exc.message}"
    if green.shadow is not None and wname == green.shadow.name:
        return f"shadow {wname} ({green.shadow.model_uri}) failed to load: {exc.message}"
    return f"the new configuration failed to load: {exc.message}"
