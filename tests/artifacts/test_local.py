"""What only the local backend has: symlinks, folders as files, temporary files, permissions."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from dockyard.artifacts import ArtifactInfo
from dockyard.artifacts._streams import TEMP_PREFIX
from dockyard.artifacts.local import LocalArtifactStore
from dockyard.errors import Conflict, InvalidArgument, NotFound


class Boom(Exception):
    pass


class ExplodingStream(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        raise Boom


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the store's root holding a secret a key must never reach."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_bytes(b"secret")
    return folder


@pytest.fixture
def store(tmp_path: Path) -> LocalArtifactStore:
    root = tmp_path / "root"
    root.mkdir()
    return LocalArtifactStore(root)


ESCAPING_OPERATIONS: dict[str, Callable[[LocalArtifactStore, str, Path], object]] = {
    "open_read": lambda store, key, tmp: store.open_read(key),
    "get_file": lambda store, key, tmp: store.get_file(key, tmp / "copy.txt"),
    "stat": lambda store, key, tmp: store.stat(key),
    "exists": lambda store, key, tmp: store.exists(key),
    "list": lambda store, key, tmp: store.list(key),
    "put_bytes": lambda store, key, tmp: store.put_bytes(key, b"overwritten"),
    "put_stream": lambda store, key, tmp: store.put_stream(key, io.BytesIO(b"overwritten")),
}


@pytest.mark.parametrize("operation", ESCAPING_OPERATIONS.values(), ids=ESCAPING_OPERATIONS.keys())
@pytest.mark.parametrize(
    "key", ["link-to-file", "link-to-folder/secret.txt", "link-to-folder/new.txt"]
)
def test_symlink_leaving_the_root_is_refused(
    store: LocalArtifactStore,
    outside: Path,
    tmp_path: Path,
    key: str,
    operation: Callable[[LocalArtifactStore, str, Path], object],
) -> None:
    (store.root / "link-to-file").symlink_to(outside / "secret.txt")
    (store.root / "link-to-folder").symlink_to(outside)

    with pytest.raises(InvalidArgument, match="outside the artifact root") as raised:
        operation(store, key, tmp_path)

    assert repr(key) in raised.value.message
    assert (outside / "secret.txt").read_bytes() == b"secret"
    assert sorted(path.name for path in outside.iterdir()) == ["secret.txt"]
    assert not (tmp_path / "copy.txt").exists()


def test_listing_hides_symlinks_leaving_the_root(store: LocalArtifactStore, outside: Path) -> None:
    (store.root / "link-to-folder").symlink_to(outside)
    store.put_bytes("real.txt", b"r")

    assert store.list() == [ArtifactInfo("real.txt", is_dir=False, size=1)]
    assert store.list(recursive=True) == [ArtifactInfo("real.txt", is_dir=False, size=1)]


def test_deleting_a_symlink_removes_the_link_not_its_target(
    store: LocalArtifactStore, outside: Path
) -> None:
    (store.root / "link-to-folder").symlink_to(outside)
    (store.root / "run").mkdir()
    (store.root / "run" / "link").symlink_to(outside / "secret.txt")

    assert store.delete("link-to-folder") == 1
    assert store.delete("run") == 1

    assert (outside / "secret.txt").read_bytes() == b"secret"
    assert sorted(path.name for path in store.root.iterdir()) == []


def test_symlink_inside_the_root_is_followed(store: LocalArtifactStore) -> None:
    store.put_bytes("v1/model.bin", b"weights")
    (store.root / "latest").symlink_to(store.root / "v1")

    with store.open_read("latest/model.bin") as stream:
        assert stream.read() == b"weights"
    assert store.stat("latest") == ArtifactInfo("latest", is_dir=True)
    assert [entry.path for entry in store.list()] == ["latest", "v1"]
    # Not descended when recursive, so the same file is not listed twice.
    assert [entry.path for entry in store.list(recursive=True)] == ["v1/model.bin"]


def test_writing_under_a_file_conflicts(store: LocalArtifactStore) -> None:
    store.put_bytes("a", b"a file")

    with pytest.raises(Conflict, match="'a/b'"):
        store.put_bytes("a/b", b"x")
    assert store.list() == [ArtifactInfo("a", is_dir=False, size=6)]


def test_writing_over_a_folder_conflicts(store: LocalArtifactStore) -> None:
    store.put_bytes("a/b", b"x")

    with pytest.raises(Conflict, match="'a'"):
        store.put_bytes("a", b"x")
    assert store.list(recursive=True) == [ArtifactInfo("a/b", is_dir=False, size=1)]


def test_failed_write_leaves_no_temporary_file_or_folder(store: LocalArtifactStore) -> None:
    store.put_bytes("run/keep.txt", b"k")

    with pytest.raises(Boom):
        store.put_stream("run/deep/er/model.bin", ExplodingStream())

    assert sorted(path.name for path in (store.root / "run").iterdir()) == ["keep.txt"]


def test_temporary_files_are_hidden_and_their_names_reserved(store: LocalArtifactStore) -> None:
    # What a writer in progress (or a crashed one) leaves behind.
    (store.root / "run").mkdir()
    (store.root / "run" / f"{TEMP_PREFIX}0123abcd").write_bytes(b"half")
    store.put_bytes("run/done.txt", b"d")

    assert [entry.path for entry in store.list("run")] == ["run/done.txt"]
    assert [entry.path for entry in store.list(recursive=True)] == ["run/done.txt"]
    with pytest.raises(InvalidArgument, match="reserved"):
        store.open_read(f"run/{TEMP_PREFIX}0123abcd")
    with pytest.raises(InvalidArgument, match="reserved"):
        store.delete(f"run/{TEMP_PREFIX}0123abcd")
    assert store.delete("run") == 1
    assert not (store.root / "run").exists()


def test_files_get_the_usual_permissions(store: LocalArtifactStore) -> None:
    umask = os.umask(0o022)
    os.umask(umask)

    store.put_bytes("f", b"x")

    assert (store.root / "f").stat().st_mode & 0o777 == 0o666 & ~umask


def test_root_is_created_on_first_write_only(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path / "not" / "yet")

    assert store.list() == []
    assert store.stat("") == ArtifactInfo("", is_dir=True)
    assert not (tmp_path / "not").exists()
    store.put_bytes("k", b"v")
    assert (tmp_path / "not" / "yet" / "k").read_bytes() == b"v"


def test_empty_folder_made_by_hand_lists_as_folder(store: LocalArtifactStore) -> None:
    (store.root / "empty").mkdir()

    assert store.list() == [ArtifactInfo("empty", is_dir=True)]
    assert store.delete("empty") == 0
    assert store.list() == []


def test_get_file_failure_keeps_the_previous_local_file(
    store: LocalArtifactStore, tmp_path: Path
) -> None:
    target = tmp_path / "local.txt"
    target.write_bytes(b"previous")

    with pytest.raises(NotFound):
        store.get_file("missing", target)

    assert target.read_bytes() == b"previous"


def test_root_given_through_a_symlink_works(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    store = LocalArtifactStore(tmp_path / "alias")

    store.put_bytes("k", b"v")

    assert store.root == tmp_path.resolve() / "real"
    assert (tmp_path / "real" / "k").read_bytes() == b"v"
