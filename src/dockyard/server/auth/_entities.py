"""Accounts, tokens, sessions and grants as typed data: requests in, resources out."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from dockyard.server.actor import Level, Role
from dockyard.server.auth._secrets import MAX_PASSWORD, MIN_PASSWORD

__all__ = [
    "AccessKeyInfo",
    "CreateAccessKey",
    "CreateToken",
    "CreateUser",
    "CreatedAccessKey",
    "CreatedToken",
    "Grant",
    "Login",
    "SessionInfo",
    "SetGrant",
    "TokenInfo",
    "UpdateUser",
    "User",
    "check_user_name",
]

_NAME = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"
RESOURCE_KINDS = ("experiment", "registered_model", "endpoint", "parameter")


def check_user_name(name: str) -> str:
    """``name`` if it is a valid account name; ValueError naming the rule otherwise."""
    if not re.fullmatch(_NAME, name):
        raise ValueError(
            "a user name is 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter "
            "or digit"
        )
    return name


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Resource(BaseModel):
    model_config = ConfigDict(frozen=True)


class User(_Resource):
    name: str
    role: Role
    disabled: bool = False
    has_password: bool = True
    created_time: int
    updated_time: int
    area: str | None = Field(
        default=None,
        description="the account's personal area of the artifact store: its uploads go to "
        "data/users/<area>/, its jobs may write checkpoints/<area>/",
    )


class CreateUser(_Request):
    name: str = Field(min_length=1, max_length=64)
    role: Role = Role.MEMBER
    password: str | None = Field(
        default=None,
        min_length=MIN_PASSWORD,
        max_length=MAX_PASSWORD,
        description="omit for an account that signs in with tokens only",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_user_name(value)


class UpdateUser(_Request):
    role: Role | None = None
    disabled: bool | None = None
    password: str | None = Field(default=None, min_length=MIN_PASSWORD, max_length=MAX_PASSWORD)
    current_password: str | None = Field(
        default=None,
        max_length=MAX_PASSWORD,
        description="your password now: needed to change your own, once you have one",
    )


class CreateToken(_Request):
    name: str = Field(default="token", min_length=1, max_length=128)
    ttl_days: float | None = Field(
        default=None, gt=0, le=3660, description="lifetime; the server's default when omitted"
    )
    read_only: bool = False
    user: str | None = Field(
        default=None, max_length=64, description="admins: create the token for this account"
    )


class TokenInfo(_Resource):
    token_id: str
    user: str
    name: str
    read_only: bool
    job: str | None = None
    created_time: int
    expires_time: int | None = None
    revoked_time: int | None = None


class CreatedToken(TokenInfo):
    token: str = Field(description="the secret; shown once, never again")


class CreateAccessKey(_Request):
    name: str = Field(default="access key", min_length=1, max_length=128)
    ttl_days: float | None = Field(
        default=None, gt=0, le=3660, description="lifetime; the server's default when omitted"
    )
    read_only: bool = False
    user: str | None = Field(
        default=None, max_length=64, description="admins: create the key for this account"
    )


class AccessKeyInfo(_Resource):
    access_key_id: str
    user: str
    name: str
    read_only: bool
    created_time: int
    expires_time: int | None = None
    revoked_time: int | None = None


class CreatedAccessKey(AccessKeyInfo):
    secret_access_key: str = Field(
        description="signs requests (AWS SigV4); shown once, never again"
    )


class Login(_Request):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD)


class SessionInfo(_Resource):
    user: str
    role: Role
    csrf_token: str | None = Field(
        default=None, description="send as X-CSRF-Token with every change made with the cookie"
    )
    expires_time: int | None = None


class SetGrant(_Request):
    kind: str = Field(description="experiment, registered_model, endpoint or parameter")
    resource: str = Field(
        min_length=1,
        max_length=256,
        description="id or name; for a parameter its name, or a path ending in / (/team/)",
    )
    user: str = Field(min_length=1, max_length=64, description="a user name, or * for everyone")
    level: str = Field(description="none, read, edit or manage")

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        if value not in RESOURCE_KINDS:
            raise ValueError(f"kind must be one of {', '.join(RESOURCE_KINDS)}")
        return value

    @field_validator("level")
    @classmethod
    def _level(cls, value: str) -> str:
        return Level.parse(value).label


class Grant(_Resource):
    kind: str
    resource: str
    user: str
    level: str
