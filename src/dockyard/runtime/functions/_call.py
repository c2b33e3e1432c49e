"""One call of a function: its answer document (see the package docstring)."""

from __future__ import annotations

import importlib
import inspect
import json
import os
import traceback
from types import SimpleNamespace
from typing import Any

__all__ = ["answer"]


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


def answer(reference: str, event_text: str) -> str:
    """The call's answer document for the JSON ``event_text`` (see the package docstring)."""
    try:
        event = json.loads(event_text or "null")
        return json.dumps({"ok": True, "result": _call(reference, event)})
    except BaseException as exc:
        return json.dumps(
            {
                "ok": False,
                "errorType": type(exc).__name__,
                "errorMessage": str(exc),
                "stackTrace": traceback.format_exception(exc)[-5:],
            },
            default=str,
        )
