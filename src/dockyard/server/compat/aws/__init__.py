"""AWS's JSON protocol (``POST /`` with ``X-Amz-Target: <Service>.<Action>``), so boto3 clients
pointed at the server (``endpoint_url``) work unchanged.

Layout::

    _dispatch.py       the one route: reads the target, finds the service's actions, answers
    _errors.py         any exception -> {"__type", "message"} with AWS's code and status
    _fields.py         reading a request's fields into Dockyard's typed requests
    _stepfunctions.py  AWSStepFunctions.* over the pipelines service

A service plugs in with one line in ``_dispatch.TARGETS`` (target prefix -> module holding an
``ACTIONS`` table and its protocol version), resolved when first called. The server's one
authentication layer has identified the caller already (a SigV4-signed request's session token
is a Dockyard token); actions call services with that actor, which decide what it may do.
"""

from __future__ import annotations

from dockyard.server.compat.aws._dispatch import router

__all__ = ["router"]
