"""A job's process forked from the runner is what ``subprocess.Popen`` would have started."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from tests.server.jobs.conftest import SCRIPTS

from dockyard.runtime.runner._forked import fork_job


def test_a_forked_job_process_is_a_started_ones_twin() -> None:
    # In a process of its own: this one may run threads, and its descriptors are pytest's.
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / "forked_identity.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    answers = {a["name"]: a for a in map(json.loads, done.stdout.splitlines())}
    cold, forked = answers["cold"], answers["forked"]
    assert cold["code"] == forked["code"] == 3
    report = forked["report"]
    assert report["death_signal"] == 9 and report["session_leader"] and report["parent_is_runner"]
    assert report["fds"] == [0, 1, 2] and report["stdout_is_pipe"]
    assert report["sigterm_default"]
    assert report["env"]["RUNNER"]
    # Twins, but for what a new interpreter adds at start-up: LC_CTYPE when no locale is set
    # (PEP 538; a server's environment has one).
    cold["report"]["env"].pop("LC_CTYPE", None)
    assert forked["report"] == cold["report"]


def test_a_runner_with_threads_does_not_fork(tmp_path: Path) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        with pytest.raises(RuntimeError, match="single-threaded"):
            fork_job(lambda: 0, tmp_path, {}, None)
    finally:
        stop.set()
        thread.join()


def test_only_settings_of_the_store_let_a_transform_score_in_its_own_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dockyard.runtime.runner._contract import STORE_ENV
    from dockyard.runtime.runner._transform import _holds_credentials

    monkeypatch.setenv("AWS_CA_BUNDLE", "/etc/ssl/bundle.pem")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv(STORE_ENV, "AWS_CA_BUNDLE,AWS_REGION")
    assert not _holds_credentials()
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv(STORE_ENV, "AWS_CA_BUNDLE,AWS_REGION,AWS_SECRET_ACCESS_KEY")
    assert _holds_credentials()
