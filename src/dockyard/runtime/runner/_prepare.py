"""Before the user's code runs: code, channels, config files and checkpoints in place."""

from __future__ import annotations

import json
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from dockyard.api.jobs import JobDir, copy_local, local_path, scheme
from dockyard.artifacts.roots import AllowedRoots
from dockyard.errors import InvalidArgument, PermissionDenied
from dockyard.runtime.runner._contract import write_config
from dockyard.runtime.runner._files import copy_tree

__all__ = [
    "SOURCE_FILES",
    "fetch",
    "prepare",
    "record_source",
    "restore_checkpoints",
    "roots_of",
    "save_checkpoints",
    "unpack_source",
]

#: In the control folder: the files of ``source_dir`` as the job received them.
SOURCE_FILES = "source-files.json"


def prepare(jd: JobDir, spec: dict[str, Any], job: dict[str, Any]) -> None:
    """Lay out the job directory and fetch the code and every channel."""
    jd.create()
    if spec.get("source_dir"):
        fetch(spec["source_dir"], jd.code, job)
        unpack_source(spec["source_dir"], jd.code)
        record_source(jd)
    for name, channel in spec["inputs"].items():
        fetch(channel["uri"], jd.data / name, job)
    write_config(jd, spec, job)
    restore_checkpoints(jd, spec, job)


def unpack_source(uri: str, code: Path) -> None:
    """A ``source_dir`` that is a ``.tar.gz`` file (the SageMaker SDK uploads script-mode code
    as ``sourcedir.tar.gz``) is unpacked in place of the archive. Tar's ``data`` filter refuses
    absolute paths, ``..``, links leaving the folder and device files, as SageMaker's own
    containers would not run them either."""
    name = uri.rstrip("/").rsplit("/", 1)[-1]
    archive = code / name
    if not name.endswith((".tar.gz", ".tgz")) or not archive.is_file():
        return
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(code, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise InvalidArgument(
            f"source_dir {uri} is not a gzipped tar archive that unpacks safely: {exc}",
            field="source_dir",
        ) from None
    archive.unlink()


def record_source(jd: JobDir) -> None:
    """List the files of ``source_dir`` as fetched, before the job runs in that folder: a model
    package that carries the script takes these files, not what the job wrote beside them."""
    files = sorted(
        p.relative_to(jd.code).as_posix()
        for p in jd.code.rglob("*")
        if p.is_file() and not p.is_symlink() and "__pycache__" not in p.parts
    )
    (jd.control / SOURCE_FILES).write_text(json.dumps(files))


def roots_of(job: dict[str, Any]) -> AllowedRoots | None:
    """The server's allowed roots, as the job's launch description gives them."""
    listed = job.get("allowed_roots")
    return AllowedRoots.from_list(listed) if listed else None


def fetch(uri: str, dest: Path, job: dict[str, Any]) -> None:
    """Copy what ``uri`` names (a file or a folder) into the folder ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    kind = scheme(uri)
    if kind == "local":
        copy_local(local_path(uri), dest, roots_of(job))
    elif kind == "s3":
        _fetch_s3(uri, dest, job)
    else:
        _fetch_run(uri, dest, job)


def _fetch_s3(uri: str, dest: Path, job: dict[str, Any]) -> None:
    from dockyard.artifacts import open_artifact_store

    bucket, _, key = uri[len("s3://") :].partition("/")
    store = open_artifact_store(f"s3://{bucket}", s3_endpoint_url=job.get("s3_endpoint_url"))
    key = key.rstrip("/")
    if key and _is_file(store, key):
        store.get_file(key, dest / key.rsplit("/", 1)[-1])
        return
    # A prefix, as SageMaker channels usually are (s3://bucket/prefix/train): its objects.
    for info in store.list(key, recursive=True):
        if not info.is_dir:
            relative = info.path[len(key) :].lstrip("/") if key else info.path
            store.get_file(info.path, dest / _inside(uri, info.path, relative))


def _inside(uri: str, key: str, relative: str) -> str:
    """``relative`` (an object's key under the channel's prefix) as a path inside the channel's
    folder. S3 keys are any text: one with ``..`` segments (``train/../../x``) would otherwise be
    written outside the job's folder, with the runner's rights."""
    from dockyard.artifacts.paths import normalize_artifact_path

    try:
        return normalize_artifact_path(relative)
    except InvalidArgument as exc:
        raise InvalidArgument(
            f"{uri}: the object {key!r} has no place in a local folder ({exc.message}); rename "
            "it or name another prefix",
            field="uri",
        ) from None


def _is_file(store: Any, key: str) -> bool:
    from dockyard.errors import NotFound

    try:
        return not store.stat(key).is_dir
    except NotFound:
        return False


def _fetch_run(uri: str, dest: Path, job: dict[str, Any]) -> None:
    from dockyard.client.http import Client, SocketTransport, routes

    run_id, _, path = uri[len("runs:/") :].partition("/")
    client = Client(job["server_url"], token=job.get("token"), transport=SocketTransport())
    try:
        listing = client.request(
            "GET", f"/api/v1/runs/{run_id}/artifacts", params={"path": path, "recursive": True}
        )["files"]
        files = [f["path"] for f in listing if not f["is_dir"]] or [path]
        for rel in files:
            local = dest / (rel[len(path) :].lstrip("/") if rel != path else Path(rel).name)
            local.parent.mkdir(parents=True, exist_ok=True)
            with (
                # Quoted: a "#" or "?" in a file's name would end its path.
                client.stream("GET", routes.GET_ARTIFACT(run_id=run_id, path=rel).path) as response,
                local.open("wb") as out,
            ):
                for chunk in response.iter_bytes(1 << 20):
                    out.write(chunk)
    finally:
        client.close()


def restore_checkpoints(jd: JobDir, spec: dict[str, Any], job: dict[str, Any]) -> None:
    """Put the last synced checkpoints back (SageMaker restores them on every start)."""
    checkpoint = spec.get("checkpoint")
    if not checkpoint:
        return
    uri = checkpoint["uri"]
    if scheme(uri) == "local" and not local_path(uri).exists():
        return
    shutil.rmtree(jd.checkpoints, ignore_errors=True)
    jd.checkpoints.mkdir(parents=True)
    try:
        fetch(uri, jd.checkpoints, job)
    except Exception:
        return


def save_checkpoints(jd: JobDir, spec: dict[str, Any], job: dict[str, Any]) -> None:
    """Sync ``checkpoints/`` to the checkpoint URI (links the job left there are skipped)."""
    checkpoint = spec.get("checkpoint")
    if not checkpoint or not jd.checkpoints.exists():
        return
    uri = checkpoint["uri"]
    if scheme(uri) == "local":
        target = local_path(uri)
        roots = roots_of(job)
        if roots is not None and not roots.contains(target):
            raise PermissionDenied(f"checkpoint URI {uri} is outside the allowed roots")
        copy_tree(jd.checkpoints, target, inside=roots.contains if roots is not None else None)
    elif scheme(uri) == "s3":
        from dockyard.artifacts import open_artifact_store

        store = open_artifact_store(uri.rstrip("/"), s3_endpoint_url=job.get("s3_endpoint_url"))
        # The periodic sync and the final one may overlap: each copies into its own folder.
        snapshot = Path(tempfile.mkdtemp(prefix="checkpoints-", dir=jd.control))
        try:
            copy_tree(jd.checkpoints, snapshot)
            for file in snapshot.rglob("*"):
                if file.is_file():
                    store.put_file(file.relative_to(snapshot).as_posix(), file)
        finally:
            shutil.rmtree(snapshot, ignore_errors=True)
