"""Where a transform reads and writes: input files, the output store, the model package.

Inputs are a local file or folder (or ``file://`` URI), or an ``s3://`` object or prefix. Every
file under a folder or prefix is an input, in key order, except names that start with ``.`` or
``_`` (temporary files, ``_SUCCESS`` markers, a previous run's ``_manifest.json``). Objects on S3
are downloaded once into the work directory before they are split into shards: shards of a
large object are then read in parallel from local disk, and a resumed run finds them there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from dockyard.artifacts import ArtifactStore, open_artifact_store
from dockyard.artifacts.roots import local_path as _local_path
from dockyard.errors import InvalidArgument, NotFound, PermissionDenied

if TYPE_CHECKING:
    from dockyard.api.batch import TransformInput
    from dockyard.artifacts.roots import AllowedRoots

__all__ = [
    "InputFile",
    "fetch_model",
    "list_inputs",
    "open_output",
    "shown_location",
    "shown_uri",
    "stage",
]


@dataclass(frozen=True, slots=True)
class InputFile:
    """One input file.

    Attributes:
        index: Position in the job's input order.
        uri: The file's URI (an absolute path for local files), as reports show it.
        name: The path relative to the input folder or prefix; the output is ``name + ".out"``.
        size: Size in bytes.
        version: What a resumed run compares to detect a changed input.
        local_path: The local file, for local inputs; ``None`` until an S3 object is staged.
        key: The object key within its bucket, for S3 inputs.
    """

    index: int
    uri: str
    name: str
    size: int
    version: str
    local_path: str | None
    key: str | None = None


def shown_uri(file: InputFile, source: TransformInput) -> str:
    """What messages call ``file``: its URI, or, when the spec says what the user named
    (``display_uri``, for an uploaded copy), that name (with the file's path under a folder)."""
    return _shown(file, source.uri, source.display_uri)


def shown_location(uri: str, source: TransformInput) -> str:
    """What messages call ``uri`` (the input, or a file under it) when all that is known is
    its URI, as in a bad record: the name the user gave where the spec carries one."""
    given, base = source.display_uri, source.uri.rstrip("/")
    if given is None:
        return uri
    if uri == base:
        return given
    if uri.startswith(f"{base}/"):
        return f"{given.rstrip('/')}/{uri[len(base) + 1 :]}"
    return uri


def _shown(file: InputFile, uri: str, given: str | None) -> str:
    if given is None:
        return file.uri
    if PurePosixPath(uri.rstrip("/")).name == file.name:  # the input is this file
        return given
    return f"{given.rstrip('/')}/{file.name}"


def _is_s3(uri: str) -> bool:
    return uri.lower().startswith("s3://")


def _outside(uri: str, field: str) -> PermissionDenied:
    return PermissionDenied(f"{uri} is outside the allowed roots", field=field)


def _hidden(name: str) -> bool:
    return any(part.startswith((".", "_")) for part in PurePosixPath(name).parts)


def _bucket(uri: str) -> tuple[str, str]:
    rest = uri[len("s3://") :]
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise InvalidArgument(f"S3 URI {uri!r} names no bucket", field="input.uri")
    return bucket, key.strip("/")


def list_inputs(
    uri: str,
    *,
    s3_endpoint_url: str | None = None,
    roots: AllowedRoots | None = None,
    display_uri: str | None = None,
) -> list[InputFile]:
    """The input files ``uri`` names, in order.

    With ``roots``, a local input must resolve inside them, and so must every link to a file
    under an input folder (links to folders are not followed). ``display_uri`` is what the
    user named (see :func:`shown_uri`): messages about a file call it so.

    Raises:
        NotFound: Nothing exists at ``uri``, or a folder or prefix holds no input file.
        InvalidArgument: An input file is empty.
        PermissionDenied: A local input, or a link under it, leads outside ``roots``.
    """
    files = _list_s3(uri, s3_endpoint_url) if _is_s3(uri) else _list_local(uri, roots)
    if not files:
        raise NotFound(f"no input files under {uri}", details={"uri": uri})
    for file in files:
        if file.size == 0:
            shown = _shown(file, uri, display_uri)
            raise InvalidArgument(
                f"input file {shown} is empty: there is no record to score",
                field="input.uri",
                details={"uri": shown},
            )
    return files


def _list_local(uri: str, roots: AllowedRoots | None) -> list[InputFile]:
    path = _local_path(uri).resolve()
    if roots is not None and not roots.contains(path):
        raise _outside(uri, "input.uri")
    if path.is_file():
        return [_local_file(0, path, path.name)]
    if not path.is_dir():
        raise NotFound(f"input {uri} does not exist", details={"uri": uri})
    found = sorted(
        (p.relative_to(path).as_posix(), p)
        for p in path.rglob("*")
        if p.is_file() and not _hidden(p.relative_to(path).as_posix())
    )
    if roots is not None:
        for name, file in found:
            if file.is_symlink() and not roots.contains(file):
                raise _outside(f"{uri}/{name} (a link)", "input.uri")
    # A link's target is read, resolved now: swapping the link later changes nothing.
    return [_local_file(i, p.resolve(), name) for i, (name, p) in enumerate(found)]


def _local_file(index: int, path: Path, name: str) -> InputFile:
    info = path.stat()
    version = f"size={info.st_size};mtime_ns={info.st_mtime_ns}"
    return InputFile(index, str(path), name, info.st_size, version, str(path))


def _list_s3(uri: str, endpoint: str | None) -> list[InputFile]:
    bucket, key = _bucket(uri)
    store = open_artifact_store(f"s3://{bucket}", s3_endpoint_url=endpoint)
    if key:
        try:
            info = store.stat(key)
        except NotFound:
            raise NotFound(f"input {uri} does not exist", details={"uri": uri}) from None
        if not info.is_dir:
            name = PurePosixPath(key).name
            size = info.size or 0
            return [InputFile(0, uri, name, size, f"size={size}", None, key)]
    listing = store.list(key, recursive=True)
    out: list[InputFile] = []
    for entry in listing:
        name = entry.path[len(key) + 1 :] if key else entry.path
        if _hidden(name):
            continue
        size = entry.size or 0
        out.append(
            InputFile(
                len(out),
                f"s3://{bucket}/{entry.path}",
                name,
                size,
                f"size={size}",
                None,
                entry.path,
            )
        )
    return out


def stage(file: InputFile, staging: Path, *, s3_endpoint_url: str | None = None) -> InputFile:
    """The file with a local path: S3 objects are downloaded (atomically) once into ``staging``."""
    if file.key is None:
        return file
    target = staging / f"{file.index:05d}"
    if not (target.is_file() and target.stat().st_size == file.size):
        bucket, _ = _bucket(file.uri)
        store = open_artifact_store(f"s3://{bucket}", s3_endpoint_url=s3_endpoint_url)
        store.get_file(str(file.key), target)  # all or nothing: a crash leaves no partial file
    return InputFile(
        file.index, file.uri, file.name, file.size, file.version, str(target), file.key
    )


def open_output(
    uri: str,
    input_uri: str,
    *,
    s3_endpoint_url: str | None = None,
    roots: AllowedRoots | None = None,
) -> ArtifactStore:
    """The store outputs are written to (a local store never follows a link out of its root).

    Raises:
        InvalidArgument: The output folder is inside the input folder (a later run would read
            this run's outputs as inputs).
        PermissionDenied: A local output folder resolves outside ``roots``.
    """
    if roots is not None and not _is_s3(uri) and not roots.contains(_local_path(uri)):
        raise _outside(uri, "output.uri")
    if _is_s3(uri) and _is_s3(input_uri):
        inside = _s3_inside(uri, input_uri)
    elif not _is_s3(uri) and not _is_s3(input_uri):
        out = _local_path(uri).resolve()
        source = _local_path(input_uri).resolve()
        inside = source.is_dir() and (out == source or out.is_relative_to(source))
    else:
        inside = False
    if inside:
        raise InvalidArgument(
            f"output {uri} is inside input {input_uri}: its outputs would be read as inputs",
            field="output.uri",
        )
    if _is_s3(uri):
        return open_artifact_store(uri, s3_endpoint_url=s3_endpoint_url)
    return open_artifact_store(str(_local_path(uri)))


def _s3_inside(uri: str, input_uri: str) -> bool:
    out_bucket, out_key = _bucket(uri)
    in_bucket, in_key = _bucket(input_uri)
    if out_bucket != in_bucket:
        return False
    return not in_key or out_key == in_key or out_key.startswith(in_key + "/")


def fetch_model(model_uri: str, work_dir: Path, *, s3_endpoint_url: str | None = None) -> Path:
    """The local package directory for ``model_uri`` (an ``s3://`` package is downloaded once).

    Raises:
        InvalidArgument: A registry URI (``models:/``) that the caller did not resolve.
        NotFound: No package files at an ``s3://`` prefix.
    """
    if model_uri.lower().startswith("models:/"):
        raise InvalidArgument(
            f"{model_uri} is a registry URI: resolve it to the version's package URI "
            "before running the transform",
            field="model_uri",
        )
    if not _is_s3(model_uri):
        return _local_path(model_uri).resolve()
    target = work_dir / "model"
    done = work_dir / "model.fetched"
    if done.is_file():
        return target
    bucket, key = _bucket(model_uri)
    store = open_artifact_store(f"s3://{bucket}", s3_endpoint_url=s3_endpoint_url)
    files = store.list(key, recursive=True)
    if not files:
        raise NotFound(f"no model package at {model_uri}", field="model_uri")
    for entry in files:
        relative = entry.path[len(key) + 1 :] if key else entry.path
        store.get_file(entry.path, target / relative)
    # Written last: a crash before it means a fresh download, never a half package (which the
    # worker's digest check would refuse anyway).
    done.write_text(model_uri)
    return target
