"""A transport over the standard library's sockets, for processes that start often.

The job runner talks to the server for everything (its launch description, status reports, its
log, uploads at the end), and the time from submit to the first line of user code is a number
users feel. httpx, ``urllib.request`` and ``http.client`` pull in the ``email`` package and
``ssl`` (30-90 ms on a busy machine); this speaks the little HTTP/1.1 needed over a socket (one
request per connection, ``Content-Length`` or chunked answers) and imports ``ssl`` only for
``https``.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from dockyard.client.http._transport import Body, Response, Transport, TransportFailure
from dockyard.limits import LIMITS

__all__ = ["SocketTransport"]


class SocketTransport(Transport):
    """One connection per request, no pooling: what a short, chatty runtime process needs."""

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: Body,
        timeout: float,
    ) -> Response:
        try:
            return _once(method, url, headers, body, timeout)
        except OSError as exc:  # refused, reset, timed out: the server restarts or is away
            raise TransportFailure(str(exc)) from exc


def _connect(url: str, timeout: float) -> tuple[socket.socket, str, str]:
    """A connected socket for ``url``, the Host header and the request target."""
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TransportFailure(f"cannot send to {url!r}: not an http(s) URL")
    port = parts.port or (443 if secure else 80)
    sock = socket.create_connection((parts.hostname, port), timeout=timeout)
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


def _read_response(reader: BinaryIO) -> Response:
    status_line = reader.readline(65537)
    fields = status_line.split(None, 2)
    if len(fields) < 2 or not fields[0].startswith(b"HTTP/"):
        raise ConnectionError(f"not an HTTP answer: {status_line[:100]!r}")
    status = int(fields[1])
    headers: dict[str, str] = {}
    while True:
        line = reader.readline(65537)
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.partition(b":")
        headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = bytearray()
        while True:
            size = int(reader.readline(1024).split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while reader.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                break
            body += reader.read(size)
            reader.readline(1024)
        return Response(status, headers, bytes(body))
    if "content-length" in headers:
        return Response(status, headers, reader.read(int(headers["content-length"])))
    return Response(status, headers, reader.read())


def _size(body: Body) -> int:
    if body is None:
        return 0
    if isinstance(body, bytes):
        return len(body)
    if isinstance(body, Path):
        return body.stat().st_size
    here = body.tell()
    end = body.seek(0, 2)
    body.seek(here)
    return end - here


def _once(
    method: str, url: str, headers: Mapping[str, str], body: Body, timeout: float
) -> Response:
    sock, host, target = _connect(url, timeout)
    try:
        head = [f"{method} {target} HTTP/1.1", f"Host: {host}", "Connection: close"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        if body is not None or method in ("POST", "PUT"):
            head.append(f"Content-Length: {_size(body)}")
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        if isinstance(body, Path):
            with body.open("rb") as source:
                while chunk := source.read(LIMITS.transfer_chunk):
                    sock.sendall(chunk)
        elif isinstance(body, bytes):
            if body:
                sock.sendall(body)
        elif body is not None:
            while chunk := body.read(LIMITS.transfer_chunk):
                sock.sendall(chunk)
        with sock.makefile("rb") as reader:
            return _read_response(reader)
    finally:
        sock.close()
