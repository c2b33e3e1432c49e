"""A Step Functions stub: answers the calls ``bench/pipelines.py`` makes at once, every execution
already SUCCEEDED (and listed so). What the boto3 client reaches when the server costs nothing
(beside the transport): the ceiling of an executions-per-second row on this machine.
"""

from __future__ import annotations

import json
from typing import Any

_TYPE = (b"content-type", b"application/x-amz-json-1.0")
_MACHINE = "arn:aws:states:us-east-1:000000000000:stateMachine:"
_EXECUTION = "arn:aws:states:us-east-1:000000000000:execution:"
_started: dict[str, list[str]] = {}  # state machine ARN -> its executions' ARNs


def _answer(target: str, request: dict[str, Any]) -> dict[str, Any]:
    if target == "CreateStateMachine":
        return {"stateMachineArn": _MACHINE + request["name"], "creationDate": 0}
    if target == "StartExecution":
        machine = request["stateMachineArn"].rsplit(":", 1)[-1]
        arn = f"{_EXECUTION}{machine}:{request['name']}"
        _started.setdefault(request["stateMachineArn"], []).append(arn)
        return {"executionArn": arn, "startDate": 0}
    if target == "ListExecutions":
        return _listed(request)
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


def _listed(request: dict[str, Any]) -> dict[str, Any]:
    """A page of the state machine's executions: all SUCCEEDED, none RUNNING."""
    machine = request["stateMachineArn"]
    arns = [] if request.get("statusFilter") == "RUNNING" else _started.get(machine, [])
    start = int(request.get("nextToken") or 0)
    end = start + int(request.get("maxResults") or 100)
    page = [
        {
            "executionArn": arn,
            "stateMachineArn": machine,
            "name": arn.rsplit(":", 1)[-1],
            "status": "SUCCEEDED",
            "startDate": 0,
        }
        for arn in arns[start:end]
    ]
    return {"executions": page, **({"nextToken": str(end)} if end < len(arns) else {})}


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
