"""The proxy's HTTP/1.1 client, against small real servers that misbehave on purpose."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
from tests.services.server_process import free_port

from dockyard.server.endpoints._upstream import Upstream, UpstreamError

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return await reader.readexactly(length)


def _answer(body: bytes, *extra: bytes) -> bytes:
    headers = b"".join(h + b"\r\n" for h in extra)
    return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n%s\r\n%s" % (len(body), headers, body)


@asynccontextmanager
async def _serving(handler: Handler) -> AsyncIterator[int]:
    """A server on a free port; every connection it accepted is closed when the block ends."""
    writers: list[asyncio.StreamWriter] = []

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        await handler(reader, writer)

    server = await asyncio.start_server(tracked, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]
    for writer in writers:
        writer.close()
        await writer.wait_closed()


def test_connections_are_reused_and_answers_parsed() -> None:
    connections: list[int] = []

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        while True:
            try:
                body = await _read_request(reader)
            except asyncio.IncompleteReadError:  # the client closed the connection
                return
            writer.write(_answer(body.upper(), b"x-amzn-invoked-production-variant: a"))
            await writer.drain()

    async def scenario() -> list[tuple[int, list[tuple[bytes, bytes]], bytes]]:
        upstream = Upstream()
        async with _serving(echo) as port:
            answers = [
                await upstream.post("127.0.0.1", port, "/x", [(b"accept", b"*/*")], b"ab%d" % i, 5)
                for i in range(3)
            ]
            upstream.close()
            return answers

    answers = asyncio.run(scenario())
    assert [a[2] for a in answers] == [b"AB0", b"AB1", b"AB2"]
    assert answers[0][0] == 200
    assert (b"x-amzn-invoked-production-variant", b"a") in answers[0][1]
    assert len(connections) == 1  # one kept-alive connection for all three


def test_a_connection_the_worker_closed_is_replaced_and_the_request_sent_again() -> None:
    served: list[bytes] = []

    async def once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        served.append(await _read_request(reader))
        writer.write(_answer(b"ok"))  # keep-alive by default, but closes: an idle timeout
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    async def scenario() -> list[bytes]:
        upstream = Upstream()
        async with _serving(once) as port:
            first = await upstream.post("127.0.0.1", port, "/", [], b"1", 5)
            await asyncio.sleep(0.05)  # let the close reach this side's socket
            second = await upstream.post("127.0.0.1", port, "/", [], b"2", 5)
            upstream.close()
        return [first[2], second[2]]

    assert asyncio.run(scenario()) == [b"ok", b"ok"]
    assert served == [b"1", b"2"]  # each request reached the worker once


def test_unreachable_and_silent_workers_are_errors() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        await reader.read()  # never answers; returns when the client gives up and closes

    async def scenario() -> None:
        upstream = Upstream()
        with pytest.raises(UpstreamError, match="cannot connect"):
            await upstream.post("127.0.0.1", free_port(), "/", [], b"", 5)
        async with _serving(silent) as port:
            with pytest.raises(UpstreamError, match=r"no answer within 0\.2 s"):
                await upstream.post("127.0.0.1", port, "/", [], b"x", 0.2)

    asyncio.run(scenario())
