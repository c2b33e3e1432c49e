"""The public surface of dockyard.registry is pinned, and clients import it without the server."""

from __future__ import annotations

import subprocess
import sys

import dockyard.registry


def test_public_names() -> None:
    assert dockyard.registry.__all__ == [
        "Approval",
        "ApprovalStatus",
        "CodeVersion",
        "CreateModelVersion",
        "CreateRegisteredModel",
        "Lineage",
        "LineageDataset",
        "LineageRun",
        "LocalModel",
        "LocalRef",
        "LoggedModelRef",
        "ModelRef",
        "ModelVersion",
        "RegisteredModel",
        "RegistryRef",
        "RegistryService",
        "ResolvedModel",
        "RunRef",
        "S3Ref",
        "SetAlias",
        "SetApproval",
        "SetTag",
        "UpdateDescription",
        "VersionFile",
        "VersionStatus",
        "check_alias",
        "check_model_name",
        "fetch_model",
        "parse_model_uri",
        "parse_version",
    ]
    for name in dockyard.registry.__all__:
        assert getattr(dockyard.registry, name) is not None


def test_fetching_clients_do_not_load_the_database_or_s3_layers() -> None:
    # Jobs, endpoints and batch workers import this to fetch models; they must start fast.
    script = (
        "import sys, dockyard.registry, dockyard.sdk\n"
        "heavy = [m for m in ('sqlalchemy', 'boto3', 'dockyard.store') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
