"""The model registry: registered models, immutable versions, aliases, approval and lineage.

A model URI loads the same way everywhere. Consumers (the SDK, jobs, endpoints, batch) turn one
into a verified local package with :func:`fetch_model` and load it with
``dockyard.models.load_model(path, expected_digest=digest)``::

    local = fetch_model("models:/wine@champion", client=client, cache_dir=cache)
    model = dockyard.models.load_model(local.path, expected_digest=local.digest)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.lazy import exports

if TYPE_CHECKING:
    from dockyard.server.registry._service import RegistryService

__all__ = ["RegistryService"]
__getattr__, __dir__ = exports(
    __name__,
    {
        "RegistryService": "._service",
    },
)
