"""What each kind of credential costs a small request, in one process (no sockets).

The whole app is called as ASGI, ``--requests`` times per block, five blocks; the figure is the
best block's process CPU per request (every thread: the event loop's and the pool's):

1. ``DescribeExecution`` (AWS JSON 1.0) signed with SigV4 by a Dockyard access key.
2. ``GET /api/v1/experiments/0`` with a browser session's cookie.

    .venv/bin/python bench/credentials.py [--requests 1000]
    PYTHONPATH=<export of another tree>/src .venv/bin/python bench/credentials.py   # before
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from dockyard.server import create_app
from dockyard.settings import Settings

sys.path.insert(0, str(Path(__file__).parent))
from _asgi import http_scope

PASSWORD = "correct horse battery"
TEN = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}

Headers = list[tuple[bytes, bytes]]
Call = Callable[[str, str, bytes, Headers], Awaitable[tuple[int, Headers, bytes]]]


def caller(app: Any) -> Call:
    async def call(method: str, path: str, body: bytes, headers: Headers) -> Any:
        sized = [(b"host", b"127.0.0.1:1"), (b"content-length", b"%d" % len(body)), *headers]
        scope = {**http_scope(method, path, sized), "state": {}}
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()
            raise AssertionError("unreachable")

        out: list[dict[str, Any]] = []

        async def send(message: dict[str, Any]) -> None:
            out.append(message)

        await app(scope, receive, send)
        return out[0]["status"], out[0]["headers"], out[-1].get("body", b"")

    return call


def signed(body: bytes, target: str, key: str, secret: str) -> Headers:
    request = AWSRequest(
        method="POST",
        url="http://127.0.0.1:1/",
        data=body,
        headers={
            "X-Amz-Target": f"AWSStepFunctions.{target}",
            "Content-Type": "application/x-amz-json-1.0",
        },
    )
    SigV4Auth(Credentials(key, secret, None), "states", "us-east-1").add_auth(request)
    return [(k.lower().encode(), str(v).encode()) for k, v in request.headers.items()]


async def best_block(call: Call, args: tuple[str, str, bytes, Headers], requests: int) -> float:
    blocks = []
    for _ in range(5):
        began = time.process_time()
        for _ in range(requests):
            status, _, answer = await call(*args)
            assert status == 200, answer
        blocks.append((time.process_time() - began) / requests * 1e6)
    return min(blocks)


async def main(requests: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(home=Path(tmp)))
        async with app.router.lifespan_context(app):
            call = caller(app)
            as_json = [(b"content-type", b"application/json")]
            user = json.dumps({"name": "ana", "password": PASSWORD, "role": "admin"}).encode()
            assert (await call("POST", "/api/v1/users", user, as_json))[0] == 201
            basic = base64.b64encode(f"ana:{PASSWORD}".encode())
            auth = [*as_json, (b"authorization", b"Basic " + basic)]
            made = await call("POST", "/api/v1/access-keys", b"{}", auth)
            key = json.loads(made[2])
            kid, secret = key["access_key_id"], key["secret_access_key"]

            async def aws(target: str, fields: dict[str, Any]) -> dict[str, Any]:
                body = json.dumps(fields).encode()
                status, _, answer = await call("POST", "/", body, signed(body, target, kid, secret))
                assert status == 200, answer
                return dict(json.loads(answer))

            machine = await aws(
                "CreateStateMachine",
                {"name": "m", "definition": json.dumps(TEN), "roleArn": "arn:aws:iam::1:role/r"},
            )
            started = await aws("StartExecution", {"stateMachineArn": machine["stateMachineArn"]})
            body = json.dumps({"executionArn": started["executionArn"]}).encode()
            describe = ("POST", "/", body, signed(body, "DescribeExecution", kid, secret))
            print(
                f"DescribeExecution signed with an access key: "
                f"{await best_block(call, describe, requests):.0f} us of CPU per request",
                flush=True,
            )
            login = json.dumps({"username": "ana", "password": PASSWORD}).encode()
            _, headers, _ = await call("POST", "/api/v1/session", login, as_json)
            cookie = next(v for k, v in headers if k == b"set-cookie").split(b";")[0]
            read = ("GET", "/api/v1/experiments/0", b"", [(b"cookie", cookie)])
            print(
                f"GET /api/v1/experiments/0 with a session cookie: "
                f"{await best_block(call, read, requests):.0f} us of CPU per request",
                flush=True,
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    asyncio.run(main(parser.parse_args().requests))
