"""The ``dockyard`` command line: one module per noun.

Each command's module is imported only when that command runs (or when help lists them all):
a command against a server should not pay for importing every other command's dependencies
(the job specs, the model packager, the server itself).
"""

from __future__ import annotations

import importlib
import sys
import warnings
from typing import Final

import click

from dockyard import __version__

__all__ = ["cli", "main"]

# httpx imports its own command line (rich, pygments: ~0.1 s) whenever they are installed, and
# falls back to a stub when that import fails; no Dockyard command runs httpx's command line.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

#: Command name -> (module, attribute), in the order help lists them.
_COMMANDS: Final = {
    "server": ("dockyard.client.cli.server", "server"),
    "experiments": ("dockyard.client.cli.experiments", "experiments"),
    "runs": ("dockyard.client.cli.runs", "runs"),
    "jobs": ("dockyard.client.cli.jobs", "jobs"),
    "models": ("dockyard.client.cli.models", "models"),
    "transform": ("dockyard.client.cli.transform", "transform"),
    "endpoints": ("dockyard.client.cli.endpoints", "endpoints"),
    "params": ("dockyard.client.cli.params", "params"),
    "users": ("dockyard.client.cli.accounts", "users"),
    "tokens": ("dockyard.client.cli.accounts", "tokens"),
    "access-keys": ("dockyard.client.cli.accounts", "access_keys"),
    "grants": ("dockyard.client.cli.accounts", "grants"),
    "login": ("dockyard.client.cli.accounts", "login"),
    "logout": ("dockyard.client.cli.accounts", "logout"),
    "whoami": ("dockyard.client.cli.accounts", "whoami"),
    "audit": ("dockyard.client.cli.audit", "audit"),
    "topics": ("dockyard.client.cli.notifications", "topics"),
    "subscriptions": ("dockyard.client.cli.notifications", "subscriptions"),
    "triggers": ("dockyard.client.cli.triggers", "triggers"),
    "pipelines": ("dockyard.client.cli.pipelines", "pipelines"),
    "tuning": ("dockyard.client.cli.tuning", "tuning"),
    "monitor": ("dockyard.client.cli._monitor", "monitor"),
}


class _LazyGroup(click.Group):
    """A group whose commands are imported from :data:`_COMMANDS` when first looked up."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*_COMMANDS, *(name for name in super().list_commands(ctx) if name not in _COMMANDS)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = self.commands.get(cmd_name)
        if found is not None or cmd_name not in _COMMANDS:
            return found
        module, attr = _COMMANDS[cmd_name]
        command: click.Command = getattr(importlib.import_module(module), attr)
        self.add_command(command, cmd_name)
        return command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.NoSuchCommand as unknown:
            # click suggests among the commands loaded so far: here, none of them.
            raise click.exceptions.NoSuchCommand(
                unknown.command_name, possibilities=self.list_commands(ctx), ctx=ctx
            ) from None


@click.group(cls=_LazyGroup)
@click.version_option(__version__, prog_name="dockyard")
def cli() -> None:
    """Dockyard: track experiments, package and serve models, on infrastructure you own.

    Set DOCKYARD_URI=http://host:port to talk to a server (sign in with `dockyard login` or
    DOCKYARD_TOKEN); unset, commands use the embedded default in DOCKYARD_HOME (~/.dockyard).
    """


def main() -> None:
    """Entry point of the ``dockyard`` script."""
    warnings.formatwarning = _plain_warning
    cli()


def _plain_warning(message: Warning | str, *_: object, **__: object) -> str:
    """A warning as a command prints it: the message, without the source line it came from."""
    return f"warning: {message}\n"
