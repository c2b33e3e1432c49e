"""Dockyard."""
