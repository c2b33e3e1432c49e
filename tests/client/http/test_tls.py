"""HTTPS from the one client: both network transports trust the same authorities, and a
certificate they do not trust fails at once, saying how to trust it, instead of being retried
as a server that is away."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from tests.services.tls import self_signed

from dockyard.client.http import Client, SocketTransport
from dockyard.client.http._httpx import HttpxTransport
from dockyard.errors import Unavailable

_PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


class _Ok(BaseHTTPRequestHandler):
    """Answers every GET with ``{"ok": true}``."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", "11")
        self.end_headers()
        self.wfile.write(b'{"ok":true}')

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """An HTTPS server for ``localhost`` with a self-signed certificate, and that certificate."""
    made = self_signed(tmp_path_factory.mktemp("tls"))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(made.cert, made.key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"https://localhost:{httpd.server_address[1]}", made.cert
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _PROXIES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def _over_httpx(monkeypatch: pytest.MonkeyPatch) -> None:
    # A proxy in the environment makes the client take httpx; NO_PROXY sends this host direct.
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "localhost")


@pytest.mark.parametrize("transport", ["sockets", "httpx"])
@pytest.mark.usefixtures("no_proxy")
def test_the_authority_in_ssl_cert_file_is_trusted_by_either_transport(
    served: tuple[str, Path], monkeypatch: pytest.MonkeyPatch, transport: str
) -> None:
    url, cert = served
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    if transport == "httpx":
        _over_httpx(monkeypatch)
    with Client(url, retry_for=0) as client:
        kind = HttpxTransport if transport == "httpx" else SocketTransport
        assert isinstance(client._transport, kind)
        assert client.request("GET", "/api/v1/ping") == {"ok": True}


@pytest.mark.parametrize("transport", ["sockets", "httpx"])
@pytest.mark.usefixtures("no_proxy")
def test_an_untrusted_certificate_fails_at_once_naming_how_to_trust_it(
    served: tuple[str, Path], monkeypatch: pytest.MonkeyPatch, transport: str
) -> None:
    url, _ = served
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    if transport == "httpx":
        _over_httpx(monkeypatch)
    began = time.monotonic()
    # A GET is retried for the whole window when the server is away; a certificate that is
    # not trusted will not become trusted by trying again.
    with Client(url, retry_for=120) as client, pytest.raises(Unavailable) as raised:
        client.request("GET", "/api/v1/ping")
    assert time.monotonic() - began < 60
    message = str(raised.value)
    assert f"the certificate of localhost:{url.rsplit(':', 1)[1]} is not trusted" in message
    assert "self-signed certificate" in message
    assert "SSL_CERT_FILE" in message
    assert "gave up after" not in message


@pytest.mark.parametrize("transport", ["sockets", "httpx"])
@pytest.mark.usefixtures("no_proxy")
def test_https_to_a_plain_http_server_fails_at_once_naming_the_scheme(
    monkeypatch: pytest.MonkeyPatch, transport: str
) -> None:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    if transport == "httpx":
        _over_httpx(monkeypatch)
    url = f"https://localhost:{httpd.server_address[1]}"
    began = time.monotonic()
    try:
        with Client(url, retry_for=120) as client, pytest.raises(Unavailable) as raised:
            client.request("GET", "/api/v1/ping")
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert time.monotonic() - began < 60  # not retried as a server that is away
    assert "does not answer in TLS" in str(raised.value)
    assert "http://" in str(raised.value)
