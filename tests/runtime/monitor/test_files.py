"""Which files a monitoring job reads under the URIs it is given."""

from __future__ import annotations

from pathlib import Path

from dockyard.runtime.monitor._files import files_under


def test_folders_are_listed_without_markers_and_files_taken_as_they_are(tmp_path: Path) -> None:
    out = tmp_path / "transform" / "nightly"
    (out / "part").mkdir(parents=True)
    for name in ("scores.csv.out", "part/b.out", "_manifest.json", ".partial", "part/_SUCCESS"):
        (out / name).write_text("1\n")
    single = tmp_path / "train.csv"
    single.write_text("a\n1\n")
    found = files_under((str(out), str(single), str(tmp_path / "missing")), None)
    assert found == [f"{out}/part/b.out", f"{out}/scores.csv.out", str(single)]
    assert files_under((str(tmp_path / "transform"),), None) == [
        f"{out}/part/b.out",
        f"{out}/scores.csv.out",
    ]
