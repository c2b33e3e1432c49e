"""What a CLI command against a server loads: only the client, not the server or data stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.services.live_server import LiveServer

# Run one command the way the ``dockyard`` script does, then list the modules it loaded.
_RUN = """
import json, sys
from dockyard.client.cli import cli
try:
    cli(sys.argv[1:], prog_name="dockyard")
except SystemExit as exit:
    code = exit.code
# None marks a module kept out on purpose (httpx's command line), not one loaded.
loaded = sorted(name for name, module in sys.modules.items() if module is not None)
print(json.dumps({"code": code, "modules": loaded}))
"""
# httpx and pydantic-settings too: against a server the CLI reads DOCKYARD_URI and
# DOCKYARD_TOKEN itself and sends over sockets (together they were ~60% of its start-up).
_HEAVY = (
    "fastapi",
    "sqlalchemy",
    "pandas",
    "numpy",
    "rich",
    "yaml",
    "httpx",
    "pydantic_settings",
    "dockyard.server",
    "dockyard.settings",
)


def _loaded(live_server: LiveServer, tmp_path: Path, command: list[str]) -> list[str]:
    """The modules ``dockyard COMMAND`` loads against ``live_server`` (it must succeed)."""
    env = {**os.environ, "DOCKYARD_URI": live_server.url, "DOCKYARD_HOME": str(tmp_path)}
    env.pop("DOCKYARD_TOKEN", None)
    done = subprocess.run(
        [sys.executable, "-c", _RUN, *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["code"] == 0, done.stdout + done.stderr
    modules: list[str] = report["modules"]
    return modules


@pytest.mark.parametrize(
    "command",
    [
        ["whoami"],
        ["experiments", "list", "--json"],
        ["runs", "list", "-e", "0"],
        ["params", "list", "/", "--json"],
    ],
)
def test_commands_against_a_server_load_no_server_code(
    live_server: LiveServer, tmp_path: Path, command: list[str]
) -> None:
    modules = _loaded(live_server, tmp_path, command)
    loaded = [m for m in modules if m.split(".")[0] in _HEAVY or m.startswith(_HEAVY)]
    assert loaded == [], f"{' '.join(command)} imported {loaded[:10]}"


@pytest.mark.parametrize("command", [["topics", "list", "--json"], ["subscriptions", "list"]])
def test_a_command_that_sends_no_body_loads_no_request_model(
    live_server: LiveServer, tmp_path: Path, command: list[str]
) -> None:
    # The commands that send one (create, publish, replay) import it when they run.
    modules = _loaded(live_server, tmp_path, command)
    assert "dockyard.api.notifications._entities" not in modules
