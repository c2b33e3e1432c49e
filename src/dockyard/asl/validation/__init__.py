"""Create-time validation of state machine definitions, in the words of AWS's
ValidateStateMachineDefinition: each problem has a code (SCHEMA_VALIDATION_FAILED,
MISSING_TRANSITION_TARGET...), the JSON pointer of the field at fault, a message and a
severity.

One small function per rule, registered by scope (``_model.rule``) in modules by concept:
``_structure`` (machines, names, transitions, reachability, query language), ``_fields``
(fields per state type, Task, Wait, Fail), ``_errors`` (Retry, Catch), ``_choice``,
``_map_parallel``, ``_data`` (paths, payload templates, Assign, JSONata). ``RULES`` lists
them all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.lazy import exports

if TYPE_CHECKING:
    from dockyard.asl.validation._model import RULES, Rule
    from dockyard.asl.validation._problems import DefinitionInvalid, Problem
    from dockyard.asl.validation._validate import check_definition, parse_definition, validate

__all__ = [
    "RULES",
    "DefinitionInvalid",
    "Problem",
    "Rule",
    "check_definition",
    "parse_definition",
    "validate",
]
__getattr__, __dir__ = exports(
    __name__,
    {
        "RULES": "._validate",
        "Rule": "._model",
        "DefinitionInvalid": "._problems",
        "Problem": "._problems",
        "check_definition": "._validate",
        "parse_definition": "._validate",
        "validate": "._validate",
    },
)
