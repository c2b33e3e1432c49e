"""The ``MLmodel`` manifest: read and written in MLflow's YAML layout.

A Dockyard package's manifest is a valid MLflow manifest plus a ``dockyard`` section::

    flavors:
      python_function: {loader_module: mlflow.sklearn, model_path: model.pkl, env: {...}, ...}
      sklearn: {pickled_model: model.pkl, serialization_format: cloudpickle, sklearn_version: ...}
    model_uuid: 3f1c...                 # 32 hex digits
    utc_time_created: '2026-11-21 20:19:49.670637'
    signature: {inputs: '<json>', outputs: '<json>', params: '<json>' | null}
    saved_input_example_info: {artifact_path: input_example.json, type: dataframe, ...}
    dockyard:
      format: 1
      version: 0.1.0                    # Dockyard version that wrote the package
      flavor: sklearn
      digests: {model.pkl: <sha256>, requirements.txt: <sha256>, ...}
      conversion: {...}                 # only on packages made by convert_to_onnx

``mlflow_version`` is not written (MLflow does not need it to load a package); keys this module
does not know, such as MLflow's ``mlflow_version`` or ``metadata``, are kept and written back.

The manifest is not covered by its own digests. Everything in it is treated as untrusted input:
file references must stay inside the package (:func:`inside`), and nothing named in it is imported
except through the fixed flavor table.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from dockyard.errors import InvalidArgument, NotFound
from dockyard.models._schema import Signature

__all__ = [
    "MANIFEST",
    "Manifest",
    "inside",
    "parse_manifest",
    "read_manifest_bytes",
    "safe_relative",
    "write_manifest",
]

MANIFEST = "MLmodel"
FORMAT = 1
#: A manifest is a few kilobytes; the cap keeps a hostile one from exhausting memory.
MAX_MANIFEST_BYTES = 1 << 20
#: libyaml's safe loader when PyYAML was built with it: the same documents, ten times faster
#: (every worker and every model load reads a manifest before it can score).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_HEX64 = re.compile(r"[0-9a-f]{64}")
_KNOWN = frozenset(
    {
        "flavors",
        "model_uuid",
        "utc_time_created",
        "signature",
        "saved_input_example_info",
        "artifact_path",
        "dockyard",
    }
)


@dataclass
class Manifest:
    """The parsed ``MLmodel`` file of a package."""

    flavors: dict[str, dict[str, Any]]
    model_uuid: str | None = None
    utc_time_created: str | None = None
    signature: Signature | None = None
    saved_input_example_info: dict[str, Any] | None = None
    artifact_path: str | None = None
    dockyard: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def python_function(self) -> dict[str, Any]:
        """The ``python_function`` flavor section (empty if absent)."""
        return self.flavors.get("python_function", {})

    @property
    def digests(self) -> dict[str, str] | None:
        """File digests (relative POSIX path -> sha256 hex), or ``None`` if never sealed."""
        if self.dockyard is None:
            return None
        digests = self.dockyard.get("digests")
        return dict(digests) if isinstance(digests, Mapping) else None

    def to_yaml(self) -> str:
        """The manifest as YAML, keys sorted as MLflow writes them."""
        body: dict[str, Any] = dict(self.extra)
        body["flavors"] = self.flavors
        for key in ("model_uuid", "utc_time_created", "artifact_path"):
            if getattr(self, key) is not None:
                body[key] = getattr(self, key)
        if self.signature is not None:
            body["signature"] = self.signature.to_dict()
        if self.saved_input_example_info is not None:
            body["saved_input_example_info"] = self.saved_input_example_info
        if self.dockyard is not None:
            body["dockyard"] = self.dockyard
        return yaml.safe_dump(body, sort_keys=True, default_flow_style=False)


def read_manifest_bytes(model_dir: Path) -> bytes:
    """The raw manifest of the package at ``model_dir``.

    Raises:
        NotFound: No directory or no ``MLmodel`` file there.
        InvalidArgument: The manifest is larger than :data:`MAX_MANIFEST_BYTES`.
    """
    path = model_dir / MANIFEST
    if not model_dir.is_dir():
        raise NotFound(f"no model package at {model_dir}", details={"path": str(model_dir)})
    if not path.is_file():
        raise NotFound(f"{model_dir} has no {MANIFEST} file", details={"path": str(model_dir)})
    with path.open("rb") as handle:
        data = handle.read(MAX_MANIFEST_BYTES + 1)
    if len(data) > MAX_MANIFEST_BYTES:
        raise InvalidArgument(f"{MANIFEST} is larger than {MAX_MANIFEST_BYTES} bytes")
    return data


def write_manifest(model_dir: Path, manifest: Manifest) -> bytes:
    """Write the manifest atomically (readers see the old or the new file); return its bytes."""
    data = manifest.to_yaml().encode()
    temporary = model_dir / f".{MANIFEST}.tmp-{os.getpid()}"
    temporary.write_bytes(data)
    temporary.replace(model_dir / MANIFEST)
    return data


def parse_manifest(data: bytes) -> Manifest:
    """Parse and validate manifest bytes; every error names the offending key."""
    try:
        body = yaml.load(data, Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:
        raise InvalidArgument(f"{MANIFEST} is not valid YAML: {exc}", field=MANIFEST) from exc
    if not isinstance(body, dict):
        raise InvalidArgument(f"{MANIFEST} must be a YAML mapping", field=MANIFEST)
    flavors = body.get("flavors")
    if not isinstance(flavors, dict) or not flavors:
        raise InvalidArgument(f"{MANIFEST} needs a non-empty 'flavors' mapping", field="flavors")
    for name, conf in flavors.items():
        if not isinstance(conf, dict):
            raise InvalidArgument(f"flavors.{name} must be a mapping", field=f"flavors.{name}")
    signature = body.get("signature")
    if signature is not None and not isinstance(signature, dict):
        raise InvalidArgument("signature must be a mapping", field="signature")
    example = body.get("saved_input_example_info")
    if example is not None and not isinstance(example, dict):
        raise InvalidArgument(
            "saved_input_example_info must be a mapping", field="saved_input_example_info"
        )
    section = body.get("dockyard")
    if section is not None:
        _check_dockyard(section)
    return Manifest(
        flavors=flavors,
        model_uuid=_optional_str(body, "model_uuid"),
        utc_time_created=_optional_str(body, "utc_time_created"),
        signature=Signature.from_dict(signature) if signature else None,
        saved_input_example_info=example,
        artifact_path=_optional_str(body, "artifact_path"),
        dockyard=section,
        extra={k: v for k, v in body.items() if k not in _KNOWN},
    )


def _optional_str(body: Mapping[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, (str, int, float)):
        raise InvalidArgument(f"{key} must be a string", field=key)
    return str(value)


def _check_dockyard(section: Any) -> None:
    if not isinstance(section, dict):
        raise InvalidArgument("dockyard must be a mapping", field="dockyard")
    fmt = section.get("format", FORMAT)
    if not isinstance(fmt, int) or fmt > FORMAT:
        raise InvalidArgument(
            f"dockyard.format {fmt!r} is newer than this Dockyard reads ({FORMAT}): upgrade",
            field="dockyard.format",
        )
    digests = section.get("digests")
    if digests is None:
        return
    if not isinstance(digests, dict):
        raise InvalidArgument("dockyard.digests must be a mapping", field="dockyard.digests")
    for name, digest in digests.items():
        if not isinstance(name, str) or not isinstance(digest, str) or not _HEX64.fullmatch(digest):
            raise InvalidArgument(
                f"dockyard.digests: {name!r} needs a sha256 hex digest", field="dockyard.digests"
            )
        safe_relative(name, "dockyard.digests")


def safe_relative(name: str, field: str) -> PurePosixPath:
    """``name`` as a relative path that cannot leave the package (no ``..``, not absolute)."""
    path = PurePosixPath(name)
    if not name or path.is_absolute() or ".." in path.parts or "\\" in name or name != str(path):
        raise InvalidArgument(f"{field}: {name!r} is not a plain relative path", field=field)
    return path


def inside(model_dir: Path, name: Any, field: str) -> Path:
    """Resolve a file the manifest names, refusing anything outside ``model_dir``."""
    if not isinstance(name, str):
        raise InvalidArgument(f"{field} must name a file in the package", field=field)
    return model_dir / safe_relative(name, field)
