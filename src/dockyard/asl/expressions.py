"""The interpreter's doors to the intrinsic functions and to JSONata.

Both live in their own modules of this package (``intrinsics``, ``jsonata``); they are imported
on first use, so JSONPath-only workflows never load the JSONata engine. Their failures become
the errors AWS reports: an intrinsic that cannot run is ``States.Runtime``; a JSONata
expression that cannot be evaluated is ``States.QueryEvaluationError``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from datetime import datetime
from random import Random
from typing import Any

from dockyard.asl.errors import (
    INTRINSIC_FAILURE,
    QUERY_EVALUATION_ERROR,
    StatesError,
    runtime,
)

__all__ = ["intrinsic", "is_intrinsic", "is_jsonata", "jsonata"]


def intrinsic(
    text: str,
    *,
    field: str,
    input: Any,
    context: Any,
    variables: Mapping[str, Any],
    random: Random | None = None,
) -> Any:
    """Evaluate the intrinsic function call ``text`` written in ``field``."""
    module = importlib.import_module("dockyard.asl.intrinsics")
    try:
        return module.evaluate_intrinsic(
            text, input=input, context=context, variables=variables, random=random
        )
    except StatesError as exc:
        if exc.error != INTRINSIC_FAILURE:
            raise
        # named as AWS names it: the state (the engine adds it), the call and its field
        raise StatesError(
            INTRINSIC_FAILURE,
            f"The intrinsic function '{text}' specified for the field '{field}' failed: "
            f"{exc.cause}",
            decorate=True,
        ) from exc
    except Exception as exc:  # the intrinsic's own error, reported as AWS does
        raise runtime(f"The function '{text}' in the field '{field}' failed: {exc}") from exc


def is_intrinsic(text: str) -> bool:
    """Whether a ``.$`` value is an intrinsic call rather than a path."""
    return text.startswith("States.")


def is_jsonata(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("{%") and value.endswith("%}")


def jsonata(
    template: Any,
    bindings: Mapping[str, Any],
    *,
    field: str,
    random: Random | None = None,
    now: datetime | None = None,
) -> Any:
    """``template`` with every ``{% expr %}`` string evaluated against ``bindings``."""
    module = importlib.import_module("dockyard.asl.jsonata")
    try:
        return module.resolve_jsonata(template, bindings, field=field, random=random, now=now)
    except StatesError:
        raise
    except Exception as exc:  # the expression's own error, reported as AWS does
        raise StatesError(
            QUERY_EVALUATION_ERROR,
            f"An error occurred while evaluating the field '{field}': {exc}",
            decorate=True,
        ) from exc
