"""Requests and resources of the parameter store's API (the SDK sends the same models)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "LabelParameter",
    "LabelResult",
    "Parameter",
    "ParameterList",
    "ParameterType",
    "ParameterUse",
    "PutParameter",
    "PutResult",
]

#: Largest value, in characters (SSM's standard tier: 4 KB).
MAX_VALUE = 4096


class ParameterType(StrEnum):
    """``String``; ``StringList`` (comma-separated, also returned as ``values``);
    ``SecureString`` (encrypted at rest, returned in clear only on request)."""

    STRING = "String"
    STRING_LIST = "StringList"
    SECURE_STRING = "SecureString"


class _Request(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PutParameter(_Request):
    """A new parameter, or (with ``overwrite``) a new version of one."""

    name: str = Field(description="/team/model/threshold: see dockyard.api.params._names")
    # Checked by the service, so a refusal never echoes a SecureString's value.
    value: str = Field(description=f"up to {MAX_VALUE} characters")
    type: ParameterType = ParameterType.STRING
    overwrite: bool = Field(default=False, description="put a new version of an existing name")
    description: str = Field(default="", max_length=1024)


class PutResult(BaseModel):
    name: str
    version: int
    type: ParameterType


class LabelParameter(_Request):
    """Attach labels to a version (the latest when ``version`` is left out); a label already
    on another version of the parameter moves."""

    name: str
    version: int | None = Field(default=None, ge=1)
    labels: list[str] = Field(min_length=1, max_length=10)


class LabelResult(BaseModel):
    name: str
    version: int
    labels: list[str]


class Parameter(BaseModel):
    """One version of a parameter.

    ``value`` is None for a SecureString unless it was asked for with decryption by someone
    allowed to decrypt it (``decrypted`` says which); listings and history never decrypt.
    ``values`` is a StringList's items.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    type: ParameterType
    version: int
    value: str | None
    values: list[str] | None = None
    decrypted: bool = False
    labels: list[str] = Field(default_factory=list)
    description: str = ""
    modified_by: str
    modified_time: int


class ParameterList(BaseModel):
    parameters: list[Parameter]
    next_page_token: str | None = None


class ParameterUse(BaseModel):
    """A parameter a spec referenced, as resolved when it was submitted."""

    model_config = ConfigDict(frozen=True)

    name: str
    version: int
    type: ParameterType
    field: str
