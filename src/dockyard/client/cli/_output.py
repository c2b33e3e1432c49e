"""Output for people (aligned tables) and for scripts (``--json``)."""

from __future__ import annotations

import errno
import re
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import click
import orjson

from dockyard.errors import DockyardError

#: The errors of a local path that was given wrong (not one the machine failed to serve).
_BAD_PATH = frozenset(
    {errno.ENOENT, errno.ENAMETOOLONG, errno.ENOTDIR, errno.EISDIR, errno.EACCES, errno.ELOOP}
)

#: Problems a refused definition's message spells out before "(and N more)".
_DEFINITION_SHOWN = 10

__all__ = [
    "COUNT",
    "NUMBER",
    "emit",
    "emit_done",
    "error_lines",
    "fail_on_error",
    "format_time",
    "json_option",
    "table",
]

F = TypeVar("F", bound=Callable[..., Any])

#: How many items a listing prints: at least one, and a count Python can slice by (a larger
#: one failed with a traceback from itertools.islice).
COUNT = click.IntRange(min=1, max=sys.maxsize)

#: A number that names something (a version, a delivery): positive, and one the request's
#: JSON can carry (a larger one failed with a traceback from the JSON encoder).
NUMBER = click.IntRange(min=1, max=2**63 - 1)


def json_option(func: F) -> F:
    """Add ``--json``: machine-readable output instead of a table."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(func)


def format_time(ms: int | None) -> str:
    if not ms:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    whole: Sequence[str] = (),
    names_from: int | None = None,
) -> str:
    """A plain aligned table; wide cells are cut to keep rows on one line, but for those of the
    columns named in ``whole`` (an address to copy is no use cut). Headers are upper case,
    except those from index ``names_from`` on: names out of the data (metric keys, run names),
    which are case-sensitive and shown as they are, to be typed back as they are."""
    kept = [h in whole for h in headers]
    cells = [[_cell(v, k) for v, k in zip(row, kept, strict=True)] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    verbatim = len(headers) if names_from is None else names_from
    line = "  ".join(
        (h if i >= verbatim else h.upper()).ljust(w)
        for i, (h, w) in enumerate(zip(headers, widths, strict=True))
    )
    out = [line.rstrip()]
    out += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    return "\n".join(out)


def _cell(value: Any, whole: bool = False) -> str:
    if value is None:
        return "-"
    text = f"{value:.6g}" if isinstance(value, float) else str(value)
    return text if whole or len(text) <= 48 else text[:45] + "..."


def emit(data: Any, as_json: bool, human: Callable[[], str]) -> None:
    """Print ``data`` as JSON, or the human rendering."""
    if as_json:
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        click.echo(human())


def emit_done(
    action: str, kind: str, name: str, as_json: bool, human: str | None = None, **more: Any
) -> None:
    """Say what a command did when the server answers it with nothing to show (a delete, a
    revoke, an alias removed): one shape for every such command, so a script reads them all
    alike.

    For scripts, ``{"name": "web", "kind": "endpoint", "deleted": true}``: what it was called
    on the command line (its name, or its id where it has none), what kind of thing it was,
    and the action done as a key that is true (``.deleted``, ``.revoked``), then ``more``
    (the model a version belonged to...). For people, ``human``, else ``deleted endpoint
    web``.
    """
    data = {"name": name, "kind": kind, action: True, **more}
    emit(data, as_json, lambda: human or f"{action} {kind} {name}")


def fail_on_error(func: F) -> F:
    """Turn Dockyard errors into a one-line message and a non-zero exit code."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DockyardError as exc:
            for line in error_lines(exc):
                click.echo(line, err=True)
            sys.exit(2 if exc.status_code < 500 else 1)
        except UnicodeError as exc:
            # An argument holding bytes that are not UTF-8 (which Python keeps as surrogates),
            # refused when it was encoded for a request or a file.
            found = exc.object if isinstance(exc, UnicodeEncodeError) else "-"
            click.echo(f"error: not UTF-8 text: {found!r}", err=True)
            sys.exit(2)
        except ValueError as exc:
            lines = _validation_lines(exc)
            if not lines:
                raise
            for line in lines:
                click.echo(line, err=True)
            sys.exit(1)
        except OSError as exc:
            # A local path the command was given and could not use: one line naming it, as
            # for any other bad input (a name too long to be a file raised from is_file()).
            where = f": {exc.filename}" if exc.filename is not None else ""
            click.echo(f"error: {exc.strerror or exc}{where}", err=True)
            sys.exit(2 if exc.errno in _BAD_PATH else 1)

    return wrapper  # type: ignore[return-value]


def _validation_lines(exc: ValueError) -> list[str]:
    """A model that did not validate (a server's answer this client does not expect, from
    another version), a line for each problem at its place; [] for any other error."""
    if "pydantic_core" not in sys.modules:  # never imported: not one of its errors
        return []
    from pydantic_core import ValidationError

    if not isinstance(exc, ValidationError):
        return []
    lines = [f"error: {exc.title} did not validate (are client and server the same version?):"]
    for problem in exc.errors():
        place = ".".join(str(part) for part in problem["loc"]) or "-"
        lines.append(f"  {place}: {problem['msg']}")
    return lines


def error_lines(exc: DockyardError) -> list[str]:
    """How an error reads on the terminal: one line naming the problem and its place, or, when
    a request had several problems (``details["problems"]``), one line for each at its place
    (a field, or a definition's JSON pointer), errors before warnings dropped."""
    problems = _problems(exc.details.get("problems"))
    head = exc.message.split(": ", 1)[0]
    if len(problems) > 1:
        lines = [f"error: {head}:"]
        lines += [f"  {_place(p) or '-'}: {p.get('message') or '-'}" for p in problems]
        unlisted = _unlisted(exc.message, len(problems))
        if unlisted:
            lines.append(f"  ({unlisted} more not listed)")
        return lines
    if problems and _pointer(problems[0]):  # one problem of a definition, at its pointer
        return [f"error: {head}: {_pointer(problems[0])}: {problems[0].get('message') or '-'}"]
    # The place, unless the message already starts with it ("--canary: ...").
    named = not exc.field or exc.message.startswith(f"{exc.field}: ")
    where = "" if named else f" ({exc.field})"
    return [f"error: {exc.message}{where}"]


def _problems(found: object) -> list[dict[str, Any]]:
    """The problems an error lists: its errors only, when it tells errors from warnings."""
    listed = [p for p in found if isinstance(p, dict)] if isinstance(found, list) else []
    return [p for p in listed if p.get("severity", "ERROR") == "ERROR"] or listed


def _place(problem: dict[str, Any]) -> str:
    """Where a problem is: a request's field, or a definition's JSON pointer."""
    return str(problem.get("field") or _pointer(problem))


def _pointer(problem: dict[str, Any]) -> str:
    """A definition problem's JSON pointer (``location`` from the server, ``path`` when the
    definition was checked here)."""
    return str(problem.get("location") or problem.get("path") or "")


def _unlisted(message: str, listed: int) -> int:
    """How many problems the message counts beyond those listed: "...; 3 more not listed",
    or a definition's "... (and 95 more)" after its first ten."""
    counted = re.search(r"(\d+) more not listed$", message)
    if counted:
        return int(counted.group(1))
    counted = re.search(r" \(and (\d+) more\)$", message)
    return max(0, int(counted.group(1)) + _DEFINITION_SHOWN - listed) if counted else 0
