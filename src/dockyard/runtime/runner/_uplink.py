"""The runner's line to the server: the job's log and status go up, its control state comes back.

The runner (and the transform process it starts) write to two files in the runner's own work
folder: ``.dockyard/output.log`` (the job's output) and ``.dockyard/server/events.jsonl`` (status
transitions and progress, one fsynced line each: :mod:`dockyard.runtime.runner._events`). A thread
of the runner sends what is new in each, in that order, a few times a second:

- log bytes to ``POST /api/v1/jobs/{name}/logs?offset=N``, which appends them to the job's log
  in the artifact store;
- status lines to ``POST /api/v1/jobs/{name}/reports``, each with its offset in the outbox, so
  a report sent again after a lost answer changes nothing. The answer is the job's control
  state: a stop requested through the API reaches a runner on any machine this way (the local
  executor also signals it). With nothing to report, the thread still asks every second.

While the server is unreachable (a restart) everything waits in the files and is sent when it
answers again. At the end the runner closes the uplink: the rest of the log first, then the
final status, retried for hours if need be, so a job that ends while the server is down still
reports how it ended. If the server answers that the job is over (or its token no longer
works) the runner has been given up on, and stops.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dockyard.client.http import Client, SocketTransport, routes
from dockyard.errors import Conflict, DockyardError, NotFound, PermissionDenied, Unauthenticated
from dockyard.limits import LIMITS
from dockyard.runtime.runner._events import read_events

__all__ = ["Uplink"]

_TICK_S = 0.25
_POLL_S = 1.0  # asks for the control state at least this often
_LOG_EVERY_FIRST_S = 0.25  # the first minutes of a job: its log follows closely
_LOG_EVERY_MAX_S = 2.0  # a long job: fewer, larger parts
_RETRY_S = 5.0  # per request while the job runs: the loop itself retries after that
_FINAL_RETRY_S = 6 * 3600.0
_GIVEN_UP = (Unauthenticated, PermissionDenied, NotFound, Conflict)
_ACTIVE = frozenset({"InProgress", "Stopping"})


class Uplink:
    """Sends one job's log and status to the server and hears back about stops.

    Args:
        server: The server's URL.
        job: The job's name.
        token: The runner's token (None on a server without accounts).
        events: The runner's status outbox (a fresh file for this launch).
        log: The job's local log; bytes from ``log_from`` on are sent.
        log_at: The server log's size when the runner started: ``log_from`` goes there.
        on_stop: Called (from the uplink's thread) when the server asks the job to stop, or
            has given up on it.
    """

    def __init__(
        self,
        server: str,
        job: str,
        token: str | None,
        *,
        events: Path,
        log: Path,
        log_from: int,
        log_at: int,
        on_stop: Callable[[], None],
    ) -> None:
        self._client = Client(server, token=token, transport=SocketTransport())
        self._job = job
        self._events = events
        self._log = log
        self._log_local = log_from
        self._log_remote = log_at
        self._events_at = 0
        self._on_stop = on_stop
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._started = time.monotonic()
        self._log_sent_at = 0.0
        self._contact_at = 0.0
        self._thread = threading.Thread(target=self._run, name="dockyard-uplink", daemon=True)
        self.given_up: str | None = None
        """Why the server no longer takes this job's reports (None while it does)."""

    def start(self) -> Uplink:
        """Start sending (again: a no-op)."""
        if self._thread.ident is None:
            self._thread.start()
        return self

    def wake(self) -> None:
        """Send now (a status line was just written)."""
        self._wake.set()

    def close(self, retry_for: float = _FINAL_RETRY_S) -> None:
        """Stop the thread and send everything left: the log's end, then the final status."""
        self._closing.set()
        self._wake.set()
        self._thread.join()
        deadline = time.monotonic() + retry_for
        while self.given_up is None:
            try:
                self._send(final=True, retry_for=max(1.0, deadline - time.monotonic()))
                return
            except DockyardError as exc:
                self._note(exc)
                if time.monotonic() >= deadline:
                    self._say(f"the server did not take the job's last report: {exc}")
                    return
                time.sleep(1.0)

    # -- the thread -----------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._closing.is_set():
            self._wake.clear()
            try:
                self._send(final=False, retry_for=_RETRY_S)
            except DockyardError as exc:
                self._note(exc)
            except OSError as exc:  # the local files: nothing to send until they exist
                self._say(f"reading the job's log or status failed: {exc}")
            if self.given_up is not None:
                return
            self._wake.wait(_TICK_S)

    def _send(self, *, final: bool, retry_for: float) -> None:
        self._send_log(final=final, retry_for=retry_for)
        lines, end = read_events(self._events, self._events_at)
        now = time.monotonic()
        if lines or end > self._events_at or final or now - self._contact_at >= _POLL_S:
            self._report(lines, end, retry_for)

    def _send_log(self, *, final: bool, retry_for: float) -> None:
        now = time.monotonic()
        every = min(_LOG_EVERY_MAX_S, _LOG_EVERY_FIRST_S + (now - self._started) / 300)
        if not final and now - self._log_sent_at < every:
            return
        self._log_sent_at = now
        try:
            handle = self._log.open("rb")
        except FileNotFoundError:
            return
        with handle:
            while True:
                handle.seek(self._log_local)
                data = handle.read(LIMITS.transfer_chunk)
                if not data:
                    return
                try:
                    # The offset makes a repeated part harmless: the server de-duplicates it.
                    call = routes.APPEND_JOB_LOG(name=self._job)
                    answer = self._client.request(
                        call.method,
                        call.path,
                        params={"offset": self._log_remote},
                        content=data,
                        headers={"content-type": "application/octet-stream"},
                        retry=call.idempotent,
                        retry_for=retry_for,
                    )
                except Conflict as exc:
                    size = exc.details.get("size")
                    if not isinstance(size, int):
                        raise
                    # The server's log is shorter than this runner thought (its parts were
                    # lost): go on from where it ends rather than leave a hole.
                    self._log_remote = size
                    continue
                self._log_local += len(data)
                self._log_remote = int(answer["size"])
                if not final and len(data) < LIMITS.transfer_chunk:
                    return

    def _report(self, lines: list[dict[str, Any]], end: int, retry_for: float) -> None:
        for start in range(0, max(1, len(lines)), LIMITS.report_events):
            batch = lines[start : start + LIMITS.report_events]
            last = start + LIMITS.report_events >= len(lines)
            next_offset = end if last else lines[start + LIMITS.report_events]["at"]
            control = self._client.call(
                routes.REPORT_JOB(name=self._job),
                {"events": batch, "next_offset": next_offset},
                retry_for=retry_for,
            )
            self._events_at = next_offset
            self._contact_at = time.monotonic()
            if control["status"] not in _ACTIVE:
                self.given_up = f"the server says the job is {control['status']}"
                self._on_stop()
                return
            if control["stop_requested"]:
                self._on_stop()

    def _note(self, exc: DockyardError) -> None:
        """A request that failed: the server gave up on this job, or it is away for now."""
        if isinstance(exc, _GIVEN_UP):
            self.given_up = str(exc)
            self._say(f"the server no longer takes this job's reports: {exc}")
            self._on_stop()

    def _say(self, message: str) -> None:
        # The runner's own output: the executor keeps it (``Executor.logs``).
        print(f"[dockyard runner] {message}", flush=True)
