"""The runner's own tiny HTTP client: stdlib sockets only, retried.

The runner talks to the server for everything (its launch description, status reports, its log,
uploads at the end), and the time from submit to the first line of user code is a number users
feel. ``urllib.request`` and ``http.client`` pull in the ``email`` package and ``ssl`` (30-90 ms
on a busy machine); this speaks the little HTTP/1.1 the runner needs over a socket (one request
per connection, ``Content-Length`` or chunked answers) and imports ``ssl`` only for ``https``.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote, urlencode, urlsplit

__all__ = ["HTTPError", "post_bytes", "put_file", "request_json"]

_RETRY_FOR_S = 120.0
_TIMEOUT_S = 60.0
_RETRIED = frozenset({502, 503, 504})
_CHUNK = 1 << 20


class HTTPError(RuntimeError):
    """A request that failed; ``status`` is the server's answer (None when it was unreachable)."""

    def __init__(self, message: str, status: int | None = None, body: bytes = b"") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class _Response:
    def __init__(self, status: int, body: bytes) -> None:
        self.status = status
        self.body = body


def _connect(url: str) -> tuple[socket.socket, str, str]:
    """A connected socket for ``url``, the Host header and the request target."""
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HTTPError(f"cannot send to {url!r}: not an http(s) URL")
    port = parts.port or (443 if secure else 80)
    sock = socket.create_connection((parts.hostname, port), timeout=_TIMEOUT_S)
    if secure:
        import ssl

        sock = ssl.create_default_context().wrap_socket(sock, server_hostname=parts.hostname)
    else:
        # Small requests one after another: do not wait for the ACK of the headers.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return sock, parts.netloc, target


def _read_response(reader: BinaryIO) -> _Response:
    status_line = reader.readline(65537)
    fields = status_line.split(None, 2)
    if len(fields) < 2 or not fields[0].startswith(b"HTTP/"):
        raise ConnectionError(f"not an HTTP answer: {status_line[:100]!r}")
    status = int(fields[1])
    headers: dict[bytes, bytes] = {}
    while True:
        line = reader.readline(65537)
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        body = bytearray()
        while True:
            size = int(reader.readline(1024).split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while reader.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                break
            body += reader.read(size)
            reader.readline(1024)
        return _Response(status, bytes(body))
    if b"content-length" in headers:
        return _Response(status, reader.read(int(headers[b"content-length"])))
    return _Response(status, reader.read())


def _once(
    method: str, url: str, headers: Mapping[str, str], body: bytes | Path | None
) -> _Response:
    sock, host, target = _connect(url)
    try:
        size = 0 if body is None else body.stat().st_size if isinstance(body, Path) else len(body)
        head = [f"{method} {target} HTTP/1.1", f"Host: {host}", "Connection: close"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        if body is not None or method in ("POST", "PUT"):
            head.append(f"Content-Length: {size}")
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        if isinstance(body, Path):
            with body.open("rb") as source:
                while chunk := source.read(_CHUNK):
                    sock.sendall(chunk)
        elif body:
            sock.sendall(body)
        with sock.makefile("rb") as reader:
            return _read_response(reader)
    finally:
        sock.close()


def _send(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | Path | None,
    retry_for: float,
) -> bytes:
    deadline = time.monotonic() + retry_for
    delay = 0.1
    while True:
        try:
            answer = _once(method, url, headers, body)
        except OSError as exc:  # refused, reset, timed out: the server restarts or is away
            if time.monotonic() + delay > deadline:
                raise HTTPError(f"cannot reach {url}: {exc}") from exc
        else:
            if answer.status < 300:
                return answer.body
            if answer.status not in _RETRIED or time.monotonic() + delay > deadline:
                detail = answer.body.decode(errors="replace")[:500]
                raise HTTPError(
                    f"{url} answered {answer.status}: {detail}", answer.status, answer.body
                )
        time.sleep(delay)
        delay = min(delay * 2, 5.0)


def _headers(token: str | None, content_type: str | None) -> dict[str, str]:
    headers = {"Accept": "application/json"}
    if content_type:
        headers["Content-Type"] = content_type
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def put_file(
    server: str,
    run_id: str,
    artifact_path: str,
    file: Path,
    *,
    token: str | None = None,
    retry_for: float = _RETRY_FOR_S,
) -> None:
    """Upload ``file`` into the run's artifacts at ``artifact_path``."""
    url = f"{server}/api/v1/runs/{run_id}/artifacts/{quote(artifact_path)}"
    _send("PUT", url, _headers(token, "application/octet-stream"), file, retry_for)


def post_bytes(
    server: str,
    path: str,
    data: bytes,
    *,
    params: Mapping[str, str | int] | None = None,
    token: str | None = None,
    retry_for: float = _RETRY_FOR_S,
) -> Any:
    """POST raw bytes; returns the decoded JSON answer (None when empty)."""
    url = f"{server}{path}" + (f"?{urlencode(params)}" if params else "")
    answer = _send("POST", url, _headers(token, "application/octet-stream"), data, retry_for)
    return json.loads(answer) if answer else None


def request_json(
    server: str,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | None = None,
    retry_for: float = _RETRY_FOR_S,
) -> Any:
    """A JSON request; returns the decoded answer (None when empty)."""
    data = None if body is None else json.dumps(body).encode()
    content_type = None if body is None else "application/json"
    answer = _send(method, f"{server}{path}", _headers(token, content_type), data, retry_for)
    return json.loads(answer) if answer else None
