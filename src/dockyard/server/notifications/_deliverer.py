"""The delivery loop: sends due deliveries, records every attempt, retries, dead-letters.

Sends run in a bounded thread pool (``notify_concurrency``) over one keep-alive HTTP client,
each with ``notify_timeout_s``. The loop keeps the pool full: each pass records finished sends
in one transaction, then takes as many due deliveries as there are free slots, so one slow
receiver holds one slot, not the whole batch. While sends are in flight, passes come every
20 ms or when a quarter of the slots have finished, whichever is first: batches, not one
transaction per send. A failure is retried after a random wait in
``[0, min(retry_max_s, retry_base_s * 2**(attempts-1))]`` ("full jitter": receivers that came
back are not hit by every sender at once) until the delivery's horizon, then marked ``dead``.

At least once: a delivery is marked done only after its receiver answered 2xx, so a crash
mid-send sends it again after restart, with the same ``X-Dockyard-Event-Id``.
"""

from __future__ import annotations

import queue
import random
import smtplib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import bindparam, insert, select, update

from dockyard.server.loops import BackgroundLoop
from dockyard.server.notifications._formats import email_message, render, signed_headers
from dockyard.server.notifications._targets import resolve_allowed
from dockyard.server.store import Database, schema
from dockyard.settings import Settings

__all__ = ["Deliverer"]

_S = schema.subscriptions
_D = schema.deliveries
_A = schema.delivery_attempts
_E = schema.events
_MAX_ERROR = 1000
_BATCH_S = 0.02


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
        settings: Concurrency, timeout, backoff, SMTP and the SSRF switch.
        wake: Set by the fan-out when it queued something.
    """

    name = "notifications-delivery"
    # The fan-out may lead in another worker process, whose wake-ups do not reach this one.
    interval_s = 0.05

    def __init__(
        self,
        db: Database,
        home: Path,
        settings: Settings,
        *,
        wake: threading.Event | None = None,
    ) -> None:
        super().__init__(db, home, wake=wake)
        self._settings = settings
        self._slots = settings.notify_concurrency
        self._pool = ThreadPoolExecutor(self._slots, thread_name_prefix="dockyard-notify")
        self._http = httpx.Client(
            timeout=settings.notify_timeout_s,
            limits=httpx.Limits(max_connections=self._slots, max_keepalive_connections=self._slots),
            follow_redirects=False,
        )
        self._inflight: set[int] = set()
        self._batch = max(1, self._slots // 4)
        self._done: queue.SimpleQueue[_Result] = queue.SimpleQueue()

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._http.close()

    def tick(self) -> float | None:
        self._record()
        free = self._slots - len(self._inflight)
        # Once busy, take and record work in batches: each pass costs a read and a write
        # transaction whatever it moves, and passes of one or two sends were the bottleneck.
        if free > 0 and (free >= self._batch or not self._inflight):
            for row in self._due(_now_ms(), free):
                self._inflight.add(row.delivery_id)
                self._pool.submit(self._send, row)
        if self._inflight:
            return _BATCH_S  # stragglers are recorded within this, without a wake-up
        now = _now_ms()
        with self._db.read() as conn:
            soonest = conn.execute(
                select(_D.c.next_attempt_time)
                .where(_D.c.status == "pending", _D.c.next_attempt_time > now)
                .order_by(_D.c.next_attempt_time)
                .limit(1)
            ).scalar()
        if soonest is None:
            return None
        return max(0.0, min(self.interval_s, (int(soonest) - now) / 1000))

    def _due(self, now: int, limit: int) -> list[Any]:
        query_filter = [_D.c.status == "pending", _D.c.next_attempt_time <= now]
        if self._inflight:
            query_filter.append(_D.c.delivery_id.notin_(self._inflight))
        with self._db.read() as conn:
            return list(
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
                    .where(*query_filter)
                    .order_by(_D.c.next_attempt_time)
                    .limit(limit)
                ).all()
            )

    # -- sending (pool threads) -----------------------------------------------------------------

    def _send(self, row: Any) -> None:
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        try:
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
                self._email(row.endpoint, event)
            else:
                status, error = self._post(row, event)
        except Exception as exc:  # whatever failed, the attempt is logged and retried
            error = f"{type(exc).__name__}: {exc}"
        latency = (time.perf_counter() - started) * 1000
        self._done.put(
            _Result(
                delivery_id=row.delivery_id,
                subscription_id=row.subscription_id,
                event_id=row.event_id,
                attempts=row.attempts + 1,
                horizon_time=row.horizon_time,
                status_code=status,
                latency_ms=round(latency, 3),
                error=error[:_MAX_ERROR] if error else None,
                time=_now_ms(),
            )
        )
        if self._done.qsize() >= self._batch:
            self.wake()

    def _post(self, row: Any, event: dict[str, Any]) -> tuple[int | None, str | None]:
        refused = resolve_allowed(row.endpoint, allow_private=self._settings.webhook_allow_private)
        if refused is not None:
            return None, refused
        body = render(row.format, event, row.subscription_id)
        timestamp = str(int(time.time()))
        headers = signed_headers(row.secret, timestamp, body, row.event_id)
        answer = self._http.post(row.endpoint, content=body, headers=headers)
        if 200 <= answer.status_code < 300:
            return answer.status_code, None
        return answer.status_code, f"HTTP {answer.status_code}: {answer.text[:200]}"

    def _email(self, to: str, event: dict[str, Any]) -> None:
        settings = self._settings
        if not settings.smtp_host:
            raise RuntimeError("no SMTP server: set DOCKYARD_SMTP_HOST")
        subject, text = email_message(event)
        message = EmailMessage()
        message["From"] = settings.smtp_from
        message["To"] = to
        message["Subject"] = subject
        message["X-Dockyard-Event-Id"] = str(event["id"])
        message.set_content(text)
        with smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=settings.notify_timeout_s
        ) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user:
                secret = settings.smtp_password
                smtp.login(settings.smtp_user, secret.get_secret_value() if secret else "")
            smtp.send_message(message)

    # -- recording (the loop's thread) ----------------------------------------------------------

    def _backoff_ms(self, attempts: int) -> int:
        cap = min(
            self._settings.notify_retry_max_s,
            self._settings.notify_retry_base_s * 2 ** min(attempts - 1, 30),
        )
        return int(random.uniform(0, cap) * 1000)  # jitter, not a secret

    def _record(self) -> None:
        results: list[_Result] = []
        while True:
            try:
                results.append(self._done.get_nowait())
            except queue.Empty:
                break
        if not results:
            return
        try:
            self._write(results)
        finally:
            # Unrecorded results stay pending in the queue and are sent again: at least once.
            for r in results:
                self._inflight.discard(r.delivery_id)

    def _write(self, results: list[_Result]) -> None:
        now = _now_ms()
        updates = []
        for r in results:
            if r.ok:
                status, next_time = "delivered", r.time
            else:
                next_time = now + self._backoff_ms(r.attempts)
                status = "dead" if next_time > r.horizon_time else "pending"
            updates.append(
                {
                    "b_id": r.delivery_id,
                    "b_status": status,
                    "b_attempts": r.attempts,
                    "b_next": next_time,
                    "b_code": r.status_code,
                    "b_error": r.error,
                    "b_now": now,
                }
            )
        with self._db.write() as conn:
            conn.execute(
                update(_D)
                .where(_D.c.delivery_id == bindparam("b_id"))
                .values(
                    status=bindparam("b_status"),
                    attempts=bindparam("b_attempts"),
                    next_attempt_time=bindparam("b_next"),
                    last_status_code=bindparam("b_code"),
                    last_error=bindparam("b_error"),
                    updated_time=bindparam("b_now"),
                ),
                updates,
            )
            # A subscription deleted mid-send took its deliveries along: log only live ones.
            live = set(
                conn.execute(
                    select(_D.c.delivery_id).where(
                        _D.c.delivery_id.in_([r.delivery_id for r in results])
                    )
                ).scalars()
            )
            attempts = [
                {
                    "delivery_id": r.delivery_id,
                    "subscription_id": r.subscription_id,
                    "event_id": r.event_id,
                    "time": r.time,
                    "status_code": r.status_code,
                    "latency_ms": r.latency_ms,
                    "error": r.error,
                }
                for r in results
                if r.delivery_id in live
            ]
            if attempts:
                conn.execute(insert(_A), attempts)
