"""The parameter store: versioned, hierarchical, optionally encrypted configuration values.

Runs in the server (as AWS SSM Parameter Store does for its users). Layout::

    _names.py       names (/team/model/threshold), paths, labels, selectors (name:3, name:prod)
    _entities.py    request and resource models of the API
    _secrets.py     SecureString values at rest: AES-256-GCM with DOCKYARD_PARAMS_KEY
    _repository.py  SQL for parameters, versions, labels
    _service.py     the rules; references in specs ({{param:/name}}) resolved at submit

Permissions are in :mod:`dockyard.server.auth._access` (``PathAccess``): grants on names or on paths
above them, the creator owns a parameter, and a SecureString's clear value needs an explicit
grant. A SecureString's clear value is never stored, logged, listed, put in an event or in a
job's stored spec: a job gets it in its environment, from its runner's launch.

This package exports the API's models only, so clients (the SDK, the CLI) load no server code;
the server imports :class:`~dockyard.server.params._service.ParamService` from its module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.lazy import exports

if TYPE_CHECKING:
    from dockyard.server.params._secrets import decode_key
    from dockyard.server.params._service import ParamService

__all__ = ["ParamService", "decode_key"]
__getattr__, __dir__ = exports(
    __name__,
    {
        "ParamService": "._service",
        "decode_key": "._secrets",
    },
)
