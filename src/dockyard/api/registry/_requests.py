"""Typed requests and the naming rules of the registry, defined once.

Model names and aliases appear inside URIs (``models:/<name>@<alias>``) and artifact keys, so the
characters that would make a URI ambiguous (``/``, ``@``, ``:``) are refused when a name is
created rather than discovered later by a parser.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from dockyard.api.registry._entities import ApprovalStatus
from dockyard.api.tracking import TagIn
from dockyard.errors import InvalidArgument

__all__ = [
    "CreateModelVersion",
    "CreateRegisteredModel",
    "SetAlias",
    "SetApproval",
    "SetTag",
    "UpdateDescription",
    "check_alias",
    "check_model_name",
    "parse_version",
]

MAX_NAME = 256
MAX_ALIAS = 255
MAX_DESCRIPTION = 5000
MAX_SOURCE = 1000

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\- ]*", re.ASCII)
_ALIAS = re.compile(r"[A-Za-z0-9_\-]+", re.ASCII)
# "v3" or "3" would read as a version number in models:/<name>/<x> and in MLflow's clients.
_VERSION_LIKE = re.compile(r"v?\d+", re.IGNORECASE)


def _name_rule(name: str) -> str:
    if not _NAME.fullmatch(name) or name.endswith(" "):
        raise ValueError(
            f"invalid model name {name!r}: use letters, digits, '_', '-', '.' and inner spaces, "
            "starting with a letter, digit or '_'"
        )
    return name


def _alias_rule(alias: str) -> str:
    if not _ALIAS.fullmatch(alias):
        raise ValueError(f"invalid alias {alias!r}: use letters, digits, '_' and '-'")
    if alias.lower() == "latest" or _VERSION_LIKE.fullmatch(alias):
        raise ValueError(
            f"invalid alias {alias!r}: 'latest' and version-like names (3, v3) are reserved"
        )
    return alias


def check_model_name(name: str, field: str = "name") -> str:
    """A registered model's name, or an error naming ``field`` and the rule it breaks."""
    if not 1 <= len(name) <= MAX_NAME:
        raise InvalidArgument(f"model name must be 1 to {MAX_NAME} characters", field=field)
    try:
        return _name_rule(name)
    except ValueError as exc:
        raise InvalidArgument(str(exc), field=field) from exc


def check_alias(alias: str, field: str = "alias") -> str:
    """An alias name, or an error naming ``field`` and the rule it breaks."""
    if not 1 <= len(alias) <= MAX_ALIAS:
        raise InvalidArgument(f"alias must be 1 to {MAX_ALIAS} characters", field=field)
    try:
        return _alias_rule(alias)
    except ValueError as exc:
        raise InvalidArgument(str(exc), field=field) from exc


def parse_version(value: str | int, field: str = "version") -> int:
    """A version number from a path or field: a positive integer, or an error saying so."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 9:
        number = int(value)
    else:
        raise InvalidArgument(
            f"version must be a positive integer, got {str(value)[:40]!r}", field=field
        )
    if not 1 <= number <= 2**31 - 1:
        raise InvalidArgument(
            f"version must be a positive integer, got {str(value)[:40]!r}", field=field
        )
    return number


ModelName = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_NAME), AfterValidator(_name_rule)
]
AliasName = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_ALIAS), AfterValidator(_alias_rule)
]
Description = Annotated[str, StringConstraints(max_length=MAX_DESCRIPTION)]


class _Request(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CreateRegisteredModel(_Request):
    """A new registered model (no versions yet)."""

    name: ModelName
    description: Description = ""
    tags: list[TagIn] = Field(default_factory=list, max_length=100)


class UpdateDescription(_Request):
    """A new description for a model or a version."""

    description: Description


class CreateModelVersion(_Request):
    """Register the package a URI names as the model's next version.

    Attributes:
        source: ``runs:/<run>/<path>``, ``models:/<name>/<version|@alias|latest>``, an ``s3://``
            prefix, or a folder on the server's filesystem (absolute path or ``file://``).
        run_id: The run that produced the package, when the source is not a ``runs:/`` URI.
        logged_model_id: The logged model the source is, for a ``models:/<model_id>`` source
            (MLflow's clients send it as ``model_id``); it must match the source.
        reference_missing_source: When the source names nothing this server holds (a run,
            logged model or version that does not exist, an empty folder), record the version
            as a reference to it instead of refusing, as MLflow's registry records sources
            without reading them. Such a version has no registered files and cannot be
            loaded; a source that exists but fails verification is refused all the same.
    """

    source: Annotated[str, StringConstraints(min_length=1, max_length=MAX_SOURCE)]
    run_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.\-]{1,32}$")] | None = None
    logged_model_id: Annotated[str, StringConstraints(pattern=r"^m-[0-9a-f]{32}$")] | None = None
    reference_missing_source: bool = False
    description: Description = ""
    tags: list[TagIn] = Field(default_factory=list, max_length=100)


class SetAlias(_Request):
    """Point an alias at a version (moving it if it points elsewhere)."""

    version: Annotated[int, Field(ge=1, le=2**31 - 1)]


class SetApproval(_Request):
    """Approve or reject a version, or send it back to pending, with a reason."""

    status: ApprovalStatus
    comment: Annotated[str, StringConstraints(max_length=MAX_DESCRIPTION)] | None = None


class SetTag(_Request):
    """A tag value (the key is in the path)."""

    value: Annotated[str, StringConstraints(max_length=8000)]
