"""``python -m dockyard`` runs the CLI."""

from dockyard.client.cli import main

main()
