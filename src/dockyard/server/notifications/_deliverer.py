"""The delivery loop: claims due deliveries in batches, sends them, records every attempt.

One thread does it all, in passes (a :class:`~dockyard.server.loops.BackgroundLoop`):

1. one write transaction records the outcomes gathered since the last pass and claims up to a
   window's worth of due ``pending`` rows by marking them ``sending``;
2. then an asyncio event loop runs in the same thread, for up to 20 ms: it starts the claimed
   sends on keep-alive connection pools per host (:mod:`._http`: at most
   ``notify_concurrency`` connections to one host, each exchange bounded by
   ``notify_timeout_s``) and keeps the earlier ones going, until that time is up or a batch of
   outcomes is waiting.

One thread rather than a database thread and a sender thread: outcomes are a plain list, not
a queue between threads, and stopping has one thread to wait for. Sends pause during a pass's
database work (a few milliseconds); measured against a separate sender thread, the CPU per
delivery and the rate were the same within the noise of a shared machine.

A pass moves hundreds of rows, not one, which is what lets one process send thousands of
webhooks a second. A failure goes back to ``pending`` with a random wait in
``[0, min(retry_max_s, retry_base_s * 2**(attempts-1))]`` ("full jitter": receivers that came
back are not hit by every sender at once) until the delivery's horizon, then it is ``dead``.

At least once: a delivery is marked done only after its receiver answered 2xx. ``sending`` rows
belong to the leader that claimed them; a new leader (after a crash, SIGKILL included) puts them
back to ``pending`` when it takes the lead, so they are sent again, with the same
``X-Dockyard-Event-Id``. Delivered rows older than ``notify_retention_s`` are pruned
(:mod:`._retention`).
"""

from __future__ import annotations

import asyncio
import functools
import random
import smtplib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import orjson
import uvloop
from sqlalchemy import Connection, select, update

from dockyard.errors import DockyardError, Unavailable
from dockyard.server.events import EventLog
from dockyard.server.loops import BackgroundLoop
from dockyard.server.notifications._confirmations import confirm_url
from dockyard.server.notifications._formats import (
    CONFIRMATION,
    confirmation_body,
    confirmation_email,
    email_message,
    render,
    signed_headers,
)
from dockyard.server.notifications._http import Answer, HttpPools
from dockyard.server.notifications._retention import prune_delivered
from dockyard.server.notifications._rows import INSERT_ATTEMPTS, RECORD_OUTCOME, execute_many
from dockyard.server.store import Database, schema
from dockyard.settings import Settings

__all__ = ["QUEUED", "Deliverer", "failure_text"]

#: Announced (never stored) after a commit that queued deliveries.
QUEUED = "notification.queued"

_S = schema.subscriptions
_D = schema.deliveries
_A = schema.delivery_attempts
_E = schema.events
_MAX_ERROR = 1000
_BATCH_S = 0.02
#: Claimed and not yet recorded, at most: enough to keep every connection busy between passes.
_WINDOW = 2000
#: Outcomes waiting that make the loop pass at once instead of at the end of ``_BATCH_S``.
_RECORD_AT = 200
_PRUNE_EVERY_S = 60.0
#: What an SMTP send may occupy at once (blocking sends, in threads).
_SMTP_THREADS = 4


@dataclass(frozen=True)
class _Result:
    delivery_id: int
    subscription_id: str
    event_id: int
    attempts: int
    horizon_time: int
    status_code: int | None
    latency_ms: float
    error: str | None
    time: int

    @property
    def ok(self) -> bool:
        return self.error is None


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class Deliverer(BackgroundLoop):
    """Sends queued deliveries (see the module docstring).

    Args:
        db: The metadata database holding the queue.
        home: For the leadership lock.
        settings: Concurrency, timeout, backoff, retention, SMTP and the SSRF switch.
        events: Announces :data:`QUEUED` when a fan-out (of any server process on this
            machine) queued deliveries: that wakes the loop.
        wake: An event others set to make the loop pass at once.
        interval_s: How often an idle loop looks for due deliveries anyway (a fan-out on
            another machine, or a system where the event log tells no peers).
    """

    name = "notifications-delivery"
    interval_s = 0.05

    def __init__(
        self,
        db: Database,
        home: Path,
        settings: Settings,
        events: EventLog,
        *,
        wake: threading.Event | None = None,
        interval_s: float | None = None,
    ) -> None:
        super().__init__(db, home, wake=wake, interval_s=interval_s)
        self._events = events
        events.on_append(self._heard)
        self._settings = settings
        self._inflight = 0
        self._results: list[_Result] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._nudge: asyncio.Event | None = None  # set while the loop runs: "pass now"
        self._http: HttpPools | None = None
        self._smtp: ThreadPoolExecutor | None = None
        self._pruned_at = 0.0
        # Whether the next pass should look for due rows: woken (something was queued), the
        # last claim was full, or interval_s has passed (other processes' fan-outs, retries).
        self._look = True
        self._looked_at = 0.0
        self._woken = False  # since this pass began: its sends should not wait the full 20 ms

    # -- lifecycle ------------------------------------------------------------------------------

    def reconcile(self) -> None:
        """Put back what a previous leader claimed and never recorded: it is sent again."""
        with self._db.write() as conn:
            conn.execute(update(_D).where(_D.c.status == "sending").values(status="pending"))

    def wake(self) -> None:
        self._look = self._woken = True
        super().wake()
        loop, nudge = self._loop, self._nudge
        if loop is not None and nudge is not None:
            loop.call_soon_threadsafe(nudge.set)

    def _heard(self, type: str) -> None:
        if type == QUEUED:
            self.wake()

    def stop(self, timeout: float = 10.0) -> None:
        self._events.off_append(self._heard)
        super().stop(timeout)
        loop, http = self._loop, self._http
        if loop is not None and not self._thread.is_alive():
            # Sends still in flight are abandoned: their rows stay claimed, and the next leader
            # puts them back (reconcile). The pools close on a thread of their own: the server
            # stops its loops from its own running event loop, where no other loop may run.
            def close() -> None:
                if http is not None:
                    loop.run_until_complete(http.aclose())
                loop.close()

            closer = threading.Thread(target=close, name="dockyard-delivery-close")
            closer.start()
            closer.join(timeout)
            self._loop = None
        if self._smtp is not None:
            self._smtp.shutdown(wait=False, cancel_futures=True)

    # -- one pass: the database, then the sends ---------------------------------------------------

    def tick(self) -> float | None:
        self._woken = False
        results, self._results = self._results, []
        free = _WINDOW - self._inflight
        look, self._look = self._look, False
        look = free > 0 and (
            look or bool(results) or time.monotonic() - self._looked_at >= self.interval
        )
        claimed: list[Any] = []
        now = _now_ms()
        if results or look:
            try:
                with self._db.write() as conn:
                    if results:
                        self._record(conn, results, now)
                    if look:
                        self._looked_at = time.monotonic()
                        claimed = self._claim(conn, now, free)
            except Exception:
                self._results[:0] = results  # recorded by a later pass (or sent again)
                self._look = True
                raise
            self._inflight -= len(results)
            if len(claimed) == free:
                self._look = True  # more may be due
        if time.monotonic() - self._pruned_at > _PRUNE_EVERY_S:
            self._pruned_at = time.monotonic()
            retention_ms = int(self._settings.notify_retention_s * 1000)
            prune_delivered(self._db, before=now - retention_ms)
        if claimed:
            self._inflight += len(claimed)
        if self._inflight:
            self._send_for(_BATCH_S, claimed)
            return 0.0
        with self._db.read() as conn:
            soonest = conn.execute(
                select(_D.c.next_attempt_time)
                .where(_D.c.status == "pending", _D.c.next_attempt_time > now)
                .order_by(_D.c.next_attempt_time)
                .limit(1)
            ).scalar()
        self._look = True  # idle: the next pass looks, whenever it comes
        if soonest is None:
            return None
        return max(0.0, min(self.interval, (int(soonest) - now) / 1000))

    def _send_for(self, seconds: float, claimed: list[Any]) -> None:
        """Run the event loop in this thread until ``seconds`` pass, a batch of outcomes is
        waiting, or :meth:`wake` is called."""
        if self._loop is None:
            self._loop = uvloop.new_event_loop()
            self._http = HttpPools(
                per_host=self._settings.notify_concurrency,
                allow_private=self._settings.webhook_allow_private,
            )
        self._loop.run_until_complete(self._sending(seconds, claimed))

    async def _sending(self, seconds: float, claimed: list[Any]) -> None:
        nudge = self._nudge = asyncio.Event()
        try:
            self._launch(claimed)
            if self.stopping:
                return
            if self._woken:  # while this pass was in the database: no wake-up was sent here
                nudge.set()
            async with asyncio.timeout(seconds):
                await nudge.wait()
        except TimeoutError:
            pass
        finally:
            self._nudge = None

    def _claim(self, conn: Connection, now: int, limit: int) -> list[Any]:
        rows = list(
            conn.execute(
                select(
                    _D.c.delivery_id,
                    _D.c.subscription_id,
                    _D.c.event_id,
                    _D.c.attempts,
                    _D.c.horizon_time,
                    _S.c.protocol,
                    _S.c.endpoint,
                    _S.c.format,
                    _S.c.secret,
                    _S.c.name,
                    _S.c.confirm_token,
                    _S.c.confirm_expires_time,
                    _D.c.kind,
                    _E.c.time.label("e_time"),
                    _E.c.type.label("e_type"),
                    _E.c.resource_type,
                    _E.c.resource_id,
                    _E.c.actor,
                    _E.c.source,
                    _E.c.outcome,
                    _E.c.body,
                )
                .join(_S, _S.c.subscription_id == _D.c.subscription_id)
                .join(_E, _E.c.id == _D.c.event_id)
                .where(_D.c.status == "pending", _D.c.next_attempt_time <= now)
                .order_by(_D.c.next_attempt_time)
                .limit(limit)
            ).all()
        )
        if rows:
            conn.execute(
                update(_D)
                .where(_D.c.delivery_id.in_([r.delivery_id for r in rows]))
                .values(status="sending", updated_time=now)
            )
        return rows

    def _backoff_ms(self, attempts: int) -> int:
        cap = min(
            self._settings.notify_retry_max_s,
            self._settings.notify_retry_base_s * 2 ** min(attempts - 1, 30),
        )
        return int(random.uniform(0, cap) * 1000)  # jitter, not a secret

    def _record(self, conn: Connection, results: list[_Result], now: int) -> None:
        updates: list[tuple[Any, ...]] = []
        for r in results:
            if r.ok:
                status, next_time = "delivered", r.time
            else:
                next_time = now + self._backoff_ms(r.attempts)
                status = "dead" if next_time > r.horizon_time else "pending"
            updates.append(
                (
                    status,
                    r.attempts,
                    next_time,
                    r.status_code,
                    r.error,
                    now,
                    r.delivery_id,
                    r.subscription_id,
                    r.event_id,
                )
            )
        execute_many(conn, RECORD_OUTCOME, updates)
        execute_many(
            conn,
            INSERT_ATTEMPTS,
            [
                (
                    r.time,
                    r.status_code,
                    r.latency_ms,
                    r.error,
                    r.delivery_id,
                    r.subscription_id,
                    r.event_id,
                )
                for r in results
            ],
        )

    # -- sending (the event loop's thread) ------------------------------------------------------

    def _launch(self, rows: list[Any]) -> None:
        loop = asyncio.get_running_loop()
        for row in rows:
            started = time.perf_counter()
            future: asyncio.Future[Any]
            try:
                if row.kind == "confirmation":
                    future = self._confirmation(loop, row)
                    future.add_done_callback(functools.partial(self._finished, row, started))
                    continue
                event = {
                    "id": row.event_id,
                    "time": row.e_time,
                    "type": row.e_type,
                    "resource_type": row.resource_type,
                    "resource_id": row.resource_id,
                    "actor": row.actor,
                    "source": row.source,
                    "outcome": row.outcome,
                    "body": orjson.loads(row.body),
                }
                if row.protocol == "email":
                    if self._smtp is None:
                        self._smtp = ThreadPoolExecutor(_SMTP_THREADS, "dockyard-notify-smtp")
                    subject, text = email_message(event)
                    future = loop.run_in_executor(
                        self._smtp, self._email, row.endpoint, subject, text, row.event_id
                    )
                else:
                    assert self._http is not None  # made with the loop
                    body = render(row.format, event, row.subscription_id)
                    timestamp = str(int(time.time()))
                    headers = signed_headers(row.secret, timestamp, body, row.event_id)
                    future = self._http.post(
                        row.endpoint, body, headers, timeout=self._settings.notify_timeout_s
                    )
            except Exception as exc:  # a body that cannot be made: logged and retried
                future = loop.create_future()
                future.set_exception(exc)
            future.add_done_callback(functools.partial(self._finished, row, started))

    def _confirmation(self, loop: asyncio.AbstractEventLoop, row: Any) -> asyncio.Future[Any]:
        """Send a subscription's confirmation message (:mod:`._confirmations`)."""
        future: asyncio.Future[Any]
        if row.confirm_token is None:  # confirmed since it was claimed: nothing to ask
            future = loop.create_future()
            future.set_result(Answer(204, "confirmed before it was sent"))
            return future
        confirmation = {
            "subscription_id": row.subscription_id,
            "subscription": row.name,
            "token": row.confirm_token,
            "confirm_url": confirm_url(self._settings, row.confirm_token),
            "expires_time": row.confirm_expires_time,
        }
        if row.protocol == "email":
            if self._smtp is None:
                self._smtp = ThreadPoolExecutor(_SMTP_THREADS, "dockyard-notify-smtp")
            subject, text = confirmation_email(confirmation)
            return loop.run_in_executor(
                self._smtp, self._email, row.endpoint, subject, text, row.event_id
            )
        assert self._http is not None  # made with the loop
        body = confirmation_body(row.format, confirmation)
        timestamp = str(int(time.time()))
        headers = signed_headers(row.secret, timestamp, body, row.event_id, CONFIRMATION)
        return self._http.post(row.endpoint, body, headers, timeout=self._settings.notify_timeout_s)

    def _finished(self, row: Any, started: float, future: asyncio.Future[Any]) -> None:
        if future.cancelled():
            return  # stopping: the row stays claimed, and the next leader sends it
        status: int | None = None
        error: str | None = None
        # A failure's latency runs from the claim; an answer's is its exchange alone.
        latency_ms = (time.perf_counter() - started) * 1000
        exc = future.exception()
        if isinstance(exc, TimeoutError):
            error = f"no answer in {self._settings.notify_timeout_s:g} s"
        elif exc is not None:
            error = failure_text(exc)
        else:
            answer = future.result()
            if isinstance(answer, Answer):
                status, latency_ms = answer.status, answer.elapsed_ms
                if not 200 <= status < 300:
                    error = f"HTTP {status}: {answer.text}"
        self._results.append(
            _Result(
                delivery_id=row.delivery_id,
                subscription_id=row.subscription_id,
                event_id=row.event_id,
                attempts=row.attempts + 1,
                horizon_time=row.horizon_time,
                status_code=status,
                latency_ms=round(latency_ms, 3),
                error=error[:_MAX_ERROR] if error else None,
                time=_now_ms(),
            )
        )
        if len(self._results) >= _RECORD_AT and self._nudge is not None:
            self._nudge.set()

    def _email(self, to: str, subject: str, text: str, event_id: int) -> None:
        settings = self._settings
        if not settings.smtp_host:
            raise Unavailable("no SMTP server: set DOCKYARD_SMTP_HOST on the server")
        message = EmailMessage()
        message["From"] = settings.smtp_from
        message["To"] = to
        message["Subject"] = subject
        message["X-Dockyard-Event-Id"] = str(event_id)
        message.set_content(text)
        with smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=settings.notify_timeout_s
        ) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user:
                secret = settings.smtp_password
                smtp.login(settings.smtp_user, secret.get_secret_value() if secret else "")
            smtp.send_message(message, to_addrs=[to])  # the one address, never a header's parse


def failure_text(exc: BaseException) -> str:
    """A failed send in words, for the delivery log and dead letters (shown to the
    subscription's owner): what went wrong, never a Python class name."""
    if isinstance(exc, DockyardError):
        return exc.message
    if isinstance(exc, smtplib.SMTPResponseException):
        said = (
            exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else ""
        )
        return f"the SMTP server answered {exc.smtp_code}: {said}".rstrip(": ")
    if isinstance(exc, smtplib.SMTPException):
        return f"SMTP: {exc}" if str(exc) else "the SMTP exchange failed"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or "the send failed"
