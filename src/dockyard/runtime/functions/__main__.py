"""Entry point of a pipeline function call (see the package docstring)."""

from __future__ import annotations

import importlib
import inspect
import json
import os
import sys
import traceback
from types import SimpleNamespace
from typing import Any


def _call(reference: str, event: Any) -> Any:
    module, _, attr = reference.partition(":")
    target: Any = importlib.import_module(module)
    for part in attr.split("."):
        target = getattr(target, part)
    context = SimpleNamespace(
        function_name=os.environ.get("DOCKYARD_FUNCTION_NAME", ""),
        task_key=os.environ.get("DOCKYARD_TASK_KEY", ""),
    )
    try:
        takes = len(inspect.signature(target).parameters)
    except (TypeError, ValueError):
        takes = 1
    return target(event, context) if takes >= 2 else target(event)


def main() -> int:
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout = sys.stderr  # prints go to the log, never into the answer
    try:
        event = json.loads(sys.stdin.read() or "null")
        answer: dict[str, Any] = {"ok": True, "result": _call(sys.argv[1], event)}
        text = json.dumps(answer)
    except BaseException as exc:
        text = json.dumps(
            {
                "ok": False,
                "errorType": type(exc).__name__,
                "errorMessage": str(exc),
                "stackTrace": traceback.format_exception(exc)[-5:],
            },
            default=str,
        )
    out.write(text)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
