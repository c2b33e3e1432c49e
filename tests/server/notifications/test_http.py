"""The webhook HTTP client against a real socket server that answers as receivers do: keep-alive,
chunked bodies, connections closed while idle, slow answers, and the SSRF guard."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from dockyard.server.notifications._http import HttpPools, Refused

Handler = Callable[[int, bytes], bytes | None]


class _Server:
    """Answers each request with ``handler(request number, request head)``; None: hang up."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests = 0
        self.connections = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> _Server:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook?x=1"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.lower() == b"content-length":
                        length = int(value)
                await reader.readexactly(length)
                self.requests += 1
                answer = self.handler(self.requests, head)
                if answer is None:
                    writer.close()
                    return
                writer.write(answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


def _ok(n: int, head: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(test())


def test_sends_reuse_one_kept_connection_and_carry_the_request_as_written() -> None:
    heads: list[bytes] = []

    def record(n: int, head: bytes) -> bytes:
        heads.append(head)
        return _ok(n, head)

    async def test() -> None:
        pools = HttpPools(per_host=4, allow_private=True)
        async with _Server(record) as server:
            for _ in range(5):
                answer = await pools.post(server.url, b"{}", {"X-A": "b"}, timeout=5)
                assert (answer.status, answer.text) == (200, "ok")
            assert server.connections == 1
        await pools.aclose()
        first = heads[0].decode()
        assert first.startswith("POST /hook?x=1 HTTP/1.1\r\n")
        assert f"Host: 127.0.0.1:{server.port}\r\n" in first
        assert "Content-Length: 2\r\n" in first and "X-A: b\r\n" in first

    run(test)


def test_at_most_per_host_connections_are_open_at_once() -> None:
    async def test() -> None:
        pools = HttpPools(per_host=3, allow_private=True)
        async with _Server(_ok) as server:
            answers = await asyncio.gather(
                *(pools.post(server.url, b"x", {}, timeout=5) for _ in range(30))
            )
            assert {a.status for a in answers} == {200}
            assert server.requests == 30
            assert 1 <= server.connections <= 3
        await pools.aclose()

    run(test)


def test_a_chunked_error_answer_is_read_whole_and_its_start_kept() -> None:
    def chunked(n: int, head: bytes) -> bytes:
        if n == 1:
            return (
                b"HTTP/1.1 503 Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"5\r\nbusy \r\n4;x=y\r\nnow!\r\n0\r\n\r\n"
            )
        return _ok(n, head)

    async def test() -> None:
        pools = HttpPools(per_host=1, allow_private=True)
        async with _Server(chunked) as server:
            first = await pools.post(server.url, b"x", {}, timeout=5)
            assert (first.status, first.text) == (503, "busy now!")
            second = await pools.post(server.url, b"x", {}, timeout=5)
            assert second.status == 200
            assert server.connections == 1  # the chunked body was consumed: kept alive
        await pools.aclose()

    run(test)


def test_a_connection_the_receiver_closed_while_idle_is_replaced() -> None:
    def close_after_first(n: int, head: bytes) -> bytes:
        return b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"

    async def test() -> None:
        pools = HttpPools(per_host=1, allow_private=True)
        async with _Server(close_after_first) as server:
            for _ in range(3):
                assert (await pools.post(server.url, b"x", {}, timeout=5)).status == 200
            assert server.connections == 3
        await pools.aclose()

    run(test)


def test_a_receiver_that_hangs_up_without_answering_is_an_error() -> None:
    async def test() -> None:
        pools = HttpPools(per_host=1, allow_private=True)
        async with _Server(lambda n, head: None) as server:
            with pytest.raises(ConnectionError, match="without answering"):
                await pools.post(server.url, b"x", {}, timeout=5)
        await pools.aclose()

    run(test)


def test_a_slow_receiver_times_out() -> None:
    async def test() -> None:
        pools = HttpPools(per_host=1, allow_private=True)
        held: list[asyncio.StreamWriter] = []

        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            held.append(writer)  # reads nothing, answers nothing

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        with pytest.raises(TimeoutError):
            await pools.post(f"http://127.0.0.1:{port}/", b"x", {}, timeout=0.2)
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()
        await pools.aclose()

    run(test)


def test_a_name_that_resolves_inside_is_refused_unless_allowed() -> None:
    async def test() -> None:
        async with _Server(_ok) as server:
            url = f"http://localhost:{server.port}/hook"
            strict = HttpPools(per_host=1, allow_private=False)
            with pytest.raises(Refused, match=r"resolves to 127\.0\.0\.1"):
                await strict.post(url, b"x", {}, timeout=5)
            assert server.requests == 0
            await strict.aclose()
            open_ = HttpPools(per_host=1, allow_private=True)
            assert (await open_.post(url, b"x", {}, timeout=5)).status == 200
            await open_.aclose()

    run(test)


def test_the_timeout_covers_the_exchange_not_the_wait_for_a_connection() -> None:
    async def test() -> None:
        held: list[asyncio.StreamWriter] = []

        async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            held.append(writer)
            try:
                while True:
                    head = await reader.readuntil(b"\r\n\r\n")
                    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                    await reader.readexactly(length)
                    await asyncio.sleep(0.1)  # a receiver that takes 100 ms to answer
                    writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                writer.close()

        server = await asyncio.start_server(slow, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        pools = HttpPools(per_host=1, allow_private=True)
        # 15 sends through one connection take 1.5 s; each exchange is well inside 1 s.
        answers = await asyncio.gather(
            *(pools.post(f"http://127.0.0.1:{port}/", b"x", {}, timeout=1.0) for _ in range(15))
        )
        assert [a.status for a in answers] == [204] * 15
        # Each answer's time is its own exchange, not its wait behind the others.
        assert all(90 <= a.elapsed_ms < 1000 for a in answers)
        await pools.aclose()
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()

    run(test)


def test_what_is_not_an_http_url_is_refused_without_a_connection() -> None:
    async def test() -> None:
        pools = HttpPools(per_host=1, allow_private=True)
        for url in ("ftp://example.com/x", "http:///nohost", "http://example.com:99999/"):
            with pytest.raises(Refused, match="is not an http"):
                await pools.post(url, b"x", {}, timeout=1)
        await pools.aclose()

    run(test)


def test_a_path_with_spaces_or_other_letters_is_sent_percent_encoded() -> None:
    heads: list[bytes] = []

    def record(n: int, head: bytes) -> bytes:
        heads.append(head)
        return _ok(n, head)

    async def test() -> None:
        pools = HttpPools(per_host=1, allow_private=True)
        async with _Server(record) as server:
            base = f"http://127.0.0.1:{server.port}"
            for path in ("/my hook?a=b c", "/café/路?x=é", "/kept%20as%20is?q=%2F"):
                answer = await pools.post(base + path, b"{}", {}, timeout=5)
                assert answer.status == 200
        await pools.aclose()
        lines = [head.split(b"\r\n", 1)[0] for head in heads]
        assert lines == [
            b"POST /my%20hook?a=b%20c HTTP/1.1",
            b"POST /caf%C3%A9/%E8%B7%AF?x=%C3%A9 HTTP/1.1",
            b"POST /kept%20as%20is?q=%2F HTTP/1.1",
        ]

    run(test)


def test_an_international_host_name_is_sent_in_its_idna_form() -> None:
    pools = HttpPools(per_host=1, allow_private=True)
    _, start = pools._route("https://bücher.例え.jp:8443/hook")
    assert start == b"POST /hook HTTP/1.1\r\nHost: xn--bcher-kva.xn--r8jz45g.jp:8443\r\n"
