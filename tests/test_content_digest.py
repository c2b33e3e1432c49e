from __future__ import annotations

from pathlib import Path

from dockyard.content_digest import DIGEST_CHARS, digest_of, files_of


def test_the_digest_follows_names_sizes_and_contents_not_where_the_folder_is(
    tmp_path: Path,
) -> None:
    def folder(name: str, files: dict[str, bytes]) -> str:
        root = tmp_path / name
        for relative, content in files.items():
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / relative).write_bytes(content)
        return digest_of(files_of(root))

    first = folder("a", {"train.csv": b"1,2\n", "sub/more.csv": b"3,4\n"})
    assert len(first) == DIGEST_CHARS
    assert folder("b", {"sub/more.csv": b"3,4\n", "train.csv": b"1,2\n"}) == first
    assert folder("c", {"train.csv": b"1,2\n", "sub/more.csv": b"3,5\n"}) != first
    assert folder("d", {"train.csv": b"1,2\n", "sub/other.csv": b"3,4\n"}) != first
    one = tmp_path / "a" / "train.csv"
    assert files_of(one) == [("train.csv", one)]
