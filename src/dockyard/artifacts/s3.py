"""Artifacts as objects in an S3-compatible bucket (AWS S3, MinIO, SeaweedFS, Ceph...)."""

from __future__ import annotations

import builtins
import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import boto3
from boto3.exceptions import RetriesExceededError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    IncompleteReadError,
    NoCredentialsError,
    PartialCredentialsError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from dockyard.artifacts._base import ArtifactInfo, ArtifactStore
from dockyard.artifacts._streams import COPY_BUFFER_SIZE, SizedReader, translate_os_error
from dockyard.artifacts.paths import normalize_artifact_path
from dockyard.errors import DockyardError, InvalidArgument, NotFound, Unavailable

__all__ = ["S3ArtifactStore", "parse_s3_uri"]

_MiB = 1024 * 1024
# Below the threshold one PUT; above it 16 MiB parts. At most 4 parts are held in memory (queued or
# being sent) plus the one being read, so an upload holds about 80 MiB whatever the object's size.
_PART_SIZE = 16 * _MiB
_CONCURRENCY = 4
_DELETE_BATCH = 1000  # the most keys DeleteObjects accepts
_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
_UNAVAILABLE_CODES = frozenset(
    {
        "500",
        "502",
        "503",
        "504",
        "InternalError",
        "ServiceUnavailable",
        "SlowDown",
        "RequestTimeout",
    }
)


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """Split ``s3://bucket/some/prefix`` into ``("bucket", "some/prefix")``.

    Raises:
        InvalidArgument: The URI is not ``s3://``, names no bucket, or its prefix is not an
            acceptable artifact path.
    """
    scheme, sep, rest = uri.partition("://")
    if not sep or scheme.lower() != "s3":
        raise InvalidArgument(f"not an s3:// URI: {uri!r}", field="artifact_root")
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise InvalidArgument(f"S3 URI {uri!r} names no bucket", field="artifact_root")
    try:
        return bucket, normalize_artifact_path(prefix, allow_root=True)
    except InvalidArgument as exc:
        raise InvalidArgument(
            f"S3 URI {uri!r} has an invalid prefix: {exc.message}", field="artifact_root"
        ) from exc


class S3ArtifactStore(ArtifactStore):
    """Stores each artifact as the object ``<prefix>/<key>`` of one bucket.

    Credentials and region come from boto3's usual chain (``AWS_ACCESS_KEY_ID``... environment
    variables, ``~/.aws``, instance roles); retries follow ``AWS_MAX_ATTEMPTS``. The client is
    created on first use, so constructing a store does no I/O. Large uploads go in 16 MiB
    multipart parts and an upload that fails is aborted, so no partial object ever appears.

    S3 lets a file and a folder share a name (``a`` and ``a/b``); unlike the local backend, this
    store does not prevent it.

    Args:
        uri: ``s3://bucket`` or ``s3://bucket/prefix``.
        endpoint_url: The server of an S3-compatible store; ``None`` means AWS. Path-style
            addressing is used with a custom endpoint, as most self-hosted servers need it.
    """

    def __init__(self, uri: str, *, endpoint_url: str | None = None) -> None:
        self._bucket, prefix = parse_s3_uri(uri)
        self._prefix = f"{prefix}/" if prefix else ""
        self._endpoint_url = endpoint_url
        self._client_lock = threading.Lock()
        self._client_instance: Any = None
        self._transfer_config = TransferConfig(
            multipart_threshold=_PART_SIZE,
            multipart_chunksize=_PART_SIZE,
            max_concurrency=_CONCURRENCY,
            # The CRT transfer client has its own memory and thread model; keep the classic one.
            preferred_transfer_client="classic",
        )
        # Not a boto3 constructor argument; its default (10 parts read ahead) would hold 160 MiB.
        self._transfer_config.max_in_memory_upload_chunks = _CONCURRENCY

    @property
    def bucket(self) -> str:
        """The bucket holding the artifacts."""
        return self._bucket

    @property
    def prefix(self) -> str:
        """The key prefix under which artifacts live, ``""`` for the bucket's root."""
        return self._prefix.rstrip("/")

    def __repr__(self) -> str:
        return f"S3ArtifactStore('s3://{self._bucket}/{self.prefix}')"

    def check(self) -> None:
        """List one key under the root (what every later request needs: the bucket, the
        credentials, the endpoint)."""
        with self._errors(f"s3://{self._bucket}/{self._prefix}"):
            self._client().list_objects_v2(Bucket=self._bucket, Prefix=self._prefix, MaxKeys=1)

    def _put_stream(self, key: str, reader: SizedReader) -> ArtifactInfo:
        with self._errors(key):
            self._client().upload_fileobj(
                reader, self._bucket, self._object_key(key), Config=self._transfer_config
            )
        return ArtifactInfo(path=key, is_dir=False, size=reader.bytes_read)

    def _open_read(self, key: str, start: int) -> BinaryIO:
        ranged = {"Range": f"bytes={start}-"} if start else {}
        with self._errors(key):
            response = self._client().get_object(
                Bucket=self._bucket, Key=self._object_key(key), **ranged
            )
        return io.BufferedReader(_BodyReader(response["Body"], self, key), COPY_BUFFER_SIZE)

    def _get_file(self, key: str, local_path: Path) -> None:
        # s3transfer downloads ranges in parallel into a temporary file renamed at the end.
        try:
            local_path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise translate_os_error(f"cannot write local file {str(local_path)!r}", exc) from exc
        with self._errors(key):
            self._client().download_file(
                self._bucket, self._object_key(key), str(local_path), Config=self._transfer_config
            )

    def _stat(self, key: str) -> ArtifactInfo:
        with self._errors(key):
            try:
                head = self._client().head_object(Bucket=self._bucket, Key=self._object_key(key))
            except ClientError as exc:
                if not _is_not_found(exc):
                    raise
            else:
                return ArtifactInfo(path=key, is_dir=False, size=int(head["ContentLength"]))
            listing = self._client().list_objects_v2(
                Bucket=self._bucket, Prefix=self._folder_prefix(key), MaxKeys=1
            )
        if listing.get("KeyCount", 0) > 0:
            return ArtifactInfo(path=key, is_dir=True)
        raise NotFound(f"no artifact at {key!r}")

    def _list(self, prefix: str, *, recursive: bool) -> builtins.list[ArtifactInfo]:
        folder = self._folder_prefix(prefix)
        entries: list[ArtifactInfo] = []
        with self._errors(prefix):
            for page in self._pages(folder, delimiter=not recursive):
                for common in page.get("CommonPrefixes", ()):
                    name = common["Prefix"][len(folder) :].rstrip("/")
                    if name:
                        entries.append(
                            ArtifactInfo(
                                path=self._key_of(common["Prefix"]).rstrip("/"), is_dir=True
                            )
                        )
                for obj in page.get("Contents", ()):
                    # Keys ending in "/" are folder markers some tools create; they hold nothing.
                    if obj["Key"].endswith("/"):
                        continue
                    entries.append(
                        ArtifactInfo(
                            path=self._key_of(obj["Key"]), is_dir=False, size=int(obj["Size"])
                        )
                    )
        return sorted(entries, key=lambda entry: entry.path)

    def _delete(self, prefix: str) -> int:
        deleted = 0
        with self._errors(prefix):
            client = self._client()
            exact = self._object_key(prefix)
            try:
                client.head_object(Bucket=self._bucket, Key=exact)
            except ClientError as exc:
                if not _is_not_found(exc):
                    raise
            else:
                self._delete_keys([exact])
                deleted += 1
            top = self._folder_prefix(prefix)
            folders: set[str] = set()
            # One page (at most 1,000 keys) at a time: memory stays flat however many objects.
            for page in self._pages(top, delimiter=False):
                keys = [obj["Key"] for obj in page.get("Contents", ())]
                self._delete_keys(keys)
                deleted += sum(1 for key in keys if not key.endswith("/"))
                folders.update(folder for key in keys for folder in _folders_between(top, key))
            # S3 has no folders, but filer-backed servers (SeaweedFS) keep listing emptied ones
            # until their "folder/" object is deleted, deepest first. Elsewhere that is a no-op,
            # and on both a folder that gained a file meanwhile is left alone.
            markers = sorted(folders, key=lambda folder: folder.count("/"), reverse=True)
            for start in range(0, len(markers), _DELETE_BATCH):
                self._delete_keys(markers[start : start + _DELETE_BATCH])
            self._prune_empty_folders(prefix)
        return deleted

    def _prune_empty_folders(self, key: str) -> None:
        """Delete the folder marker of ``key`` and of each ancestor left empty (see _delete)."""
        client = self._client()
        folder = key
        while folder:
            marker = self._folder_prefix(folder)
            listing = client.list_objects_v2(Bucket=self._bucket, Prefix=marker, MaxKeys=2)
            if any(obj["Key"] != marker for obj in listing.get("Contents", ())):
                return
            client.delete_object(Bucket=self._bucket, Key=marker)
            folder = folder.rpartition("/")[0]

    def _delete_keys(self, keys: builtins.list[str]) -> None:
        if not keys:
            return
        response = self._client().delete_objects(
            Bucket=self._bucket,
            Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True},
        )
        errors = response.get("Errors", ())
        if errors:
            first = errors[0]
            code = str(first.get("Code", ""))
            error_class = Unavailable if code in _UNAVAILABLE_CODES else DockyardError
            raise error_class(
                f"could not delete {len(errors)} object(s), e.g. {self._key_of(first['Key'])!r}: "
                f"{code} {first.get('Message', '')}".rstrip()
            )

    def _pages(self, folder: str, *, delimiter: bool) -> Iterator[dict[str, Any]]:
        arguments: dict[str, Any] = {"Bucket": self._bucket, "Prefix": folder}
        if delimiter:
            arguments["Delimiter"] = "/"
        yield from self._client().get_paginator("list_objects_v2").paginate(**arguments)

    def _object_key(self, key: str) -> str:
        return self._prefix + key

    def _folder_prefix(self, key: str) -> str:
        return f"{self._prefix}{key}/" if key else self._prefix

    def _key_of(self, object_key: str) -> str:
        return object_key[len(self._prefix) :]

    def _client(self) -> Any:
        # boto3 clients are thread-safe once built, but building one (and its session) is not.
        client = self._client_instance
        if client is None:
            with self._client_lock:
                client = self._client_instance
                if client is None:
                    client = self._new_client()
                    self._client_instance = client
        return client

    def _new_client(self) -> Any:
        config = Config(
            signature_version="s3v4",
            retries={"mode": "standard"},
            connect_timeout=10,
            read_timeout=60,
            # Room for every transfer thread plus listings running alongside.
            max_pool_connections=4 * _CONCURRENCY,
            s3={"addressing_style": "path"} if self._endpoint_url else None,
        )
        session = boto3.session.Session()
        return session.client("s3", endpoint_url=self._endpoint_url, config=config)

    @contextmanager
    def _errors(self, key: str) -> Iterator[None]:
        """Translate botocore's errors about ``key`` into Dockyard's; nothing else escapes."""
        try:
            yield
        except ClientError as exc:
            raise self._client_error(key, exc) from exc
        except (NoCredentialsError, PartialCredentialsError) as exc:
            raise DockyardError(
                f"no usable AWS credentials for s3://{self._bucket}: {exc}"
            ) from exc
        except (
            BotoConnectionError,
            HTTPClientError,
            IncompleteReadError,
            RetriesExceededError,
        ) as exc:
            raise Unavailable(
                f"S3 endpoint {self._endpoint_url or 'AWS'} unreachable while accessing "
                f"{key!r}: {exc}"
            ) from exc
        except BotoCoreError as exc:
            raise DockyardError(f"S3 request for {key!r} failed: {exc}") from exc

    def _client_error(self, key: str, exc: ClientError) -> DockyardError:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        message = error.get("Message") or code
        if code == "NoSuchBucket":
            return NotFound(f"S3 bucket {self._bucket!r} does not exist")
        if code in _NOT_FOUND_CODES:
            return NotFound(f"no artifact at {key!r}")
        if code in _UNAVAILABLE_CODES:
            return Unavailable(f"S3 could not serve {key!r} ({code}): {message}")
        # Access denied, bad credentials and the like are the server's configuration, not the
        # caller's doing, hence a server error rather than a 403.
        return DockyardError(f"S3 refused a request for {key!r} ({code}): {message}")


def _folders_between(top: str, object_key: str) -> Iterator[str]:
    """The folder prefixes below ``top`` that contain ``object_key`` (``top`` ends with "/")."""
    segments = object_key[len(top) :].split("/")[:-1]
    for depth in range(1, len(segments) + 1):
        yield top + "/".join(segments[:depth]) + "/"


def _is_not_found(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code", "")) in _NOT_FOUND_CODES


class _BodyReader(io.RawIOBase):
    """botocore's StreamingBody as a raw stream, its read errors translated like every other."""

    def __init__(self, body: Any, store: S3ArtifactStore, key: str) -> None:
        self._body = body
        self._store = store
        self._key = key

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        with self._store._errors(self._key):
            data = self._body.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()
