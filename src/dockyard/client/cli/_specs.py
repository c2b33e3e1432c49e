"""Spec files on the command line: read them, and turn the local paths they name into the
store's URIs before the server sees them.

The rule, the SDK's too (README, "Local paths are the client's"): a plain path names the
client's files; in a spec file a relative path is relative to the file's folder, on the command
line relative to the current directory. The client resolves it, uploads what it names and sends
the store's URI; URIs (``s3://``, ``file://``, ``models:/``, ``runs:/``) go unchanged. A path is
found whichever spelling the spec accepts names it (SageMaker's ``S3Uri``, ``ModelUri``, the
nested ``DataSource``...), so the server, which refuses relative paths (it cannot know what
they are relative to), never gets one from a client.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dockyard import Client
from dockyard.api.batch import names_a_model
from dockyard.client.sdk import check_entry_point, is_local, to_store
from dockyard.errors import InvalidArgument
from dockyard.paths import expand_user
from dockyard.spec_text import parse_spec

__all__ = [
    "endpoint_paths",
    "job_paths",
    "load_spec",
    "local_path",
    "local_to_store",
    "transform_paths",
]

_URI_KEYS = ("uri", "S3Uri", "s3_uri")


def load_spec(path: Path) -> dict[str, Any]:
    """A YAML (or JSON) spec file as a mapping; bad YAML is an error naming line and column,
    and so is a file that is not UTF-8 text (a binary file, another encoding)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidArgument(
            f"{path}: cannot read the spec: {exc.strerror}", field="spec"
        ) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InvalidArgument(
            f"{path}: not UTF-8 text: byte 0x{raw[exc.start]:02x} at line {line}, column "
            f"{column} (save the spec as UTF-8)",
            field="spec",
            details={"line": line, "column": column},
        ) from exc
    return parse_spec(text, str(path))


def local_path(text: str | Path, base: Path, field: str) -> Path:
    """The absolute path ``text`` names: ``~`` expanded, a relative one joined to ``base``."""
    return (base / expand_user(str(text), field)).absolute()


def local_to_store(client: Client, value: Any, base: Path, key_prefix: str, field: str) -> Any:
    """``value`` (a path or URI) with a local path, relative to ``base``, uploaded and replaced
    by its store URI. A trigger's ``{{trigger.<field>}}`` placeholder is left for the trigger
    to fill in."""
    if not is_local(value) or (isinstance(value, str) and "{{trigger." in value):
        return value
    return to_store(client, str(local_path(value, base, field)), key_prefix, field)


def _key(mapping: Mapping[str, Any], names: tuple[str, ...]) -> str | None:
    return next((name for name in names if name in mapping), None)


def _uploaded(
    client: Client, section: Any, base: Path, key_prefix: str, field: str, names: tuple[str, ...]
) -> Any:
    """A mapping whose path (under any of ``names``) is uploaded; anything else unchanged."""
    if not isinstance(section, Mapping):
        return local_to_store(client, section, base, key_prefix, field)
    key = _key(section, names)
    if key is None:
        return section
    return {**section, key: local_to_store(client, section[key], base, key_prefix, field)}


def job_paths(data: dict[str, Any], base: Path, client: Client) -> dict[str, Any]:
    """A training job spec with its code folder and input channels uploaded."""
    out = dict(data)
    if "source_dir" in out:
        check_entry_point(out["source_dir"], out.get("entry_point"), base)
        out["source_dir"] = local_to_store(
            client, out["source_dir"], base, "jobs/source", "source_dir"
        )
    key = _key(out, ("inputs", "channels", "InputDataConfig"))
    channels = out.get(key) if key else None
    if isinstance(channels, Mapping):
        out[str(key)] = {
            name: _uploaded(client, v, base, f"jobs/inputs/{name}", f"inputs.{name}.uri", _URI_KEYS)
            for name, v in channels.items()
        }
    elif isinstance(channels, list):  # SageMaker's InputDataConfig list
        out[str(key)] = [_sagemaker_channel(client, item, base) for item in channels]
    return out


def _sagemaker_channel(client: Client, item: Any, base: Path) -> Any:
    if not isinstance(item, Mapping):
        return item
    name = item.get("ChannelName", "channel")
    field, prefix = f"inputs.{name}.uri", f"jobs/inputs/{name}"
    nested = _nested_source(client, item, base, prefix, field)
    if nested is not None:
        return nested
    return _uploaded(client, item, base, prefix, field, ("uri",))


def _nested_source(
    client: Client, item: Mapping[str, Any], base: Path, key_prefix: str, field: str
) -> dict[str, Any] | None:
    """``item`` with the path SageMaker nests (``DataSource.S3DataSource.S3Uri``) uploaded;
    None when it does not use that form."""
    source = item.get("DataSource")
    if not isinstance(source, Mapping):
        return None
    s3 = source.get("S3DataSource")
    if not isinstance(s3, Mapping) or "S3Uri" not in s3:
        return None
    uri = local_to_store(client, s3["S3Uri"], base, key_prefix, field)
    return {**item, "DataSource": {**source, "S3DataSource": {**s3, "S3Uri": uri}}}


def transform_paths(
    data: dict[str, Any], base: Path, client: Client
) -> tuple[dict[str, Any], Path | None]:
    """A transform spec with its local model and input uploaded, and the local folder its
    outputs are downloaded into (if the spec names one: they are written to the store first)."""
    out = dict(data)
    # A ModelName that is a name is a model on the server (CreateModel's or a registered one);
    # a path there is a package folder, as in model_uri.
    model_key = _key(out, ("model_uri", "ModelUri", "ModelName"))
    if model_key == "ModelName" and names_a_model(out[model_key]):
        model_key = None
    if model_key is not None:
        out[model_key] = local_to_store(client, out[model_key], base, "models", "model_uri")
    input_key = _key(out, ("input", "TransformInput"))
    section = out.get(input_key) if input_key else None
    if isinstance(section, Mapping):
        nested = _nested_source(client, section, base, "transform/inputs", "input.uri")
        uploaded = (
            nested
            if nested is not None
            else _uploaded(client, section, base, "transform/inputs", "input.uri", _URI_KEYS)
        )
        given = _given_uri(section)
        if given is not None and uploaded != section and "display_uri" not in section:
            uploaded = {**uploaded, "display_uri": given}  # errors name it, not the copy
        out[str(input_key)] = uploaded
    download_to = None
    output_key = _key(out, ("output", "TransformOutput"))
    output = out.get(output_key) if output_key else None
    if isinstance(output, Mapping):
        key = _key(output, ("uri", "S3OutputPath", "s3_output_path"))
        if key and is_local(output[key]):
            download_to = local_path(output[key], base, "output.uri")
            out[str(output_key)] = {k: v for k, v in output.items() if k != key}
    return out, download_to


def _given_uri(section: Mapping[str, Any]) -> str | None:
    """The input path as the spec file wrote it (either spelling)."""
    source = section.get("DataSource")
    if isinstance(source, Mapping) and isinstance(source.get("S3DataSource"), Mapping):
        value = source["S3DataSource"].get("S3Uri")
    else:
        key = _key(section, _URI_KEYS)
        value = section[key] if key is not None else None
    return str(value) if is_local(value) else None


def endpoint_paths(data: dict[str, Any], base: Path, client: Client) -> dict[str, Any]:
    """An endpoint config with its local model folders (variants and shadow) uploaded."""
    out = dict(data)
    names = ("model_uri", "ModelUri", "model")
    variants = out.get("variants")
    if isinstance(variants, list):
        out["variants"] = [
            _uploaded(client, v, base, "models", f"variants.{i}.model_uri", names)
            if isinstance(v, Mapping)
            else v
            for i, v in enumerate(variants)
        ]
    if isinstance(out.get("shadow"), Mapping):
        out["shadow"] = _uploaded(
            client, out["shadow"], base, "models", "shadow.model_uri", ("model_uri",)
        )
    return out
