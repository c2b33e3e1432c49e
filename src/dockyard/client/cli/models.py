"""``dockyard models``: the registry (list, show, register, alias, approve, lineage) and package
tools on any model URI (env, convert, build-image)."""

from __future__ import annotations

import tempfile
from itertools import islice
from pathlib import Path
from typing import Any

import click

from dockyard.api.registry import parse_version
from dockyard.client.cli._client import client
from dockyard.client.cli._confirm import confirm, yes_option
from dockyard.client.cli._flags import FlagFields
from dockyard.client.cli._group import Group
from dockyard.client.cli._output import (
    COUNT,
    emit,
    emit_done,
    fail_on_error,
    format_time,
    json_option,
    table,
)
from dockyard.client.http import routes
from dockyard.errors import InvalidArgument
from dockyard.limits import LIMITS
from dockyard.models.uris import LocalModel
from dockyard.settings import Settings

__all__ = ["models"]


@click.group(cls=Group)
def models() -> None:
    """Models: the registry (versions, aliases, approval, lineage) and package tools.

    URIs: models:/NAME/VERSION, models:/NAME@ALIAS, models:/NAME/latest, runs:/RUN_ID/PATH,
    s3://BUCKET/PREFIX or a local package folder.
    """


def _download(uri: str) -> LocalModel:
    from dockyard.client.sdk import download_model

    return download_model(uri, client=client(), settings=Settings())


def _version_lines(v: dict[str, Any]) -> list[str]:
    approval = v.get("approval") or {}
    by = approval.get("user")
    lines = [
        f"{v.get('name')} version {v.get('version')} ({v.get('status') or '-'})",
        f"  source: {v.get('source') or '-'}   run: {v.get('run_id') or '-'}",
        f"  flavor: {v.get('flavor') or '-'} {v.get('library_version') or ''}".rstrip(),
        f"  digest: {v.get('digest') or '-'}",
        f"  created: {format_time(v.get('creation_time'))} by {v.get('created_by') or '-'}",
        f"  approval: {approval.get('status') or '-'}"
        + (f" by {by} at {format_time(approval.get('time'))}" if by else "")
        + (f": {approval['comment']}" if approval.get("comment") else ""),
    ]
    if v.get("aliases"):
        lines.append(f"  aliases: {', '.join(v['aliases'])}")
    if v.get("description"):
        lines.append(f"  description: {v['description']}")
    if v.get("metrics"):
        lines.append("metrics:")
        lines.append(table(["key", "value"], sorted(v["metrics"].items())))
    if v.get("tags"):
        lines.append("tags:")
        lines.append(table(["key", "value"], sorted(v["tags"].items())))
    return lines


@models.command("list")
@click.option("--name-like", default=None, help="SQL LIKE pattern, case-insensitive: 'wine%'.")
@click.option(
    "--max-results",
    "-n",
    type=COUNT,
    default=LIMITS.page_default_results,
    show_default=True,
)
@json_option
@fail_on_error
def list_(name_like: str | None, max_results: int, as_json: bool) -> None:
    """List registered models."""
    params: dict[str, Any] = {"max_results": min(max_results, LIMITS.page_max_results)}
    if name_like:
        params["name_like"] = name_like
    pages = client().paginate(routes.LIST_REGISTERED_MODELS(), "registered_models", params=params)
    items: list[dict[str, Any]] = list(islice(pages, max_results))

    def human() -> str:
        rows = [
            [
                m.get("name"),
                m.get("latest_version"),
                ", ".join(f"{a}->{v}" for a, v in (m.get("aliases") or {}).items()),
                format_time(m.get("last_updated_time")),
            ]
            for m in items
        ]
        return table(["name", "latest", "aliases", "updated"], rows)

    emit(items, as_json, human)


@models.command()
@click.argument("name")
@click.argument("version", required=False)
@json_option
@fail_on_error
def show(name: str, version: str | None, as_json: bool) -> None:
    """Show a registered model and its versions, or one VERSION in detail."""
    c = client()
    if version is not None:
        found = routes.GET_MODEL_VERSION(name=name, version=parse_version(version))
        detail: dict[str, Any] = c.call(found)
        emit(detail, as_json, lambda: "\n".join(_version_lines(detail)))
        return
    model = c.call(routes.GET_REGISTERED_MODEL(name=name))
    pages = c.paginate(routes.LIST_MODEL_VERSIONS(name=name), "model_versions")
    versions = list(pages)
    data = {**model, "versions": versions}

    def human() -> str:
        lines = [f"{model['name']}  (latest: {model['latest_version'] or '-'})"]
        if model.get("description"):
            lines.append(f"  {model['description']}")
        rows = [
            [
                v.get("version"),
                v.get("flavor"),
                (v.get("approval") or {}).get("status"),
                ", ".join(v.get("aliases") or []),
                v.get("run_id") or "-",
                format_time(v.get("creation_time")),
            ]
            for v in versions
        ]
        lines.append(table(["version", "flavor", "approval", "aliases", "run", "created"], rows))
        return "\n".join(lines)

    emit(data, as_json, human)


@models.command()
@click.argument("source")
@click.option("--name", "-m", required=True, help="Registered model (created if new).")
@click.option("--run-id", default=None, help="The run that produced it (for non-run sources).")
@click.option("--description", "-d", default="")
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE")
@json_option
@fail_on_error
def register(
    source: str,
    name: str,
    run_id: str | None,
    description: str,
    tags: tuple[str, ...],
    as_json: bool,
) -> None:
    """Register the package SOURCE names as a new version of a model."""
    from dockyard.client.sdk import register_model

    pairs = {}
    for item in tags:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidArgument(f"--tag {item!r}: expected KEY=VALUE", field="tag")
        pairs[key] = value
    flags = {
        "source": "SOURCE",
        "name": "--name",
        "run_id": "--run-id",
        "description": "--description",
    }
    with FlagFields(flags).naming():
        version = register_model(
            source, name, run_id=run_id, description=description, tags=pairs, client=client()
        )
    data = version.model_dump(mode="json")
    emit(data, as_json, lambda: f"registered {version.uri} ({version.digest})")


@models.command()
@click.argument("name")
@click.argument("alias")
@click.argument("version", required=False)
@click.option("--delete", is_flag=True, help="Remove the alias instead.")
@json_option
@fail_on_error
def alias(name: str, alias: str, version: str | None, delete: bool, as_json: bool) -> None:
    """Point ALIAS (champion, challenger...) at VERSION, or remove it with --delete (--json
    prints the version it points at, or what was removed)."""
    c = client()
    if delete:
        c.call(routes.DELETE_ALIAS(name=name, alias=alias))
        said = f"removed alias {alias} of {name}"
        emit_done("deleted", "alias", alias, as_json, said, model=name)
        return
    if version is None:
        raise InvalidArgument("give the VERSION the alias points at (or --delete)", field="version")
    from dockyard.api.registry import SetAlias
    from dockyard.client.sdk import build_request

    body = build_request(SetAlias, version=parse_version(version))
    pointed = c.call(routes.SET_ALIAS(name=name, alias=alias), body)
    emit(pointed, as_json, lambda: f"models:/{name}@{alias} -> version {body.version}")


@models.command()
@click.argument("name")
@click.argument("version", required=False)
@yes_option
@json_option
@fail_on_error
def delete(name: str, version: str | None, yes: bool, as_json: bool) -> None:
    """Delete model NAME (its versions, aliases and files), or only its VERSION.

    Asks first (--yes does not). Refused while an endpoint serves the version (or, for the
    whole model, any version): update or delete the endpoint first.
    """
    c = client()
    more: dict[str, Any] = {}
    if version is not None:
        number = parse_version(version)
        c.call(routes.GET_MODEL_VERSION(name=name, version=number))  # a typo fails first
        what = f"version {number} of model {name}"
        gone, question = routes.DELETE_MODEL_VERSION(name=name, version=number), what
        kind, more["version"] = "model_version", number
    else:
        latest = c.call(routes.GET_REGISTERED_MODEL(name=name)).get("latest_version")
        what, gone = f"model {name}", routes.DELETE_REGISTERED_MODEL(name=name)
        question = f"{what} and all its versions (latest: {latest})" if latest else what
        kind = "registered_model"
    confirm(f"delete {question}", yes)
    c.call(gone)
    emit_done("deleted", kind, name, as_json, f"deleted {what}", **more)


@models.command()
@click.argument("name")
@click.argument("version")
@click.option(
    "--status",
    type=click.Choice(["Approved", "Rejected", "PendingManualApproval"]),
    default="Approved",
    show_default=True,
)
@click.option("--comment", "-c", default=None, help="Why.")
@json_option
@fail_on_error
def approve(name: str, version: str, status: str, comment: str | None, as_json: bool) -> None:
    """Approve a version (or reject it, or send it back to pending) with a comment."""
    from dockyard.api.registry import SetApproval
    from dockyard.client.sdk import build_request

    body = build_request(SetApproval, status=status, comment=comment)
    answer = client().call(routes.SET_APPROVAL(name=name, version=parse_version(version)), body)
    by = answer["approval"]["user"]
    emit(answer, as_json, lambda: f"{name} version {version}: {status} by {by}")


@models.command()
@click.argument("name")
@click.argument("version")
@json_option
@fail_on_error
def lineage(name: str, version: str, as_json: bool) -> None:
    """Show where a version came from: run, datasets (by digest) and code version."""
    data = client().call(routes.GET_LINEAGE(name=name, version=parse_version(version)))

    def human() -> str:
        lines = _version_lines(data["model_version"])[:3]
        run = data.get("run")
        if run is None:
            lines.append("run: - (registered from outside a run)")
        else:
            lines.append(
                f"run: {run['run_id']} ({run['run_name']}) experiment {run['experiment_id']}, "
                f"{run['status']}, {run['lifecycle_stage']}"
            )
        code = data.get("code")
        if code:
            dirty = {True: " (uncommitted changes)", False: "", None: ""}[code["git_dirty"]]
            lines.append(
                f"code: {code.get('git_commit') or '-'}{dirty} {code['source_name'] or ''}"
            )
        if data["datasets"]:
            lines.append("datasets:")
            rows = [[d["name"], d["digest"], d["context"], d["source"]] for d in data["datasets"]]
            lines.append(table(["name", "digest", "context", "source"], rows))
        return "\n".join(line.rstrip() for line in lines)

    emit(data, as_json, human)


@models.command()
@click.argument("uri")
@json_option
@fail_on_error
def env(uri: str, as_json: bool) -> None:
    """Build (or reuse) the isolated environment a model's requirements pin."""
    from dockyard.models import build_env

    local = _download(uri)
    env_dir = build_env(local.path)
    data = {"uri": uri, "env": str(env_dir), "python": str(env_dir / "bin" / "python")}
    emit(data, as_json, lambda: f"{env_dir}\n  python: {data['python']}")


@models.command()
@click.argument("uri")
@click.option("--to", "target", type=click.Choice(["onnx"]), required=True)
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None)
@click.option("--register-as", default=None, help="Register the result as a new version.")
@click.option("--tolerance", type=float, default=None, help="Max absolute difference accepted.")
@json_option
@fail_on_error
def convert(
    uri: str,
    target: str,
    output: Path | None,
    register_as: str | None,
    tolerance: float | None,
    as_json: bool,
) -> None:
    """Convert a scikit-learn, XGBoost, LightGBM or PyTorch model to ONNX, checking equivalence.

    The largest absolute difference between the two models on the check rows is reported.
    """
    from dockyard.client.sdk import register_model
    from dockyard.models import DEFAULT_TOLERANCE, convert_to_onnx

    if output is None and register_as is None:
        raise InvalidArgument("give --output DIR, --register-as NAME, or both", field="output")
    local = _download(uri)
    with tempfile.TemporaryDirectory(prefix="dockyard-convert-") as tmp:
        dst = output if output is not None else Path(tmp) / "onnx"
        info = convert_to_onnx(local.path, dst, tolerance=tolerance or DEFAULT_TOLERANCE)
        check = _conversion_record(dst)
        data: dict[str, Any] = {
            "uri": uri,
            # Without --output the package is written to a folder removed on the way out.
            "path": str(dst) if output is not None else None,
            "digest": info.digest,
            "max_abs_diff": check.get("max_abs_diff"),
            "tolerance": check.get("tolerance"),
            "rows_checked": check.get("rows_checked"),
        }
        if register_as is not None:
            # The converted model keeps its source's lineage: same run, same data, same code.
            version = register_model(
                str(dst.resolve()), register_as, run_id=local.run_id, client=client()
            )
            data["registered"] = version.uri
    lines = [f"converted {uri} to ONNX ({info.digest})"]
    difference, tolerance = data["max_abs_diff"], data["tolerance"]
    if isinstance(difference, (int, float)) and isinstance(tolerance, (int, float)):
        lines.append(
            f"  max abs difference {difference:.3g} on {data['rows_checked'] or 0} rows "
            f"(tolerance {tolerance:g})"
        )
    else:
        lines.append("  no equivalence check was recorded")
    if output is not None:
        lines.append(f"  written to {output}")
    if "registered" in data:
        lines.append(f"  registered as {data['registered']}")
    emit(data, as_json, lambda: "\n".join(lines))


def _conversion_record(path: Path) -> dict[str, Any]:
    """The equivalence check a conversion recorded in the new package's manifest."""
    from dockyard.models import parse_manifest, read_manifest_bytes

    manifest = parse_manifest(read_manifest_bytes(path))
    record = (manifest.dockyard or {}).get("conversion")
    return dict(record) if isinstance(record, dict) else {}


@models.command("build-image")
@click.argument("uri")
@click.option("--output", "-o", type=click.Path(path_type=Path), required=True)
@click.option("--base-image", default=None, help="Default: python:<model's version>-slim.")
@json_option
@fail_on_error
def build_image(uri: str, output: Path, base_image: str | None, as_json: bool) -> None:
    """Write a Docker build context serving the model (SageMaker inference contract)."""
    from dockyard.models import write_build_context

    local = _download(uri)
    out = write_build_context(local.path, output, base_image=base_image)
    data = {"uri": uri, "context": str(out), "digest": local.digest}
    emit(data, as_json, lambda: f"wrote {out}; build it with: docker build {out}")
