"""Dockyard's stand-in for ``sagemaker_containers.entry_point``."""

from __future__ import annotations


def _wait_hostname_resolution() -> None:
    """Nothing to wait for: a Dockyard training job runs on one host."""
