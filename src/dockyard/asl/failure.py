"""The failure a state raises while it runs, under the error name Step Functions gives it.

``States.IntrinsicFailure``, ``States.QueryEvaluationError``, ``States.Runtime``... are not
request errors: the interpreter catches a :class:`StatesError` and fails the state with its
``error`` and ``cause`` (a Retry or Catch may then match the name), so one never reaches an API
caller as such.
"""

from __future__ import annotations

from dockyard.errors import DockyardError

__all__ = ["StatesError"]


class StatesError(DockyardError):
    """A state fails with ``error`` (``States.Runtime``...) and ``cause`` (the words a person
    reads in the execution's history)."""

    code = "states_error"

    def __init__(self, error: str, cause: str) -> None:
        super().__init__(f"{error}: {cause}", details={"error": error, "cause": cause})
        self.error = error
        self.cause = cause
