"""A pipeline function call: one process that imports ``module:attr``, calls it with the JSON
event on stdin, and writes the result (or the error) as JSON on stdout.

The server starts it (``python -m dockyard.runtime.functions module:attr CALLER_PID``; the call
ends if its caller dies) with the call's limits (a timeout, an address-space limit) and reads
one JSON document back::

    {"ok": true, "result": ...}
    {"ok": false, "errorType": "ValueError", "errorMessage": "...", "stackTrace": [...]}

What the function prints goes to stderr, so it cannot corrupt the answer. A function takes
``(event)`` or ``(event, context)``; ``context`` carries the call's ``function_name`` and
``task_key``, as Lambda's context carries its request id.
"""

from __future__ import annotations

__all__: list[str] = []
