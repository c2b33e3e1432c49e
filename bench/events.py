"""Notifications: event -> webhook latency, and sustained fan-out to many subscribers.

A real ``dockyard server`` (SQLite) sends webhooks to a minimal asyncio HTTP/1.1 receiver in
this process, which records when each ``X-Dockyard-Event-Id`` arrives.

1. Latency: one subscription; events published one at a time (``POST /topics/x/publish``);
   the time from sending the publish request to the webhook's arrival, p50/p95/max.
2. Throughput: ``--subscribers`` subscriptions to one topic, events published at ``--rate``
   per second for ``--seconds``; every second, the backlog (deliveries due but not received)
   and the load average. A backlog that stays flat is keeping up; one that grows is not.
   Then the server's CPU time per delivery (user + system, which other processes' load
   inflates far less than wall time): what the rate would be with one core to itself.

Everything (server, publisher, receiver) shares the machine's cores.

    .venv/bin/python bench/events.py [--rate 1000] [--subscribers 10] [--seconds 20]

Run with another checkout's interpreter (``/path/to/other/.venv/bin/python bench/events.py``)
to measure that checkout's server under the same benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvloop

sys.path.insert(0, str(Path(__file__).parent))

from _servers import Server


class Receiver:
    """HTTP/1.1 keep-alive receiver on its own event loop thread; counts event ids."""

    def __init__(self) -> None:
        self.arrived: dict[int, float] = {}
        self.count = 0
        self.port = 0
        self._ready = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()
        self._ready.wait(10)

    def _run(self) -> None:
        # uvloop: the receiver should not be what limits the figure (the default loop tops out
        # near the rates measured here on a shared 2-core machine).
        loop = uvloop.new_event_loop()
        server = loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        loop.run_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length, event = 0, 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    key = name.strip().lower()
                    if key == b"content-length":
                        length = int(value)
                    elif key == b"x-dockyard-event-id":
                        event = int(value)
                await reader.readexactly(length)
                now = time.perf_counter()
                self.count += 1
                self.arrived.setdefault(event, now)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


def _subscribe(api: httpx.Client, receiver: Receiver, topic: str, n: int) -> None:
    api.post("/api/v1/topics", json={"name": topic}).raise_for_status()
    for i in range(n):
        body = {
            "events": [f"topic.{topic}"],
            "endpoint": f"http://127.0.0.1:{receiver.port}/hook/{i}",
            "name": f"{topic}-{i}",
        }
        api.post("/api/v1/subscriptions", json=body).raise_for_status()


def latency(api: httpx.Client, receiver: Receiver, count: int) -> dict[str, float]:
    _subscribe(api, receiver, "latency", 1)
    samples = []
    for i in range(count):
        started = time.perf_counter()
        event = api.post("/api/v1/topics/latency/publish", json={"message": f"m{i}"}).json()
        deadline = time.monotonic() + 10
        while event["event_id"] not in receiver.arrived:
            assert time.monotonic() < deadline, "a webhook did not arrive in 10 s"
            time.sleep(0.0005)
        samples.append((receiver.arrived[event["event_id"]] - started) * 1000)
    samples.sort()
    return {
        "p50_ms": statistics.median(samples),
        "p95_ms": samples[int(len(samples) * 0.95) - 1],
        "max_ms": samples[-1],
    }


async def _publish(url: str, rate: int, seconds: float, sent: list[int]) -> None:
    """Publish over HTTP at ``rate``/s with at most 64 requests in flight (what a client
    pool allows); ``sent`` counts those that succeeded."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as api:
        start = time.perf_counter()
        slots = asyncio.Semaphore(64)

        async def one(i: int) -> None:
            try:
                answer = await api.post("/api/v1/topics/load/publish", json={"message": f"m{i}"})
                if answer.status_code == 201:
                    sent.append(1)
            finally:
                slots.release()

        tasks = []
        for i in range(int(rate * seconds)):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)  # pacing the load, not synchronisation
            await slots.acquire()
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks, return_exceptions=True)


def _append(home: Path, rate: int, seconds: float, sent: list[int]) -> None:
    """Append ``topic.load`` events straight to the server's database, ``rate``/s in batches
    every 50 ms, as services append them in their own transactions: measures fan-out and
    delivery apart from the HTTP publish path."""
    from dockyard.server.actor import Actor
    from dockyard.server.events import EventLog
    from dockyard.server.store import open_database

    db = open_database(f"sqlite:///{home / 'dockyard.db'}")
    log = EventLog(db)
    actor = Actor.system("bench")
    per_batch = max(1, rate // 20)
    start = time.perf_counter()
    for batch in range(int(seconds * 20)):
        delay = start + batch / 20 - time.perf_counter()
        if delay > 0:
            time.sleep(delay)  # pacing the load, not synchronisation
        with db.write() as conn:
            for i in range(per_batch):
                body = {"message": f"m{batch}-{i}", "attributes": {}}
                log.append(
                    conn, actor, "topic.load", "topic", "load", scope="topic:load", body=body
                )
        sent.extend([1] * per_batch)
    db.dispose()


def throughput(
    server: Server,
    home: Path,
    api: httpx.Client,
    receiver: Receiver,
    args: argparse.Namespace,
) -> list[tuple[float, int, int, int, float]]:
    rate, subs, seconds = args.rate, args.subscribers, args.seconds
    _subscribe(api, receiver, "load", subs)
    base = receiver.count
    sent: list[int] = []
    if args.source == "http":
        thread = threading.Thread(
            target=lambda: asyncio.run(_publish(server.url, rate, seconds, sent))
        )
    else:
        thread = threading.Thread(target=_append, args=(home, rate, seconds, sent))
    began = time.perf_counter()
    cpu_before = server.cpu_seconds()
    thread.start()
    rows = []
    while thread.is_alive() or receiver.count - base < len(sent) * subs:
        time.sleep(1.0)  # sampling once a second, not synchronisation
        got = receiver.count - base
        backlog = len(sent) * subs - got
        rows.append((time.perf_counter() - began, len(sent), got, backlog, os.getloadavg()[0]))
        print(
            f"t={rows[-1][0]:5.1f}s published={len(sent):6d} delivered={got:7d} "
            f"backlog={backlog:7d} load={rows[-1][4]:.2f}",
            flush=True,
        )
        if rows[-1][0] > seconds * 4 + 30:
            print("giving up: the backlog is not draining")
            break
    cpu = server.cpu_seconds() - cpu_before
    delivered = receiver.count - base
    print(
        f"server CPU: {cpu:.1f} s for {delivered} deliveries = "
        f"{cpu / max(delivered, 1) * 1e6:.0f} us each "
        f"(one core's worth: {delivered / max(cpu, 1e-9):.0f} deliveries/s)"
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--subscribers", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--latency-samples", type=int, default=300)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--source",
        choices=["db", "http"],
        default="db",
        help="db: append events to the log directly; http: POST /topics/load/publish",
    )
    args = parser.parse_args()
    receiver = Receiver()
    env = {"DOCKYARD_WEBHOOK_ALLOW_PRIVATE": "true", "DOCKYARD_NOTIFY_CONCURRENCY": "64"}
    with (
        tempfile.TemporaryDirectory() as tmp,
        Server.dockyard(home := Path(tmp) / "home", workers=args.workers, env=env) as server,
        httpx.Client(base_url=server.url, timeout=30) as api,
    ):
        found = latency(api, receiver, args.latency_samples)
        print(
            f"event -> webhook: p50 {found['p50_ms']:.1f} ms, "
            f"p95 {found['p95_ms']:.1f} ms, max {found['max_ms']:.1f} ms "
            f"(load {os.getloadavg()[0]:.2f})"
        )
        rows = throughput(server, home, api, receiver, args)
    last = rows[-1]
    print(
        f"published {last[1]} events at a target {args.rate}/s to {args.subscribers} "
        f"subscribers: {last[2]} deliveries in {last[0]:.1f} s "
        f"({last[2] / last[0]:.0f}/s), peak backlog {max(r[3] for r in rows)}"
    )


if __name__ == "__main__":
    main()
