"""A Step Functions stub: answers the calls ``bench/pipelines.py`` makes at once, every execution
already SUCCEEDED. What the boto3 client reaches when the server costs nothing (beside the
transport): the ceiling of an executions-per-second row on this machine.
"""

from __future__ import annotations

import json
from typing import Any

_TYPE = (b"content-type", b"application/x-amz-json-1.0")
_MACHINE = "arn:aws:states:us-east-1:000000000000:stateMachine:"
_EXECUTION = "arn:aws:states:us-east-1:000000000000:execution:"


def _answer(target: str, request: dict[str, Any]) -> dict[str, Any]:
    if target == "CreateStateMachine":
        return {"stateMachineArn": _MACHINE + request["name"], "creationDate": 0}
    if target == "StartExecution":
        machine = request["stateMachineArn"].rsplit(":", 1)[-1]
        return {"executionArn": f"{_EXECUTION}{machine}:{request['name']}", "startDate": 0}
    if target == "DescribeExecution":
        arn = request["executionArn"]
        return {
            "executionArn": arn,
            "stateMachineArn": _MACHINE + arn.split(":")[-2],
            "status": "SUCCEEDED",
            "startDate": 0,
            "stopDate": 0,
            "input": "{}",
            "output": "{}",
        }
    return {}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Read the whole body, answer by ``X-Amz-Target`` (``/health``: ``{}``)."""
    if scope["type"] != "http":
        return
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    target = dict(scope["headers"]).get(b"x-amz-target", b"").decode().rpartition(".")[2]
    answer = json.dumps(_answer(target, json.loads(body) if body else {})).encode()
    headers = [_TYPE, (b"content-length", str(len(answer)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": answer})
