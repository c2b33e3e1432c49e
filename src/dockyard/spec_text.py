"""Spec text (YAML or JSON, which is YAML) as a mapping of fields, with errors that say where.

The command line reads spec files with it, and the server's ``POST /api/v1/specs/parse`` lets a
browser, which has no YAML parser, turn pasted spec text into the JSON the submit routes take.
"""

from __future__ import annotations

from typing import Any

import yaml

from dockyard.errors import InvalidArgument

__all__ = ["parse_spec"]


def _refuse_aliases(text: str, source: str) -> None:
    # An alias is a reference, cheap to parse but copied out in full when the mapping becomes
    # JSON: a few nested ones ("billion laughs") would make a tiny text an enormous answer.
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            mark = event.start_mark
            line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
            raise InvalidArgument(
                f"{source}: YAML aliases (*name) are not accepted in a spec, at line "
                f"{line}, column {column}",
                field="spec",
                details={"line": line, "column": column},
            )


def parse_spec(text: str, source: str = "spec", *, allow_aliases: bool = True) -> dict[str, Any]:
    """``text`` as a mapping; bad YAML is an InvalidArgument naming the line and column (also in
    ``details``), and so is anything but a mapping at the top. ``source`` names the text in
    messages (a file's path)."""
    try:
        if not allow_aliases:
            _refuse_aliases(text, source)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        details = {"line": mark.line + 1, "column": mark.column + 1} if mark else None
        # One line: the problem (and what the parser was in), not the quoted snippet and
        # caret PyYAML's own text spreads over several.
        problem, context = getattr(exc, "problem", None), getattr(exc, "context", None)
        began = getattr(exc, "context_mark", None)
        if context and began is not None:  # where the unclosed thing began, as often the cause
            context = f"{context} begun at line {began.line + 1}, column {began.column + 1}"
        said = f"{problem} ({context})" if problem and context else problem or str(exc)
        raise InvalidArgument(
            f"{source}: not valid YAML{where}: {' '.join(str(said).split())}",
            field="spec",
            details=details,
        ) from exc
    if not isinstance(data, dict):
        raise InvalidArgument(f"{source}: the spec must be a mapping of fields", field="spec")
    return data
