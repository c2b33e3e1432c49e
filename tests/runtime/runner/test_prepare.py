"""Fetching channels from S3, and unpacking a ``sourcedir.tar.gz`` source folder (the SageMaker
SDK's script-mode upload)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from tests.services.live_server import LiveServer
from tests.services.s3 import S3Server

from dockyard.artifacts import ArtifactInfo
from dockyard.client.http import Client, routes
from dockyard.errors import InvalidArgument
from dockyard.runtime.runner._prepare import fetch, unpack_source


def _archive(path: Path, members: dict[str, bytes], link: str | None = None) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if link is not None:
            info = tarfile.TarInfo("escape")
            info.type, info.linkname = tarfile.SYMTYPE, link
            tar.addfile(info)


def test_the_archive_is_replaced_by_its_files(tmp_path: Path) -> None:
    _archive(tmp_path / "sourcedir.tar.gz", {"train.py": b"print(1)\n", "lib/util.py": b""})
    unpack_source("s3://bucket/job/source/sourcedir.tar.gz", tmp_path)
    found = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert found == ["lib/util.py", "train.py"]


def test_a_folder_or_another_file_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("x")
    unpack_source("s3://bucket/code/", tmp_path)
    unpack_source("s3://bucket/code/train.py", tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["train.py"]


@pytest.mark.parametrize(
    ("members", "link"),
    [({"../outside.py": b"x"}, None), ({}, "/etc/passwd"), ({}, "../../outside.py")],
    ids=["dot-dot", "absolute-link", "relative-link-out"],
)
def test_members_leaving_the_folder_are_refused(
    tmp_path: Path, members: dict[str, bytes], link: str | None
) -> None:
    code = tmp_path / "code"
    code.mkdir()
    _archive(code / "sourcedir.tar.gz", members, link)
    with pytest.raises(InvalidArgument) as caught:
        unpack_source("s3://b/sourcedir.tar.gz", code)
    assert caught.value.field == "source_dir"
    assert not (tmp_path / "outside.py").exists()


def test_a_file_that_is_not_an_archive_is_named(tmp_path: Path) -> None:
    (tmp_path / "sourcedir.tar.gz").write_bytes(b"not gzip")
    with pytest.raises(InvalidArgument, match="not a gzipped tar archive"):
        unpack_source("s3://b/sourcedir.tar.gz", tmp_path)


class _KeysAsGiven:
    """An S3 bucket as AWS keeps it: keys are any text, ``..`` included. (The S3 server the
    tests run folds such keys on upload, so it cannot hold one.)"""

    def __init__(self, keys: list[str]) -> None:
        self.keys = keys
        self.written: list[Path] = []

    def stat(self, key: str) -> ArtifactInfo:
        return ArtifactInfo(path=key, is_dir=True)

    def list(self, prefix: str, *, recursive: bool) -> list[ArtifactInfo]:
        return [ArtifactInfo(path=k, is_dir=False, size=1) for k in self.keys]

    def get_file(self, key: str, local: Path) -> None:
        self.written.append(local)


def test_an_object_key_climbing_out_of_the_prefix_is_refused_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dockyard.artifacts

    bucket = _KeysAsGiven(["data/train/a.csv", "data/train/../../../../escape.csv"])
    monkeypatch.setattr(dockyard.artifacts, "open_artifact_store", lambda *a, **k: bucket)
    with pytest.raises(InvalidArgument) as refused:
        fetch("s3://b/data/train", tmp_path / "job" / "train", {})
    assert refused.value.field == "uri"
    assert "'data/train/../../../../escape.csv' has no place in a local folder" in str(
        refused.value
    )
    assert bucket.written == [tmp_path / "job" / "train" / "a.csv"]  # the one before it only


def test_an_s3_prefix_channel_brings_its_objects_and_a_key_its_file(
    tmp_path: Path, s3_server: S3Server
) -> None:
    # SageMaker channels are usually prefixes: s3://bucket/prefix/train.
    bucket = s3_server.create_bucket("channels")
    client = s3_server.client()
    for key in ("data/train/a.csv", "data/train/part/b.csv", "data/training.csv"):
        client.put_object(Bucket=bucket, Key=key, Body=key.encode())
    job = {"s3_endpoint_url": s3_server.endpoint_url}
    fetch(f"s3://{bucket}/data/train", tmp_path / "train", job)
    train = tmp_path / "train"
    found = sorted(str(p.relative_to(train)) for p in train.rglob("*.csv"))
    assert found == ["a.csv", "part/b.csv"]  # not data/training.csv, which only shares letters
    fetch(f"s3://{bucket}/data/train/a.csv", tmp_path / "one", job)
    assert (tmp_path / "one" / "a.csv").read_bytes() == b"data/train/a.csv"


def test_a_run_channel_brings_files_whose_names_hold_url_characters(
    live_server: LiveServer, tmp_path: Path
) -> None:
    # "#" would end the path (a fragment) and "?" start a query: each must be sent encoded.
    names = ["a#b c.txt", "q?x=1.txt", "100%.txt"]
    with Client(live_server.url) as client:
        run = client.call(routes.CREATE_RUN(), {"experiment_id": "0"})["info"]["run_id"]
        for name in names:
            put = routes.PUT_ARTIFACT(run_id=run, path=f"data/{name}")
            client.request(put.method, put.path, content=name.encode())
    fetch(f"runs:/{run}/data", tmp_path / "in", {"server_url": live_server.url})
    assert {p.name: p.read_text() for p in (tmp_path / "in").iterdir()} == {n: n for n in names}
