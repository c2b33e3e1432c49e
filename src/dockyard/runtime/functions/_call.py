"""One call of a function: its answer document (see the package docstring)."""

from __future__ import annotations

import importlib
import inspect
import json
import os
import traceback
from pathlib import Path
from types import SimpleNamespace
from typing import Any

__all__ = ["answer"]

#: Frames of this package and of the import machinery are the call's, not the function's: a
#: stack trace skips them.
_MACHINERY = tuple(
    str(Path(p).resolve().parent) + os.sep for p in (__file__, str(importlib.__file__))
)
#: At most this many of the innermost frames are listed (the cause stays small).
_MAX_FRAMES = 20


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
        result = _call(reference, event)
    except BaseException as exc:
        return json.dumps(
            {
                "ok": False,
                "errorType": type(exc).__name__,
                "errorMessage": str(exc),
                "stackTrace": _stack(exc),
            },
            default=str,
        )
    try:
        return json.dumps({"ok": True, "result": result}, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        # what the function returned is not JSON (a set, a numpy integer, NaN): Lambda's
        # Runtime.MarshalError, with no stack (the function itself raised nothing)
        return json.dumps(
            {
                "ok": False,
                "errorType": "Runtime.MarshalError",
                "errorMessage": f"Unable to marshal response: {exc}",
                "stackTrace": [],
            }
        )


def _stack(exc: BaseException) -> list[str]:
    """Lambda's ``stackTrace``: one ``'  File "...", line N, in fn\\n    code\\n'`` string per
    frame of the function's own code (not this package's, not the import machinery's)."""
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if not str(Path(frame.filename).resolve()).startswith(_MACHINERY)
        and not frame.filename.startswith("<frozen importlib")
    ]
    return traceback.format_list(frames[-_MAX_FRAMES:])
