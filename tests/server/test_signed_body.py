"""A signed body read before its signature is checked holds little memory, however large."""

from __future__ import annotations

import asyncio
import hashlib
import tracemalloc
from typing import Any

import pytest

from dockyard.errors import PayloadTooLarge
from dockyard.server._signed import IN_MEMORY, _Body

CHUNK = 64 * 1024


def _sender(total: int) -> Any:
    pieces = [bytes([i % 251]) * CHUNK for i in range(total // CHUNK)]

    async def receive() -> dict[str, Any]:
        if pieces:
            piece = pieces.pop(0)
            return {"type": "http.request", "body": piece, "more_body": bool(pieces)}
        return {"type": "http.disconnect"}

    return receive


def _expected(total: int) -> bytes:
    return b"".join(bytes([i % 251]) * CHUNK for i in range(total // CHUNK))


@pytest.mark.parametrize("total", [CHUNK * 4, 8 * 1024 * 1024])
def test_a_body_is_hashed_and_replayed_whole_holding_at_most_a_mebibyte(total: int) -> None:
    async def scenario() -> tuple[bytes, str, int, dict[str, Any]]:
        receive = _sender(total)
        tracemalloc.start()
        try:
            body = await _Body.read(receive, 32 * 1024 * 1024)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        replay = body.replay(receive)
        got = bytearray()
        while True:
            message = await replay()
            got += message["body"]
            if not message["more_body"]:
                break
        return bytes(got), body.sha256, peak, await replay()

    got, digest, peak, after = asyncio.run(scenario())
    assert got == _expected(total)
    assert digest == hashlib.sha256(got).hexdigest()
    assert peak < IN_MEMORY + 4 * CHUNK  # not the 8 MB it would be whole
    assert after == {"type": "http.disconnect"}  # then what the connection says


def test_a_body_over_the_limit_is_refused_as_it_arrives() -> None:
    with pytest.raises(PayloadTooLarge, match="over the 1 MB limit"):
        asyncio.run(_Body.read(_sender(4 * 1024 * 1024), 1024 * 1024))
