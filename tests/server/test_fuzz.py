"""Property-based fuzzing over the OpenAPI document: no input may produce a server error."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from dockyard.server import create_app
from dockyard.settings import Settings

_HOME = Path(__import__("tempfile").mkdtemp(prefix="dockyard-fuzz-"))
# Schemathesis calls the app as Starlette's test client does, with Host "testserver".
app = create_app(Settings(home=_HOME, allowed_hosts=["testserver"]))
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_input_yields_a_server_error(case: schemathesis.Case) -> None:
    response = case.call()
    case.validate_response(response, checks=(not_a_server_error,))
