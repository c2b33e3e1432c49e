"""Amazon Resource Names of state machines and executions, as Step Functions forms them.

Dockyard has no accounts or regions; its ARNs carry fixed ones (``us-east-1``,
``000000000000``) so boto3, which checks their shape, accepts them. The name parts follow
Step Functions' rule: 1 to 80 characters, none of them whitespace, a bracket (``< > { } [ ]``),
a wildcard (``? *``), one of ``" # % \\ ^ | ~ ` $ & , ; : /``, a control character or half a
surrogate pair. Dots, ``+``, ``=``, ``@`` and letters of any script are names' as on AWS;
only ``.`` and ``..`` on their own are refused, as the paths of the native API could not carry
them.
"""

from __future__ import annotations

import re

from dockyard.errors import InvalidArgument

__all__ = [
    "ACCOUNT",
    "NAME_PATTERN",
    "REGION",
    "check_name",
    "execution_arn",
    "parse_execution_arn",
    "parse_state_machine_arn",
    "state_machine_arn",
]

REGION = "us-east-1"
ACCOUNT = "000000000000"
NAME_PATTERN = r"^[^\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f\ud800-\udfff]{1,80}$"
_NAME = re.compile(NAME_PATTERN)
_PREFIX = f"arn:aws:states:{REGION}:{ACCOUNT}:"


def check_name(name: str, field: str = "name") -> str:
    """``name`` when it is a valid state machine or execution name."""
    if name in (".", ".."):
        raise InvalidArgument(
            f"{name!r} is not a valid name here: the API's paths cannot carry it", field=field
        )
    if not _NAME.match(name):
        raise InvalidArgument(
            f"{name[:100]!r} is not a valid name: 1 to 80 characters, without whitespace, "
            "brackets, '?', '*', any of \" # % \\ ^ | ~ ` $ & , ; : / or control characters",
            field=field,
        )
    return name


def state_machine_arn(name: str) -> str:
    return f"{_PREFIX}stateMachine:{name}"


def execution_arn(state_machine: str, name: str, *, express: bool = False) -> str:
    kind = "express" if express else "execution"
    return f"{_PREFIX}{kind}:{state_machine}:{name}"


def is_express_arn(arn: str) -> bool:
    """Whether ``arn`` names an Express execution (``...:express:MACHINE:NAME``), whatever
    its machine and execution are called."""
    parts = arn.split(":")
    return len(parts) > 5 and parts[5] == "express"


def _parts(arn: str, field: str) -> list[str]:
    parts = arn.split(":")
    if len(parts) < 7 or parts[:3] != ["arn", "aws", "states"]:
        raise InvalidArgument(f"{arn[:200]!r} is not a Step Functions ARN", field=field)
    return parts


def parse_state_machine_arn(arn: str, field: str = "stateMachineArn") -> str:
    """The state machine's name (a version or alias qualifier is dropped)."""
    parts = _parts(arn, field)
    if parts[5] != "stateMachine":
        raise InvalidArgument(f"{arn[:200]!r} is not a state machine ARN", field=field)
    return check_name(parts[6], field)


def parse_execution_arn(arn: str, field: str = "executionArn") -> tuple[str, str]:
    """The state machine's and the execution's names."""
    parts = _parts(arn, field)
    if parts[5] not in ("execution", "express") or len(parts) != 8:
        raise InvalidArgument(f"{arn[:200]!r} is not an execution ARN", field=field)
    return check_name(parts[6], field), check_name(parts[7], field)
