"""What users run: the SDK (``import dockyard as dy``), the CLI, and the one HTTP client they and
the runtime processes share."""

from __future__ import annotations

__all__: list[str] = []
