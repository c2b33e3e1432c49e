"""The contract every ArtifactStore backend passes (ids: local, s3)."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from dockyard.artifacts import ArtifactInfo, ArtifactStore
from dockyard.errors import InvalidArgument, NotFound
from tests.artifacts.backends import Backend


class SourceFailed(Exception):
    """Raised by a caller's stream; the store must let it through unchanged."""


class FailingStream(io.RawIOBase):
    """Yields ``good_bytes`` bytes, then fails like a dropped client upload."""

    def __init__(self, good_bytes: int) -> None:
        self.remaining = good_bytes

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.remaining == 0:
            raise SourceFailed("connection to the uploader dropped")
        size = self.remaining if size < 0 else min(size, self.remaining)
        self.remaining -= size
        return b"x" * size


class TrickleStream(io.RawIOBase):
    """Returns at most ``step`` bytes per read, as sockets do."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data = memoryview(data)
        self.step = step

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = self.step if size < 0 else min(size, self.step)
        chunk, self.data = self.data[:size], self.data[size:]
        return bytes(chunk)


@pytest.fixture
def store(backend: Backend) -> ArtifactStore:
    return backend.store


def read_all(store: ArtifactStore, key: str) -> bytes:
    with store.open_read(key) as stream:
        return stream.read()


def paths(entries: list[ArtifactInfo]) -> list[str]:
    return [entry.path for entry in entries]


def populate(store: ArtifactStore) -> None:
    for key, data in {
        "model/MLmodel": b"flavors: {}\n",
        "model/data/weights.bin": b"\x00" * 10,
        "model/data/extra/notes.txt": b"n",
        "modelx": b"sibling sharing a string prefix",
        "metrics.json": b"{}",
    }.items():
        store.put_bytes(key, data)


def test_put_bytes_then_read_back(store: ArtifactStore) -> None:
    info = store.put_bytes("1/abc123/artifacts/model/MLmodel", b"flavors: {}\n")

    assert info == ArtifactInfo("1/abc123/artifacts/model/MLmodel", is_dir=False, size=12)
    assert read_all(store, "1/abc123/artifacts/model/MLmodel") == b"flavors: {}\n"


def test_put_stream_of_unknown_size(store: ArtifactStore) -> None:
    info = store.put_stream("a/b.bin", io.BytesIO(b"0123456789"))

    assert info.size == 10
    assert read_all(store, "a/b.bin") == b"0123456789"


def test_put_stream_reads_from_the_current_position(store: ArtifactStore) -> None:
    source = io.BytesIO(b"headerBODY")
    source.seek(6)

    store.put_stream("body", source)

    assert read_all(store, "body") == b"BODY"


def test_put_stream_copes_with_short_reads(store: ArtifactStore) -> None:
    data = bytes(range(256)) * 40

    info = store.put_stream("trickle", TrickleStream(data, step=7), size=len(data))

    assert info.size == len(data)
    assert read_all(store, "trickle") == data


def test_empty_artifact(store: ArtifactStore) -> None:
    assert store.put_bytes("empty", b"") == ArtifactInfo("empty", is_dir=False, size=0)
    assert read_all(store, "empty") == b""
    assert store.stat("empty").size == 0


def test_overwrite_replaces_content(store: ArtifactStore) -> None:
    store.put_bytes("k", b"first version, longer")
    store.put_bytes("k", b"second")

    assert read_all(store, "k") == b"second"


def test_put_file_and_get_file(store: ArtifactStore, tmp_path: Path) -> None:
    source = tmp_path / "upload.bin"
    source.write_bytes(b"local bytes" * 1000)

    info = store.put_file("dir/file.bin", source)
    target = tmp_path / "download" / "nested" / "file.bin"
    store.get_file("dir/file.bin", target)

    assert info == ArtifactInfo("dir/file.bin", is_dir=False, size=11_000)
    assert target.read_bytes() == source.read_bytes()


def test_put_file_of_a_missing_local_file(store: ArtifactStore, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="nope\\.bin"):
        store.put_file("k", tmp_path / "nope.bin")
    assert not store.exists("k")


def test_open_read_streams_in_pieces(store: ArtifactStore) -> None:
    store.put_bytes("k", b"abcdefgh")

    with store.open_read("k") as stream:
        pieces = [stream.read(3), stream.read(3), stream.read(), stream.read()]

    assert pieces == [b"abc", b"def", b"gh", b""]
    assert stream.closed


def test_open_read_from_a_byte_reads_only_the_rest(store: ArtifactStore) -> None:
    store.put_bytes("k", b"abcdefgh")

    with store.open_read("k", start=5) as stream:
        assert stream.read() == b"fgh"
    with pytest.raises(InvalidArgument) as caught:
        store.open_read("k", start=-1)
    assert caught.value.field == "start"


def test_unicode_keys(store: ArtifactStore) -> None:
    store.put_bytes("données/模型 v1.bin", b"u")

    assert read_all(store, "données/模型 v1.bin") == b"u"
    assert paths(store.list("données")) == ["données/模型 v1.bin"]


def test_list_direct_children_with_folders(store: ArtifactStore) -> None:
    populate(store)

    assert store.list() == [
        ArtifactInfo("metrics.json", is_dir=False, size=2),
        ArtifactInfo("model", is_dir=True, size=None),
        ArtifactInfo("modelx", is_dir=False, size=31),
    ]
    assert store.list("model") == [
        ArtifactInfo("model/MLmodel", is_dir=False, size=12),
        ArtifactInfo("model/data", is_dir=True, size=None),
    ]
    assert paths(store.list("model/data/")) == ["model/data/extra", "model/data/weights.bin"]


def test_list_recursive_gives_every_file_and_no_folder(store: ArtifactStore) -> None:
    populate(store)

    assert paths(store.list(recursive=True)) == [
        "metrics.json",
        "model/MLmodel",
        "model/data/extra/notes.txt",
        "model/data/weights.bin",
        "modelx",
    ]
    assert store.list("model/data", recursive=True) == [
        ArtifactInfo("model/data/extra/notes.txt", is_dir=False, size=1),
        ArtifactInfo("model/data/weights.bin", is_dir=False, size=10),
    ]


@pytest.mark.parametrize("recursive", [False, True], ids=["direct", "recursive"])
def test_list_of_missing_folder_or_file_is_empty(store: ArtifactStore, recursive: bool) -> None:
    populate(store)

    assert store.list("nothing/here", recursive=recursive) == []
    assert store.list("model/MLmodel", recursive=recursive) == []
    assert store.list("mode", recursive=recursive) == []  # a string prefix is not a folder


def test_list_of_empty_store(store: ArtifactStore) -> None:
    assert store.list() == []
    assert store.list(recursive=True) == []


def test_stat(store: ArtifactStore) -> None:
    populate(store)

    assert store.stat("model/MLmodel") == ArtifactInfo("model/MLmodel", is_dir=False, size=12)
    assert store.stat("model/data") == ArtifactInfo("model/data", is_dir=True, size=None)
    assert store.stat("") == ArtifactInfo("", is_dir=True, size=None)
    with pytest.raises(NotFound, match="model/missing"):
        store.stat("model/missing")
    with pytest.raises(NotFound, match="'mode'"):
        store.stat("mode")


def test_exists(store: ArtifactStore) -> None:
    populate(store)

    assert store.exists("model/MLmodel")
    assert store.exists("model/data")
    assert not store.exists("model/nothing")
    assert not store.exists("model/MLmodel/below-a-file")


@pytest.mark.parametrize(
    "read",
    [
        pytest.param(lambda store, tmp: store.open_read("run/missing.txt"), id="open_read"),
        pytest.param(lambda store, tmp: store.get_file("run/missing.txt", tmp), id="get_file"),
        pytest.param(lambda store, tmp: store.stat("run/missing.txt"), id="stat"),
    ],
)
def test_missing_key_raises_not_found_naming_it(
    store: ArtifactStore, tmp_path: Path, read: Callable[[ArtifactStore, Path], object]
) -> None:
    store.put_bytes("run/present.txt", b"p")
    target = tmp_path / "out.txt"

    with pytest.raises(NotFound, match=r"run/missing\.txt"):
        read(store, target)
    assert not target.exists()


def test_open_read_of_a_folder_is_not_found(store: ArtifactStore) -> None:
    store.put_bytes("folder/file", b"f")

    with pytest.raises(NotFound, match="folder"):
        store.open_read("folder")


def test_delete_one_file(store: ArtifactStore) -> None:
    populate(store)

    assert store.delete("model/MLmodel") == 1
    assert not store.exists("model/MLmodel")
    assert store.exists("model/data/weights.bin")


def test_delete_prefix_removes_everything_below_and_nothing_beside(store: ArtifactStore) -> None:
    populate(store)

    assert store.delete("model") == 3
    assert paths(store.list(recursive=True)) == ["metrics.json", "modelx"]
    assert paths(store.list()) == ["metrics.json", "modelx"]


def test_delete_of_last_file_removes_its_folders(store: ArtifactStore) -> None:
    store.put_bytes("a/b/c/only.txt", b"o")
    store.put_bytes("keep.txt", b"k")

    store.delete("a/b/c/only.txt")

    assert paths(store.list()) == ["keep.txt"]
    assert not store.exists("a")


def test_delete_of_nothing_is_idempotent(store: ArtifactStore) -> None:
    store.put_bytes("a/x", b"x")

    assert store.delete("a/nothing") == 0
    assert store.delete("a") == 1
    assert store.delete("a") == 0


def test_delete_of_the_root_is_refused(store: ArtifactStore) -> None:
    store.put_bytes("a", b"a")

    with pytest.raises(InvalidArgument):
        store.delete("")
    assert store.exists("a")


def test_delete_many_files(store: ArtifactStore) -> None:
    for index in range(30):
        store.put_bytes(f"bulk/{index // 10}/{index}.txt", b"b")

    assert store.delete("bulk") == 30
    assert store.list(recursive=True) == []


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [("./a/b.txt", "a/b.txt"), ("a/./b.txt", "a/b.txt"), ("a/c/../b.txt", "a/b.txt")],
)
def test_equivalent_spellings_name_one_artifact(
    store: ArtifactStore, spelling: str, canonical: str
) -> None:
    info = store.put_bytes(spelling, b"same")

    assert info.path == canonical
    assert read_all(store, canonical) == b"same"
    assert paths(store.list("a/")) == [canonical]


BAD_PATHS = [
    "../x",
    "/etc/passwd",
    "a/../../b",
    "..\\..\\windows\\win.ini",
    "a\\..\\..\\b",
    "a\x00b",
    "a//b",
    "C:/Windows/x",
    "",
]
Operation = Callable[[ArtifactStore, str, Path], object]
READS: dict[str, Operation] = {
    "open_read": lambda store, key, tmp: store.open_read(key),
    "get_file": lambda store, key, tmp: store.get_file(key, tmp / "out"),
    "stat": lambda store, key, tmp: store.stat(key),
    "exists": lambda store, key, tmp: store.exists(key),
    "list": lambda store, key, tmp: store.list(key),
}
WRITES: dict[str, Operation] = {
    "put_bytes": lambda store, key, tmp: store.put_bytes(key, b"evil"),
    "put_stream": lambda store, key, tmp: store.put_stream(key, io.BytesIO(b"evil")),
    "put_file": lambda store, key, tmp: store.put_file(key, tmp / "source"),
    "delete": lambda store, key, tmp: store.delete(key),
}


@pytest.mark.parametrize("bad_path", BAD_PATHS, ids=repr)
def test_unsafe_paths_are_refused_by_every_operation(
    backend: Backend, tmp_path: Path, bad_path: str
) -> None:
    store = backend.store
    (tmp_path / "source").write_bytes(b"evil")
    for name, operation in {**READS, **WRITES}.items():
        key = bad_path
        if name in WRITES and key == "/etc/passwd":
            # Should the check ever break, a write must not clobber the machine's own files.
            key = str(tmp_path / "sandbox" / "passwd")
        if key == "" and name in {"stat", "exists", "list"}:
            continue  # the empty path names the root, which these accept
        with pytest.raises(InvalidArgument) as raised:
            operation(store, key, tmp_path)
        assert repr(key) in str(raised.value), name

    assert store.list(recursive=True) == []
    assert backend.stored_outside() == []
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("good_bytes", [0, 1000, 20 * 1024 * 1024], ids=["0B", "1kB", "20MiB"])
def test_failed_write_leaves_nothing_visible(store: ArtifactStore, good_bytes: int) -> None:
    # 20 MiB crosses the S3 multipart threshold: the failure hits after parts were uploaded.
    with pytest.raises(SourceFailed):
        store.put_stream("run/model.bin", FailingStream(good_bytes))

    assert not store.exists("run/model.bin")
    assert store.list(recursive=True) == []
    assert store.list() == []


def test_failed_overwrite_keeps_the_previous_content(store: ArtifactStore) -> None:
    store.put_bytes("run/model.bin", b"version 1")

    with pytest.raises(SourceFailed):
        store.put_stream("run/model.bin", FailingStream(5000))

    assert read_all(store, "run/model.bin") == b"version 1"
    assert paths(store.list("run")) == ["run/model.bin"]


@pytest.mark.parametrize(
    ("data", "announced"), [(b"short", 10), (b"longer than announced", 5)], ids=["short", "long"]
)
def test_size_mismatch_stores_nothing(store: ArtifactStore, data: bytes, announced: int) -> None:
    with pytest.raises(InvalidArgument, match=r"'k'.*announced"):
        store.put_stream("k", io.BytesIO(data), size=announced)

    assert not store.exists("k")


def test_negative_size_is_refused(store: ArtifactStore) -> None:
    with pytest.raises(InvalidArgument, match="negative"):
        store.put_stream("k", io.BytesIO(b""), size=-1)


def test_concurrent_writers_and_readers(store: ArtifactStore) -> None:
    # Also exercises the lazily built S3 client: all threads start before any request was made.
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(worker: int) -> None:
        try:
            start.wait()
            for index in range(5):
                key = f"concurrent/{worker}/{index}.bin"
                payload = f"{worker}:{index}".encode() * 100
                store.put_bytes(key, payload)
                assert read_all(store, key) == payload
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(store.list("concurrent", recursive=True)) == 40
