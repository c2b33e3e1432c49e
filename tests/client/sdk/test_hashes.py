"""Large files' hashes kept between uploads: an unchanged file is not read again to find it
unchanged; a changed one, a file changed a moment ago, and a small one always are."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard import content_digest
from dockyard.client.sdk import context, reset_context
from dockyard.client.sdk._hashes import MIN_BYTES, SETTLE_S, StoredHashes
from dockyard.client.sdk._upload import upload_path
from dockyard.content_digest import digest_of, files_of
from dockyard.settings import Settings


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The files hashed by reading them, in order."""
    read: list[Path] = []
    real = content_digest.sha256_of

    def counted(path: Path) -> str:
        read.append(path)
        return real(path)

    monkeypatch.setattr(content_digest, "sha256_of", counted)
    return read


def _settled(path: Path, content: bytes) -> Path:
    """``path`` holding ``content``, last changed well before now."""
    path.write_bytes(content)
    past = time.time() - 10 * SETTLE_S
    os.utime(path, (past, past))
    return path


def test_an_unchanged_large_file_is_read_once(tmp_path: Path, reads: list[Path]) -> None:
    (tmp_path / "data").mkdir()
    big = _settled(tmp_path / "data" / "big.bin", os.urandom(MIN_BYTES))
    small = _settled(tmp_path / "data" / "small.csv", b"1,2\n")
    hashes = StoredHashes(tmp_path / "cache" / "file-hashes.sqlite")
    first = digest_of(files_of(tmp_path / "data"), hashes)
    assert first == digest_of(files_of(tmp_path / "data"))  # the same digest as without
    assert sorted(reads) == sorted([big, small, big, small])
    reads.clear()
    again = StoredHashes(tmp_path / "cache" / "file-hashes.sqlite")  # another run's
    assert digest_of(files_of(tmp_path / "data"), again) == first
    assert reads == [small]  # small files cost less to read than to look up


def test_a_changed_file_is_read_again(tmp_path: Path, reads: list[Path]) -> None:
    big = _settled(tmp_path / "big.bin", b"a" * MIN_BYTES)
    hashes = StoredHashes(tmp_path / "file-hashes.sqlite")
    first = digest_of(files_of(big), hashes)
    _settled(big, b"b" * MIN_BYTES)  # the same size, and times set back as far
    reads.clear()
    changed = digest_of(files_of(big), hashes)
    assert reads == [big]
    assert changed != first and changed == digest_of(files_of(big))


def test_a_file_changed_a_moment_ago_is_not_kept(tmp_path: Path, reads: list[Path]) -> None:
    """File times tick coarsely: a change in the same tick as the read would go unseen."""
    fresh = tmp_path / "fresh.bin"
    fresh.write_bytes(b"c" * MIN_BYTES)
    hashes = StoredHashes(tmp_path / "file-hashes.sqlite")
    digest_of(files_of(fresh), hashes)
    digest_of(files_of(fresh), hashes)
    assert reads == [fresh, fresh]


def test_a_cache_that_cannot_be_made_only_costs_reading(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    big = _settled(tmp_path / "big.bin", b"d" * MIN_BYTES)
    hashes = StoredHashes(blocker / "file-hashes.sqlite")
    assert digest_of(files_of(big), hashes) == digest_of(files_of(big))


@pytest.fixture
def embedded(settings: Settings) -> Iterator[Settings]:
    reset_context(settings)
    yield settings
    reset_context(settings)


def test_an_upload_keeps_its_hashes_in_the_home(
    embedded: Settings, tmp_path: Path, reads: list[Path]
) -> None:
    data = tmp_path / "upload"
    data.mkdir()
    big = _settled(data / "train.csv", b"1.0,2.0\n" * (MIN_BYTES // 8 + 1))
    first = upload_path(context().client, data, "jobs/inputs")
    assert (embedded.home / "cache" / "file-hashes.sqlite").is_file()
    assert reads == [big]
    assert upload_path(context().client, data, "jobs/inputs") == first
    assert reads == [big]  # the second upload found it unchanged without reading it
