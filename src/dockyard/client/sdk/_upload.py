"""Local files into the artifact store, so a spec can name them: uploads and the download back.

The server reads only the artifact store and its data roots (see
:mod:`dockyard.artifacts.roots`), so a client sends the files a spec names from the client's
machine (a ``source_dir``, input files and folders, a local model package) and passes the store
URI instead. The rule every client follows (:func:`is_local`): a plain path (``data/train``,
``/home/me/code``) is on the client's machine and is uploaded; a URI (``s3://``, ``file://``,
``runs:/``, ``models:/``) names a place the server reads itself and is sent unchanged.

Uploads are addressed by content: files go under ``data/<key prefix>/<digest>/``, where the
digest covers every file's relative path, size and sha256. Re-running the same code on the same
data costs one listing request and no upload, and an upload never replaces files a queued job
is about to read. Large files' hashes are kept between runs (:mod:`._hashes`), so an unchanged
file is not read again to find it is unchanged.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard, TypeVar

from dockyard.client.http import routes
from dockyard.client.sdk._context import context
from dockyard.client.sdk._hashes import StoredHashes
from dockyard.content_digest import digest_of, files_of
from dockyard.errors import InvalidArgument
from dockyard.paths import expand_user

if TYPE_CHECKING:
    from dockyard.client.http import Client

__all__ = ["check_entry_point", "download_outputs", "is_local", "to_store", "upload_path"]

_AT_ONCE = 8  # files of one upload or download moved at once
_T = TypeVar("_T")


def is_local(value: object) -> TypeGuard[str | Path]:
    """Whether ``value`` is a path on this machine (to upload) rather than a URI."""
    if isinstance(value, Path):
        return True
    if not isinstance(value, str) or not value:
        return False
    return "://" not in value and not value.startswith(("runs:", "models:"))


def upload_path(client: Client, path: str | Path, key_prefix: str, field: str = "path") -> str:
    """Upload a local file or folder (unless the store holds it already); returns its URI.

    The URI names the folder for a folder and the file for a file, as the caller gave it.

    Raises:
        InvalidArgument: ``path`` does not exist or is an empty folder (naming ``field``).
    """
    local = expand_user(str(path), field)
    if not local.exists():
        raise InvalidArgument(f"{local} does not exist", field=field)
    files = files_of(local)
    if not files:
        raise InvalidArgument(f"{local} is an empty folder", field=field)
    for _, file in files:
        _require_uploadable(file, field)
    hashes = StoredHashes(context().settings.home / "cache" / "file-hashes.sqlite")
    try:
        digest = digest_of(files, hashes)
    finally:
        hashes.close()
    prefix = f"{key_prefix.strip('/')}/{digest}".lstrip("/")
    stored = client.call(routes.LIST_DATA(), params={"prefix": prefix})
    have = {f["path"]: f["size"] for f in stored["files"]}
    # Same digest, same name, same size: what a finished upload left.
    missing = [(r, f) for r, f in files if have.get(r) != f.stat().st_size]

    def send(item: tuple[str, Path]) -> None:
        relative, file = item
        call = routes.PUT_DATA(path=f"{prefix}/{relative}")
        with file.open("rb") as handle:
            client.request(call.method, call.path, params={"prefix": prefix}, content=handle)

    _each(send, missing)
    prefix_uri = str(stored["prefix_uri"])
    return prefix_uri if local.is_dir() else f"{prefix_uri}/{local.name}"


def _require_uploadable(file: Path, field: str) -> None:
    """Raises InvalidArgument, naming ``file``, when it cannot be sent as it is: a kernel's
    pseudo-file (``/proc``), which says it is empty but reads as text. Only a file of size 0 is
    opened to find out (a folder's other files cost a stat, not an open)."""
    try:
        if file.stat().st_size:
            return
        with file.open("rb") as handle:
            end = handle.seek(0, os.SEEK_END)
            size = os.fstat(handle.fileno()).st_size
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        if exc.errno == errno.EINVAL:
            why = "it is no regular file (a /proc or /sys file?): copy it to one first"
        raise InvalidArgument(f"{file} cannot be uploaded: {why}", field=field) from None
    if end != size:
        raise InvalidArgument(
            f"{file} cannot be uploaded: its size is not what it holds (a /proc or /sys "
            "file?): copy it to a regular file first",
            field=field,
        )


def _each(move: Callable[[_T], None], items: list[_T]) -> None:
    """``move`` each item, :data:`_AT_ONCE` at a time: many small files wait on round trips,
    not on the network. The first failure is raised once those under way end; the rest are
    not started (a new call moves only what is missing)."""
    if len(items) <= 1:
        for item in items:
            move(item)
        return
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(min(_AT_ONCE, len(items)), thread_name_prefix="dockyard-transfer")
    try:
        for future in [pool.submit(move, item) for item in items]:
            future.result()
    finally:
        pool.shutdown(cancel_futures=True)


def check_entry_point(source_dir: Any, entry_point: Any, base: Path | None = None) -> None:
    """Refuse an entry point that is not a file in the local ``source_dir`` (relative to
    ``base``, else the current directory) before it is uploaded, naming the folder as the
    user wrote it rather than the copy the server would see. URIs are left to the server."""
    if not is_local(source_dir) or not isinstance(entry_point, str) or not entry_point:
        return
    folder = expand_user(str(source_dir), "source_dir")
    if base is not None:
        folder = base / folder
    if folder.is_dir() and not (folder / entry_point).is_file():
        raise InvalidArgument(
            f"entry point {entry_point!r} is not a file in {source_dir}", field="entry_point"
        )


def to_store(client: Client, value: Any, key_prefix: str, field: str, *, key: str = "uri") -> Any:
    """``value`` (a URI, or a mapping holding one under ``key``) with a local path replaced by
    the URI of its upload; URIs pass unchanged."""
    uri = value.get(key) if isinstance(value, Mapping) else value
    if not is_local(uri):
        return value
    stored = upload_path(client, uri, key_prefix, field)
    return {**value, key: stored} if isinstance(value, Mapping) else stored


def download_outputs(client: Client, job_name: str, dest: str | Path) -> Path:
    """Download a transform job's outputs into the folder ``dest``, several at once; returns
    it."""
    folder = expand_user(str(dest), "dest")
    listing = client.call(routes.LIST_JOB_OUTPUTS(name=job_name))

    def fetch(item: dict[str, Any]) -> None:
        target = folder / item["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        url = routes.GET_JOB_OUTPUT(name=job_name, path=item["path"]).path
        with client.stream("GET", url) as response, partial.open("wb") as out:
            for chunk in response.iter_bytes(1 << 20):
                out.write(chunk)
        partial.replace(target)

    _each(fetch, listing["files"])
    return folder
