"""``dockyard monitor``: the group local data checks and server-side schedules share.

Each subcommand lives in its own module and is imported only when it runs, so a local check
never loads the HTTP client and a schedule command never loads numpy or pyarrow. A module that
adds subcommands names them in :data:`_SUBCOMMANDS`.
"""

from __future__ import annotations

import importlib
from typing import Final

import click

__all__ = ["monitor"]

#: Subcommand -> (module, attribute), in the order help lists them.
_SUBCOMMANDS: Final = {
    "baseline": ("dockyard.client.cli._monitor_local", "baseline"),
    "check": ("dockyard.client.cli._monitor_local", "check"),
    "schedules": ("dockyard.client.cli._monitor_remote", "schedules"),
    "ground-truth": ("dockyard.client.cli._monitor_remote", "ground_truth"),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*_SUBCOMMANDS, *(n for n in super().list_commands(ctx) if n not in _SUBCOMMANDS)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = self.commands.get(cmd_name)
        if found is not None or cmd_name not in _SUBCOMMANDS:
            return found
        module, attr = _SUBCOMMANDS[cmd_name]
        command: click.Command = getattr(importlib.import_module(module), attr)
        self.add_command(command, cmd_name)
        return command


@click.group(cls=_LazyGroup)
def monitor() -> None:
    """Model monitoring: baselines, data-quality and drift checks of local data (no server),
    and schedules and ground truth on a server."""
