"""The ``dockyard`` command line: one module per noun."""

from __future__ import annotations

import click

from dockyard import __version__
from dockyard.cli.accounts import grants, login, logout, tokens, users, whoami
from dockyard.cli.audit import audit
from dockyard.cli.endpoints import endpoints
from dockyard.cli.experiments import experiments
from dockyard.cli.jobs import jobs
from dockyard.cli.models import models
from dockyard.cli.runs import runs
from dockyard.cli.server import server
from dockyard.cli.transform import transform

__all__ = ["cli", "main"]


@click.group()
@click.version_option(__version__, prog_name="dockyard")
def cli() -> None:
    """Dockyard: track experiments, package and serve models, on infrastructure you own.

    Set DOCKYARD_URI=http://host:port to talk to a server (sign in with `dockyard login` or
    DOCKYARD_TOKEN); unset, commands use the embedded default in DOCKYARD_HOME (~/.dockyard).
    """


cli.add_command(server)
cli.add_command(experiments)
cli.add_command(runs)
cli.add_command(jobs)
cli.add_command(models)
cli.add_command(transform)
cli.add_command(endpoints)
cli.add_command(users)
cli.add_command(tokens)
cli.add_command(grants)
cli.add_command(login)
cli.add_command(logout)
cli.add_command(whoami)
cli.add_command(audit)


def main() -> None:
    """Entry point of the ``dockyard`` script."""
    cli()
