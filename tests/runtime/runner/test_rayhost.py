"""The Ray node host's housekeeping in the node's runner cache."""

from __future__ import annotations

from pathlib import Path

from dockyard.runtime.runner._rayhost import forget_warm_logs


def test_the_warm_logs_of_nodes_gone_are_removed_and_the_rest_kept(tmp_path: Path) -> None:
    for name in ("warm-runner-alive.log", "warm-runner-gone.log", "warm-modules.txt"):
        (tmp_path / name).write_text("")
    (tmp_path / "models").mkdir()
    forget_warm_logs(tmp_path, {"alive"})
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "models",
        "warm-modules.txt",
        "warm-runner-alive.log",
    ]
