"""What only the S3 backend has: URIs, prefixes, multipart uploads, error translation."""

from __future__ import annotations

import io
import socket
import time

import pytest

from dockyard.artifacts import ArtifactInfo
from dockyard.artifacts.s3 import S3ArtifactStore, parse_s3_uri
from dockyard.errors import DockyardError, InvalidArgument, NotFound, Unavailable
from tests.artifacts.backends import s3_backend
from tests.services.s3 import S3Server

MiB = 1024 * 1024


class Boom(Exception):
    pass


class FailAfter(io.RawIOBase):
    def __init__(self, good_bytes: int) -> None:
        self.remaining = good_bytes

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.remaining == 0:
            raise Boom
        size = self.remaining if size < 0 else min(size, self.remaining)
        self.remaining -= size
        return b"\x01" * size


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://bucket", ("bucket", "")),
        ("s3://bucket/", ("bucket", "")),
        ("s3://bucket/team/artifacts", ("bucket", "team/artifacts")),
        ("s3://bucket/team/artifacts/", ("bucket", "team/artifacts")),
        ("S3://bucket/x", ("bucket", "x")),
    ],
)
def test_parse_s3_uri(uri: str, expected: tuple[str, str]) -> None:
    assert parse_s3_uri(uri) == expected


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("bucket/prefix", "not an s3:// URI"),
        ("gs://bucket", "not an s3:// URI"),
        ("s3://", "names no bucket"),
        ("s3:///prefix", "names no bucket"),
        ("s3://bucket/../other", "invalid prefix"),
        ("s3://bucket/a//b", "invalid prefix"),
    ],
)
def test_parse_s3_uri_refuses(uri: str, reason: str) -> None:
    with pytest.raises(InvalidArgument, match=reason) as raised:
        parse_s3_uri(uri)
    assert raised.value.field == "artifact_root"


def test_store_exposes_bucket_and_prefix() -> None:
    store = S3ArtifactStore("s3://bucket/team/artifacts/")

    assert (store.bucket, store.prefix) == ("bucket", "team/artifacts")


def test_unreachable_endpoint_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    # Building the store touches nothing: the client is created on first use.
    store = S3ArtifactStore("s3://bucket/p", endpoint_url=f"http://127.0.0.1:{closed_port}")

    started = time.monotonic()
    with pytest.raises(Unavailable, match="'model/MLmodel'"):
        store.stat("model/MLmodel")
    with pytest.raises(Unavailable):
        store.put_bytes("model/MLmodel", b"x")

    assert time.monotonic() - started < 10


@pytest.mark.s3
def test_missing_bucket_is_not_found_naming_it(s3_server: S3Server) -> None:
    store = S3ArtifactStore("s3://no-such-bucket-here/p", endpoint_url=s3_server.endpoint_url)

    with pytest.raises(NotFound, match="'no-such-bucket-here'"):
        store.list()
    with pytest.raises(NotFound, match="'no-such-bucket-here'"):
        store.open_read("k")


@pytest.mark.s3
def test_rejected_credentials_are_a_server_error(
    s3_server: S3Server, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
    store = S3ArtifactStore(f"s3://{s3_bucket}/p", endpoint_url=s3_server.endpoint_url)

    with pytest.raises(DockyardError, match="SignatureDoesNotMatch") as raised:
        store.put_bytes("k", b"v")
    assert type(raised.value) is DockyardError


@pytest.mark.s3
@pytest.mark.parametrize(("size", "parts"), [(16 * MiB - 1, 1), (17 * MiB, 2)])
def test_multipart_threshold_and_part_size(
    s3_server: S3Server, s3_bucket: str, size: int, parts: int
) -> None:
    backend = s3_backend(s3_server, s3_bucket)
    assert backend.upload_parts is not None

    backend.store.put_stream("blob", io.BytesIO(b"\x02" * size))

    assert backend.upload_parts("blob") == parts
    assert backend.store.stat("blob").size == size


@pytest.mark.s3
def test_failed_multipart_upload_is_aborted(s3_server: S3Server) -> None:
    bucket = s3_server.create_bucket("abort")
    store = S3ArtifactStore(f"s3://{bucket}/p", endpoint_url=s3_server.endpoint_url)

    with pytest.raises(Boom):
        store.put_stream("big.bin", FailAfter(40 * MiB))

    assert s3_server.client().list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert not store.exists("big.bin")


@pytest.mark.s3
def test_prefixes_isolate_stores_in_one_bucket(s3_server: S3Server) -> None:
    bucket = s3_server.create_bucket("isolation")
    endpoint = s3_server.endpoint_url
    run1 = S3ArtifactStore(f"s3://{bucket}/run1", endpoint_url=endpoint)
    run10 = S3ArtifactStore(f"s3://{bucket}/run10", endpoint_url=endpoint)
    whole = S3ArtifactStore(f"s3://{bucket}", endpoint_url=endpoint)
    run1.put_bytes("m.txt", b"1")
    run10.put_bytes("m.txt", b"10")

    assert run1.list(recursive=True) == [ArtifactInfo("m.txt", is_dir=False, size=1)]
    assert [entry.path for entry in whole.list()] == ["run1", "run10"]
    assert whole.delete("run1") == 1
    assert [entry.path for entry in whole.list(recursive=True)] == ["run10/m.txt"]
    assert run10.stat("m.txt").size == 2


@pytest.mark.s3
def test_folder_marker_objects_are_not_files(s3_server: S3Server, s3_bucket: str) -> None:
    # Consoles and other tools create zero-byte "folder/" objects.
    backend = s3_backend(s3_server, s3_bucket)
    store = backend.store
    assert isinstance(store, S3ArtifactStore)
    s3_server.client().put_object(Bucket=s3_bucket, Key=f"{store.prefix}/made-by-console/")
    store.put_bytes("real/file.txt", b"f")

    assert [entry.path for entry in store.list(recursive=True)] == ["real/file.txt"]
    assert store.delete("made-by-console") == 0
    assert [entry.path for entry in store.list()] == ["real"]


@pytest.mark.s3
def test_check_asks_what_every_request_needs(
    s3_server: S3Server, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    S3ArtifactStore(f"s3://{s3_bucket}/p", endpoint_url=s3_server.endpoint_url).check()
    missing = S3ArtifactStore("s3://no-such-bucket-here/p", endpoint_url=s3_server.endpoint_url)
    with pytest.raises(NotFound, match="'no-such-bucket-here' does not exist"):
        missing.check()
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
    refused = S3ArtifactStore(f"s3://{s3_bucket}/p", endpoint_url=s3_server.endpoint_url)
    with pytest.raises(DockyardError, match=f"'s3://{s3_bucket}/p/' .SignatureDoesNotMatch"):
        refused.check()
