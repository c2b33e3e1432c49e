"""``dockyard params``: put, get, list, history, label, delete parameters (the parameter store).

``VALUE`` ``-`` reads the value from standard input, so a secret need not be in the shell's
history. SecureString values print as ``******`` unless ``get --decrypt`` asks for them.
"""

from __future__ import annotations

import sys

import click

from dockyard.api.params import Parameter
from dockyard.client import sdk
from dockyard.client.cli._client import client
from dockyard.client.cli._confirm import confirm, yes_option
from dockyard.client.cli._flags import FlagFields
from dockyard.client.cli._group import Group
from dockyard.client.cli._output import (
    NUMBER,
    emit,
    emit_done,
    fail_on_error,
    format_time,
    json_option,
    table,
)
from dockyard.client.http import routes

__all__ = ["params"]

_MASK = "******"


@click.group(cls=Group)
def params() -> None:
    """Parameters: versioned, hierarchical configuration values and secrets."""


def _shown(p: Parameter) -> str:
    return p.value if p.value is not None else _MASK


@params.command()
@click.argument("name")
@click.argument("value")
@click.option(
    "--type",
    "kind",
    type=click.Choice(["String", "StringList", "SecureString"]),
    default=None,
    help="Value type [default: String].",
)
@click.option("--secure", is_flag=True, help="Same as --type SecureString.")
@click.option("--overwrite", is_flag=True, help="Put a new version of an existing parameter.")
@click.option("--description", default="", help="What the value is for.")
@json_option
@fail_on_error
def put(
    name: str,
    value: str,
    kind: str | None,
    secure: bool,
    overwrite: bool,
    description: str,
    as_json: bool,
) -> None:
    """Create parameter NAME with VALUE (- reads it from stdin), or a new version of it."""
    if secure and kind not in (None, "SecureString"):
        raise click.UsageError(f"--secure and --type {kind} disagree")
    if value == "-":
        value = sys.stdin.read().rstrip("\n")
    flags = FlagFields({"name": "NAME", "value": "VALUE", "description": "--description"})
    with flags.naming():
        done = sdk.put_parameter(
            name,
            value,
            type="SecureString" if secure else kind or "String",
            overwrite=overwrite,
            description=description,
            client=client(),
        )
    emit(
        done.model_dump(mode="json"),
        as_json,
        lambda: f"{done.name}: version {done.version} ({done.type.value})",
    )


@params.command()
@click.argument("name")
@click.option("--decrypt", is_flag=True, help="Show a SecureString's value (needs a grant).")
@json_option
@fail_on_error
def get(name: str, decrypt: bool, as_json: bool) -> None:
    """Show NAME (or NAME:VERSION, NAME:LABEL)."""
    p = sdk.get_parameter(name, with_decryption=decrypt, client=client())

    def human() -> str:
        labels = f"  labels: {', '.join(p.labels)}" if p.labels else ""
        head = f"{p.name}  version {p.version}  {p.type.value}{labels}"
        return f"{head}\n{_shown(p)}"

    emit(p.model_dump(mode="json"), as_json, human)


@params.command("list")
@click.argument("path", default="/")
@click.option("--recursive", "-r", is_flag=True, help="Everything under PATH, not its children.")
@json_option
@fail_on_error
def list_(path: str, recursive: bool, as_json: bool) -> None:
    """List the parameters under PATH (latest versions; secrets masked)."""
    found = sdk.get_parameters_by_path(path, recursive=recursive, client=client())
    emit(
        [p.model_dump(mode="json") for p in found],
        as_json,
        lambda: table(
            ["name", "type", "version", "value", "modified"],
            [
                [p.name, p.type.value, p.version, _shown(p), format_time(p.modified_time)]
                for p in found
            ],
        ),
    )
    if not found and not recursive:
        deeper = _one_below(path)
        if deeper is not None:
            click.echo(
                f"note: no parameter directly under {path}; there are deeper ones, such as "
                f"{deeper}: add --recursive (-r) to list them",
                err=True,
            )


def _one_below(path: str) -> str | None:
    """The name of one parameter anywhere under ``path``, or None (one small page asked)."""
    query = {"path": path, "recursive": True, "max_results": 1}
    pages = client().paginate(routes.LIST_PARAMETERS(), "parameters", params=query)
    first = next(pages, None)
    return str(first["name"]) if first is not None else None


@params.command()
@click.argument("name")
@json_option
@fail_on_error
def history(name: str, as_json: bool) -> None:
    """Every version of NAME, oldest first, with labels (secrets masked)."""
    found = sdk.get_parameter_history(name, client=client())
    emit(
        [p.model_dump(mode="json") for p in found],
        as_json,
        lambda: table(
            ["version", "value", "labels", "by", "modified"],
            [
                [
                    p.version,
                    _shown(p),
                    ",".join(p.labels),
                    p.modified_by,
                    format_time(p.modified_time),
                ]
                for p in found
            ],
        ),
    )


@params.command()
@click.argument("name")
@click.argument("version", type=NUMBER)
@click.argument("labels", nargs=-1, required=True)
@json_option
@fail_on_error
def label(name: str, version: int, labels: tuple[str, ...], as_json: bool) -> None:
    """Put LABELS on VERSION of NAME (then NAME:LABEL selects it)."""
    done = sdk.label_parameter_version(name, labels, version, client=client())
    emit(
        done.model_dump(mode="json"),
        as_json,
        lambda: f"{done.name}: version {done.version} labelled {', '.join(done.labels)}",
    )


@params.command()
@click.argument("name")
@yes_option
@json_option
@fail_on_error
def delete(name: str, yes: bool, as_json: bool) -> None:
    """Delete NAME with all its versions (asks first; --yes does not)."""
    confirm(f"delete parameter {name} with all its versions", yes)
    sdk.delete_parameter(name, client=client())
    emit_done("deleted", "parameter", name, as_json, f"deleted {name}")
