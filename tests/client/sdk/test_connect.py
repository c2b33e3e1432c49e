"""How the SDK reaches a server: a variable that looks like the server's URL but is not read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dockyard.client.sdk._connect import connect
from dockyard.settings import Settings


def test_a_lookalike_of_the_servers_url_is_named_with_the_one_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DOCKYARD_URI", raising=False)
    monkeypatch.setenv("DOCKYARD_URL", "http://127.0.0.1:9")
    with pytest.warns(UserWarning, match="DOCKYARD_URL is set, but .* DOCKYARD_URI") as seen:
        connect(Settings(home=tmp_path)).close()
    assert str(tmp_path) in str(seen[0].message)  # where the embedded default keeps its data


def test_no_warning_when_the_url_is_set_where_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, recwarn: pytest.WarningsRecorder
) -> None:
    monkeypatch.setenv("DOCKYARD_URL", "http://127.0.0.1:9")
    connect(Settings(home=tmp_path, uri="http://127.0.0.1:9")).close()
    monkeypatch.delenv("DOCKYARD_URL")
    connect(Settings(home=tmp_path)).close()
    assert not [w for w in recwarn if "DOCKYARD_URI" in str(w.message)]


def test_the_cli_prints_the_warning_as_one_plain_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKYARD_")}
    env.update(DOCKYARD_HOME=str(tmp_path), DOCKYARD_URL="http://127.0.0.1:9")
    dockyard = Path(sys.executable).parent / "dockyard"
    done = subprocess.run(
        [str(dockyard), "experiments", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith(
        "warning: DOCKYARD_URL is set, but Dockyard reads a server's URL from DOCKYARD_URI"
    )
    assert len(done.stderr.splitlines()) == 1  # no source line under it
