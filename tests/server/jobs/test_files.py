"""Copies of job-written folders follow no link, on either side."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard.errors import PermissionDenied
from dockyard.runtime.runner._files import copy_tree, read_text


def test_links_in_the_source_are_skipped(tmp_path: Path) -> None:
    src, dest, secret = tmp_path / "src", tmp_path / "dest", tmp_path / "secret"
    (src / "sub").mkdir(parents=True)
    secret.mkdir()
    (secret / "key").write_text("private")
    (src / "a.txt").write_text("a")
    (src / "sub" / "b.txt").write_text("b")
    (src / "key").symlink_to(secret / "key")
    (src / "folder").symlink_to(secret)
    os.mkfifo(src / "pipe")  # would block a reader that opened it blindly
    assert copy_tree(src, dest) == 2
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*")) == [
        "a.txt",
        "sub",
        "sub/b.txt",
    ]
    assert copy_tree(tmp_path / "link-to-src", dest) == 0  # a missing or linked root: nothing
    (tmp_path / "link-to-src").symlink_to(src)
    assert copy_tree(tmp_path / "link-to-src", dest) == 0


def test_a_link_at_the_destination_is_replaced_not_written_through(tmp_path: Path) -> None:
    src, dest, victim = tmp_path / "src", tmp_path / "dest", tmp_path / "victim.txt"
    src.mkdir()
    dest.mkdir()
    victim.write_text("untouched")
    (src / "state.txt").write_text("new")
    (dest / "state.txt").symlink_to(victim)
    copy_tree(src, dest)
    assert victim.read_text() == "untouched"
    assert not (dest / "state.txt").is_symlink()
    assert (dest / "state.txt").read_text() == "new"


def test_destination_folders_outside_what_is_allowed_are_refused(tmp_path: Path) -> None:
    src, dest, elsewhere = tmp_path / "src", tmp_path / "dest", tmp_path / "elsewhere"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "x").write_text("x")
    dest.mkdir()
    elsewhere.mkdir()
    (dest / "sub").symlink_to(elsewhere)
    with pytest.raises(PermissionDenied):
        copy_tree(src, dest, inside=lambda p: p.resolve().is_relative_to(dest.resolve()))
    assert not (elsewhere / "x").exists()


def test_read_text_does_not_follow_a_link(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("private")
    (tmp_path / "failure").symlink_to(tmp_path / "secret")
    assert read_text(tmp_path / "failure") is None
    (tmp_path / "real").write_text("reason")
    assert read_text(tmp_path / "real") == "reason"
    assert read_text(tmp_path / "absent") is None
