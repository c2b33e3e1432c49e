"""Output for people (aligned tables) and for scripts (``--json``)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import click
import orjson

from dockyard.errors import DockyardError

__all__ = ["emit", "error_lines", "fail_on_error", "format_time", "json_option", "table"]

F = TypeVar("F", bound=Callable[..., Any])


def json_option(func: F) -> F:
    """Add ``--json``: machine-readable output instead of a table."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(func)


def format_time(ms: int | None) -> str:
    if not ms:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain aligned table; wide cells are cut to keep rows on one line."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    line = "  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line.rstrip()]
    out += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    return "\n".join(out)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    text = f"{value:.6g}" if isinstance(value, float) else str(value)
    return text if len(text) <= 48 else text[:45] + "..."


def emit(data: Any, as_json: bool, human: Callable[[], str]) -> None:
    """Print ``data`` as JSON, or the human rendering."""
    if as_json:
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        click.echo(human())


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

    return wrapper  # type: ignore[return-value]


def error_lines(exc: DockyardError) -> list[str]:
    """How an error reads on the terminal: one line naming the problem and its field, or, when
    a request had several problems (``details["problems"]``), one line for each."""
    problems = exc.details.get("problems")
    if isinstance(problems, list) and len(problems) > 1:
        lines = [f"error: {exc.message.split(': ', 1)[0]}:"]
        for problem in problems:
            if isinstance(problem, dict):
                lines.append(f"  {problem.get('field') or '-'}: {problem.get('message') or '-'}")
        unlisted = exc.message.rsplit("; ", 1)[-1]
        if unlisted.endswith("more not listed"):
            lines.append(f"  ({unlisted})")
        return lines
    where = f" ({exc.field})" if exc.field else ""
    return [f"error: {exc.message}{where}"]
