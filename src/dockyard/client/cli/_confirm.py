"""Commands that delete for good ask first.

On a terminal they ask; ``--yes`` (``-y``) answers for the user. With no terminal to ask on (a
script, a pipe, a CI job) they refuse unless given ``--yes``, rather than read an answer from
whatever the standard input holds: a delete in a script says so in the script.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from dockyard.errors import InvalidArgument

__all__ = ["confirm", "yes_option"]

F = TypeVar("F", bound=Callable[..., Any])


def yes_option(func: F) -> F:
    """Add ``--yes`` / ``-y``: go ahead without asking."""
    return click.option("--yes", "-y", is_flag=True, help="Do it without asking.")(func)


def confirm(question: str, yes: bool) -> None:
    """Ask ``question`` (``delete endpoint web``) unless ``yes``; a "no" aborts (exit 1).

    Raises:
        InvalidArgument: Not ``yes`` and the standard input is not a terminal.
    """
    if yes:
        return
    if not sys.stdin.isatty():  # click's test runner swaps sys.stdin: read it at call time
        raise InvalidArgument(
            f"not asking to {question}: the standard input is not a terminal; "
            "give --yes to go ahead",
            field="yes",
        )
    # Asked on stderr: what --json prints on stdout stays JSON.
    click.confirm(f"{question}? This cannot be undone", abort=True, err=True)
