"""boto3's own clients pointed at a live server, and accounts whose tokens sign their calls."""

from __future__ import annotations

import base64
from typing import Any

import boto3
import httpx
from botocore.config import Config

__all__ = ["aws", "code", "tokens"]

PASSWORD = "correct horse battery"


def aws(service: str, url: str, token: str | None = None) -> Any:
    """A boto3 client of ``service`` signing with ``token`` as its session token."""
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="dockyard",
        aws_secret_access_key="dockyard",
        aws_session_token=token,
        config=Config(retries={"max_attempts": 1}),
    )


def code(error: Any) -> str:
    """The AWS error code of a ``pytest.raises(ClientError)``."""
    return str(error.value.response["Error"]["Code"])


def tokens(url: str) -> dict[str, str]:
    """Turn sign-in on with an admin (ana) and a member (bob); their tokens."""
    found = {}
    with httpx.Client(base_url=url) as http:
        made = http.post(
            "/api/v1/users", json={"name": "ana", "role": "admin", "password": PASSWORD}
        )
        assert made.status_code == 201, made.text
        admin = base64.b64encode(f"ana:{PASSWORD}".encode()).decode()
        http.post(
            "/api/v1/users",
            json={"name": "bob", "password": PASSWORD},
            headers={"Authorization": f"Basic {admin}"},
        ).raise_for_status()
        for who in ("ana", "bob"):
            basic = base64.b64encode(f"{who}:{PASSWORD}".encode()).decode()
            answer = http.post(
                "/api/v1/tokens", json={"name": "t"}, headers={"Authorization": f"Basic {basic}"}
            )
            answer.raise_for_status()
            found[who] = answer.json()["token"]
    return found
