"""Property-based fuzzing over the OpenAPI document: no input may produce a server error."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from dockyard.server import create_app
from dockyard.settings import Settings

# Made when the module is imported (every worker that collects it, runs it or not): gone when
# the process ends, as a fixture's folder would be.
_HOME = Path(tempfile.mkdtemp(prefix="dockyard-fuzz-"))
atexit.register(shutil.rmtree, _HOME, ignore_errors=True)
# Schemathesis calls the app as Starlette's test client does, with Host "testserver".
app = create_app(Settings(home=_HOME, allowed_hosts=["testserver"]))
atexit.register(app.state.services.close)  # before the folder goes: atexit runs last first
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
    _bounded(case)
    response = case.call()
    case.validate_response(response, checks=(not_a_server_error,))


def _bounded(case: schemathesis.Case) -> None:
    """The event stream answers for ``duration_s`` (25 s when not given): forty examples of it
    took longer than the test may. A valid duration becomes a tenth of a second; an invalid one
    stays, for the server to refuse."""
    if case.path != "/api/v1/events/stream":
        return
    query = dict(case.query or {})
    value = query.get("duration_s")
    try:
        valid = value is None or float(value) > 0.1
    except (TypeError, ValueError):
        valid = False
    if valid:
        query["duration_s"] = 0.1
        case.query = query
