"""``dy.upload_data`` of a folder of many files: every file arrives once, and a refused one is
raised rather than lost among the others."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.services.live_server import LiveServer
from tests.services.server_process import ServerProcess

import dockyard as dy
from dockyard.client.sdk import reset_context
from dockyard.settings import Settings


def _folder(root: Path, count: int) -> Path:
    for i in range(count):
        file = root / f"part-{i % 4}" / f"rows-{i:03d}.csv"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(f"{i},{i * i}\n")
    return root


@pytest.fixture
def on_server(live_server: LiveServer, tmp_path: Path) -> Iterator[None]:
    reset_context(Settings(uri=live_server.url, home=tmp_path / "client-home"))
    yield
    reset_context()


def test_a_folder_of_many_files_arrives_whole_and_once(on_server: None, tmp_path: Path) -> None:
    folder = _folder(tmp_path / "many", 60)
    uri = Path(dy.upload_data(folder, key_prefix="many-files"))
    stored = sorted(p.relative_to(uri).as_posix() for p in uri.rglob("*") if p.is_file())
    assert stored == sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.csv"))
    assert (uri / "part-3" / "rows-007.csv").read_text() == "7,49\n"
    written = {p: p.stat().st_mtime_ns for p in uri.rglob("*.csv")}
    assert Path(dy.upload_data(folder, key_prefix="many-files")) == uri
    assert {p: p.stat().st_mtime_ns for p in uri.rglob("*.csv")} == written  # nothing sent again


def test_a_refused_file_among_many_is_raised(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "server-home", env={"DOCKYARD_MAX_UPLOAD_MB": "1"})
    server.start()
    reset_context(Settings(uri=server.url, home=tmp_path / "client-home"))
    try:
        folder = _folder(tmp_path / "mixed", 20)
        (folder / "part-1" / "big.bin").write_bytes(b"x" * (2 * 2**20))
        with pytest.raises(dy.DockyardError, match="1 MiB upload limit"):
            dy.upload_data(folder, key_prefix="mixed")
    finally:
        reset_context()
        server.stop()


@pytest.mark.parametrize("linked", ["/proc/cpuinfo", "/proc/self/status"])
def test_a_kernel_pseudo_file_is_named_before_anything_is_sent(
    on_server: None, tmp_path: Path, linked: str
) -> None:
    """A /proc file says it is empty (its size) and cannot be measured by seeking, though it
    reads as text: it is named, and nothing of the folder is sent."""
    folder = _folder(tmp_path / "with-proc", 3)
    (folder / "cpu").symlink_to(linked)
    with pytest.raises(dy.InvalidArgument) as refused:
        dy.upload_data(folder, key_prefix="with-proc")
    assert refused.value.message == (
        f"{folder / 'cpu'} cannot be uploaded: it is no regular file (a /proc or /sys file?): "
        "copy it to one first"
    )
    with pytest.raises(dy.InvalidArgument, match=f"^{linked} cannot be uploaded"):
        dy.upload_data(linked)
