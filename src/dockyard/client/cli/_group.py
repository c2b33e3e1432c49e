"""A command group in which ``describe``, ``show`` and ``get`` are one verb.

Each group names the command that prints one thing after the tool its users know (``runs
show`` as the tracking tools have it, ``jobs describe`` as SageMaker's, ``params get`` as SSM's),
so a user moving between groups reaches for the other name. Typed there, it runs the group's own
command; help lists the group's own name only.
"""

from __future__ import annotations

from typing import Final

import click

__all__ = ["Group"]

_ONE_VERB: Final = ("describe", "show", "get")


class Group(click.Group):
    """A :class:`click.Group` that takes ``describe``, ``show`` and ``get`` for one another."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is not None or cmd_name not in _ONE_VERB:
            return found
        for other in _ONE_VERB:
            found = super().get_command(ctx, other)
            if found is not None:
                return found
        return None
