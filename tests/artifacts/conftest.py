"""Artifact store fixtures: the same tests run against every backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.artifacts.backends import Backend, local_backend, s3_backend
from tests.services.s3 import S3Server


@pytest.fixture(scope="session")
def s3_bucket(s3_server: S3Server) -> str:
    """One bucket for the session; each test gets its own prefix in it."""
    return s3_server.create_bucket("artifacts")


@pytest.fixture(
    params=[
        pytest.param("local", id="local"),
        pytest.param("s3", id="s3", marks=pytest.mark.s3),
    ]
)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """Each backend in turn; S3 starts its server only when an S3 test runs."""
    if request.param == "local":
        return local_backend(tmp_path)
    return s3_backend(request.getfixturevalue("s3_server"), request.getfixturevalue("s3_bucket"))
