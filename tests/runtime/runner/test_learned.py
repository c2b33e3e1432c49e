"""The modules the warm process learns from transforms: what is recorded, what is imported."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from dockyard.runtime.runner._learned import Learner, record


def _module(folder: Path, name: str, body: str = "") -> None:
    (folder / f"{name}.py").write_text(body)


def test_record_appends_only_what_was_imported_since_and_is_new(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    learned = tmp_path / "warm-modules.txt"
    monkeypatch.syspath_prepend(str(tmp_path))
    _module(tmp_path, "learned_one")
    before = set(sys.modules)
    monkeypatch.setitem(sys.modules, "left_out", None)  # a refused import is no module
    __import__("learned_one")
    try:
        assert record(learned, before) == 1
        assert learned.read_text() == "learned_one\n"
        assert record(learned, before) == 0  # known already
    finally:
        del sys.modules["learned_one"]


def test_record_adds_what_the_workers_imported_once(tmp_path: Path) -> None:
    learned = tmp_path / "warm-modules.txt"
    before = set(sys.modules)
    also = ["worker_only_lib", "worker_only_lib.core", "json", "worker_only_lib", "__main__"]
    assert record(learned, before, also) == 2  # json was loaded here already
    assert learned.read_text() == "worker_only_lib\nworker_only_lib.core\n"
    assert record(learned, before, also) == 0


def test_record_never_raises_on_a_folder_it_cannot_write(tmp_path: Path) -> None:
    assert record(tmp_path / "missing" / "warm-modules.txt", set()) == 0


def test_the_learner_imports_installed_modules_only_and_whole_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    _module(tmp_path, "model_code_of_a_user")  # importable, but no installed library's
    monkeypatch.delitem(sys.modules, "colorsys", raising=False)
    learned = tmp_path / "warm-modules.txt"
    learned.write_text("model_code_of_a_user\nno_such_module_at_all\ncolor")
    learner = Learner(learned)
    learner.poll()
    assert not learner.pending  # the user's module is not imported, the half line not read
    with learned.open("a") as file:
        file.write("sys\n")  # the line is whole now
    learner.poll()
    assert learner.pending
    assert learner.step() is None
    assert "colorsys" in sys.modules
    assert "model_code_of_a_user" not in sys.modules
    assert not learner.pending


def test_a_module_that_starts_a_thread_is_refused_for_good(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    stop = threading.Event()
    monkeypatch.setattr("builtins._learned_stop", stop, raising=False)
    _module(
        tmp_path,
        "starts_a_thread",
        "import builtins, threading\n"
        "threading.Thread(target=builtins._learned_stop.wait, daemon=True).start()\n",
    )
    learned = tmp_path / "warm-modules.txt"
    learned.write_text("starts_a_thread\n")
    monkeypatch.setattr(Learner, "_installed", lambda self, name: True)
    learner = Learner(learned)
    learner.poll()
    try:
        assert learner.step() == "starts_a_thread"
    finally:
        stop.set()
        sys.modules.pop("starts_a_thread", None)
    assert learned.with_name("warm-modules.txt.refused").read_text() == "starts_a_thread\n"
    again = Learner(learned)
    again.poll()
    assert not again.pending
