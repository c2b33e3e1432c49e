"""What validation reports: problems with AWS's diagnostic codes, and the error that carries
them when a definition is refused."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from dockyard.errors import InvalidArgument

__all__ = ["ERROR", "WARNING", "DefinitionInvalid", "Problem"]

ERROR = "ERROR"
WARNING = "WARNING"

# The codes ValidateStateMachineDefinition returns (AWS API reference).
SCHEMA = "SCHEMA_VALIDATION_FAILED"
INVALID_JSON = "INVALID_JSON_DESCRIPTION"
MISSING_DESCRIPTION = "MISSING_DESCRIPTION"
MISSING_TARGET = "MISSING_TRANSITION_TARGET"
MISSING_END = "MISSING_END_STATE"
DUPLICATE_NAME = "DUPLICATE_STATE_NAME"
INVALID_NAME = "INVALID_STATE_NAME"
INVALID_RESOURCE = "INVALID_RESOURCE"
TOO_DEEP = "TOO_DEEPLY_NESTED"
NO_DOLLAR = "NO_DOLLAR"
NO_PATH = "NO_PATH"
PASS_RESULT_IS_STATIC = "PASS_RESULT_IS_STATIC"

# A refusal lists this many problems in its message; ``problems`` has them all.
_IN_MESSAGE = 5


@dataclass(frozen=True)
class Problem:
    """One finding: ``code`` as AWS names it, ``path`` the JSON pointer of the field at fault
    (``/States/Train/Retry/0/MaxAttempts``; empty for the whole document), ``message`` what is
    wrong, ``severity`` ERROR (the definition is refused) or WARNING."""

    code: str
    path: str
    message: str
    severity: str = ERROR

    @property
    def location(self) -> str:
        """The name AWS's diagnostics give ``path``."""
        return self.path

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        where = f" at {self.path}" if self.path else ""
        return f"{self.code}: {self.message}{where}"


class DefinitionInvalid(InvalidArgument):
    """The state machine definition has errors; ``problems`` lists every one (warnings too),
    and ``details["problems"]`` carries them over the wire."""

    def __init__(self, problems: list[Problem]) -> None:
        errors = [p for p in problems if p.severity == ERROR] or problems
        shown = "; ".join(str(p) for p in errors[:_IN_MESSAGE])
        more = f" (and {len(errors) - _IN_MESSAGE} more)" if len(errors) > _IN_MESSAGE else ""
        super().__init__(
            f"Invalid State Machine Definition: {shown}{more}",
            field="definition",
            details={"problems": [p.to_dict() for p in problems]},
        )
        self.problems = problems
