"""Parameter names, paths, labels and selectors, checked as AWS SSM Parameter Store checks them.

A name is a path of segments: ``/team/model/threshold``. It starts with ``/``; each segment is
letters, digits and ``_ . -``; at most 15 segments and 1011 characters. A *path* (what
:meth:`ParamService.get_by_path` lists) is ``/`` or a name with an optional trailing ``/``. A
*selector* picks a version: ``name`` (the latest), ``name:3`` (version 3) or ``name:prod`` (the
version labelled ``prod``). Labels are up to 100 letters, digits and ``_ . -`` and do not start
with a digit, so ``name:3`` is never a label.
"""

from __future__ import annotations

import re

from dockyard.errors import InvalidArgument

__all__ = [
    "MAX_DEPTH",
    "MAX_NAME",
    "VERSION",
    "check_label",
    "check_name",
    "check_path",
    "parse_selector",
    "prefixes",
]

MAX_NAME = 1011
MAX_DEPTH = 15
MAX_LABEL = 100
_SEGMENT = re.compile(r"[A-Za-z0-9_.\-]+")
#: A version number in a selector (ASCII digits: str.isdigit also accepts "²").
VERSION = re.compile(r"[0-9]{1,9}")
_LABEL = re.compile(r"[A-Za-z_.\-][A-Za-z0-9_.\-]{0,99}")


def _shown(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:77] + "...")


def check_name(name: str, field: str = "name") -> str:
    """``name`` when it is a valid parameter name, else InvalidArgument naming ``field``."""
    if not isinstance(name, str) or not name:
        raise InvalidArgument(
            "a parameter name is required, like /team/model/threshold", field=field
        )
    if len(name) > MAX_NAME:
        raise InvalidArgument(
            f"a parameter name has at most {MAX_NAME} characters (got {len(name)})", field=field
        )
    if not name.startswith("/"):
        raise InvalidArgument(
            f"parameter name {_shown(name)} must start with / (like /team/model/threshold)",
            field=field,
        )
    segments = name[1:].split("/")
    if len(segments) > MAX_DEPTH:
        raise InvalidArgument(
            f"parameter name {_shown(name)} has {len(segments)} levels; at most {MAX_DEPTH}",
            field=field,
        )
    for segment in segments:
        if not segment:
            raise InvalidArgument(
                f"parameter name {_shown(name)} has an empty level (// or a trailing /)",
                field=field,
            )
        if not _SEGMENT.fullmatch(segment):
            raise InvalidArgument(
                f"parameter name {_shown(name)}: each level is letters, digits and _ . - "
                f"(not {_shown(segment)})",
                field=field,
            )
    return name


def check_path(path: str, field: str = "path") -> str:
    """A listing path, normalised to end with ``/`` (``/`` itself is the root)."""
    if path == "/":
        return path
    check_name(path.removesuffix("/"), field=field)
    return path.removesuffix("/") + "/"


def check_label(label: str, field: str = "labels") -> str:
    if not isinstance(label, str) or not _LABEL.fullmatch(label):
        raise InvalidArgument(
            f"label {_shown(str(label))}: up to {MAX_LABEL} letters, digits and _ . -, "
            "not starting with a digit",
            field=field,
        )
    if label[:3].lower() in ("aws", "ssm"):
        raise InvalidArgument(
            f"label {_shown(label)}: labels may not begin with aws or ssm (reserved)",
            field=field,
        )
    return label


def parse_selector(selector: str, field: str = "name") -> tuple[str, int | str | None]:
    """``(name, version or label or None)`` from ``name``, ``name:3`` or ``name:label``."""
    name, sep, pick = selector.partition(":")
    check_name(name, field=field)
    if not sep:
        return name, None
    if VERSION.fullmatch(pick):
        version = int(pick)
        if version < 1:
            raise InvalidArgument("versions start at 1", field=field)
        return name, version
    return name, check_label(pick, field=field)


def prefixes(name: str) -> list[str]:
    """Where a grant on ``name`` may be: the name itself and each path above it, down from
    ``/`` (``/a/b`` -> ``/``, ``/a/``, ``/a/b``)."""
    parts = name[1:].split("/")
    found = ["/"]
    for i in range(1, len(parts)):
        found.append("/" + "/".join(parts[:i]) + "/")
    found.append(name)
    return found
