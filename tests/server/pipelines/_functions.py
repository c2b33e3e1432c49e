"""Functions pipeline tests register as tasks (they run in processes of their own)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def double(event: dict[str, Any]) -> dict[str, Any]:
    print("doubling", event)  # printed output must not spoil the answer
    return {"value": event["value"] * 2}


def fail(event: Any) -> Any:
    raise ValueError(f"refused {event}")


def leak(event: Any) -> Any:
    return bytearray(int(event["mb"]) * 1024 * 1024)


def starts(event: dict[str, Any]) -> dict[str, Any]:
    """Notes each call in a file (one line per call): how tests count starts."""
    with open(event["log"], "a") as log:
        log.write(f"{os.getpid()}\n")
    return event


def evaluate(event: dict[str, Any]) -> dict[str, Any]:
    """Approves a training job that completed, naming its model for the registry."""
    return {
        "approve": event["status"] == "Completed",
        "source": f"runs:/{event['run_id']}/model",
    }


def environment(event: Any) -> dict[str, str]:
    """The Dockyard variables a function call sees."""
    return {k: v for k, v in os.environ.items() if k.startswith("DOCKYARD_")}


def block(event: dict[str, Any]) -> Any:
    """Notes its pid, then waits for a file that never comes: a call to stop."""
    import time

    with open(event["pid"], "w") as out:
        out.write(str(os.getpid()))
    while True:
        time.sleep(0.05)


def gated(event: dict[str, Any]) -> dict[str, int]:
    """Notes its start (``start PID``) in a file, waits for a gate file, notes its end."""
    import time

    with open(event["log"], "a") as log:
        log.write(f"start {os.getpid()}\n")
    while not Path(event["gate"]).exists():
        time.sleep(0.05)
    with open(event["log"], "a") as log:
        log.write(f"end {os.getpid()}\n")
    return {"pid": os.getpid()}


def whoami(event: Any) -> dict[str, Any]:
    """The call's process: its pid, parent, session and address-space limit."""
    import resource

    return {
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "sid": os.getsid(0),
        "as_limit": resource.getrlimit(resource.RLIMIT_AS)[0],
    }


def note(event: dict[str, Any]) -> dict[str, Any]:
    """Appends ``event["tag"]`` to the file ``event["log"]``: how tests see the calls' order."""
    with open(event["log"], "a") as log:
        log.write(event["tag"])
    return event


def hold(event: dict[str, Any]) -> str:
    """Notes its pid and node in ``event["log"]`` (a line per start), then waits for the file
    ``event["release"]``; answers its node."""
    import time

    node = os.environ.get("DOCKYARD_FUNCTION_NODE", "")
    with open(event["log"], "a") as log:
        log.write(f"{os.getpid()} {node}\n")
    while not Path(event["release"]).exists():
        time.sleep(0.05)
    return node


def large(event: dict[str, Any]) -> str:
    """A result of ``event["size"]`` characters."""
    return "a" * int(event["size"])
