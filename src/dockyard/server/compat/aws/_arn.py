"""The region and account in the ARNs this server forms: Dockyard has neither, so they are
fixed (as Step Functions' ARNs here), and boto3, which checks an ARN's shape, accepts them."""

from __future__ import annotations

__all__ = ["ACCOUNT", "REGION", "arn"]

REGION = "us-east-1"
ACCOUNT = "000000000000"


def arn(service: str, resource: str) -> str:
    """``arn:aws:<service>:us-east-1:000000000000:<resource>``."""
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"
