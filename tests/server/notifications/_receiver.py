"""A real HTTP receiver for webhook tests: a threaded server that records what it gets and
can be told to fail its first N requests, or to hold the requests after its first N unanswered
until it is released (deliveries in flight, for as long as a test needs them to be)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    time: float


@dataclass
class Receiver:
    fail_first: int = 0
    hold_after: int | None = None  # requests after this many wait for release() unanswered
    requests: list[Received] = field(default_factory=list)
    answered: int = 0
    arrived: int = 0
    held: int = 0  # requests waiting for release() now
    lock: threading.Lock = field(default_factory=threading.Lock)
    released: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def ids(self) -> Counter[int]:
        with self.lock:
            return Counter(int(r.headers["x-dockyard-event-id"]) for r in self.requests)

    def ok(self) -> list[Received]:
        """Requests answered 2xx (the ones after the first ``fail_first``)."""
        with self.lock:
            return self.requests[self.fail_first :]

    def release(self) -> None:
        """Answer the held requests, and hold no more."""
        self.released.set()

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the deliverer's client expects

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.arrived += 1
                    hold = (
                        receiver.hold_after is not None
                        and receiver.arrived > receiver.hold_after
                        and not receiver.released.is_set()
                    )
                    receiver.held += int(hold)
                if hold:
                    receiver.released.wait()
                    with receiver.lock:
                        receiver.held -= 1
                with receiver.lock:
                    receiver.requests.append(
                        Received(
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            time.monotonic(),
                        )
                    )
                    failing = len(receiver.requests) <= receiver.fail_first
                status = 503 if failing else 200
                reply = b"down" if failing else b"ok"
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a sender killed mid-request resets its connection: expected here

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def until(condition: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    """Wait for ``condition()`` to be truthy, failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} did not hold within {timeout} s"
        time.sleep(0.01)
