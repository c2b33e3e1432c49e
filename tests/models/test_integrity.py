"""Digests: a changed, missing or extra file is refused before anything is unpickled."""

from __future__ import annotations

import os
import pickle
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from dockyard.errors import InvalidArgument
from dockyard.models import seal, verify
from dockyard.models._integrity import compute_digests
from dockyard.models.pyfunc import load_model


class _CreatesFile:
    """Unpickling this object creates a file: proof of whether a pickle was loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def test_untouched_package_verifies_and_digest_is_stable(
    package_copy: Callable[[str], Path],
) -> None:
    path = package_copy("sklearn")
    assert verify(path).startswith("sha256:")
    assert verify(path) == verify(path, expected_digest=verify(path))


def test_tampered_pickle_is_refused_without_being_unpickled(
    package_copy: Callable[[str], Path], tmp_path: Path
) -> None:
    path = package_copy("sklearn")
    marker = tmp_path / "pwned"
    evil = pickle.dumps(_CreatesFile(marker))
    pickle.loads(evil).close()  # control: loading this pickle does create the file
    assert marker.exists()
    marker.unlink()

    (path / "model.pkl").write_bytes(evil)
    with pytest.raises(InvalidArgument, match=re.escape("model.pkl was changed")) as caught:
        load_model(path)
    assert caught.value.details == {"reason": "digest_mismatch", "file": "model.pkl"}
    assert not marker.exists()


def test_pickle_swapped_after_verification_is_still_refused(
    package_copy: Callable[[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The flavor re-checks the bytes it unpickles, so a swap after the file check is caught."""
    from dockyard.models import _integrity

    path = package_copy("sklearn")
    marker = tmp_path / "pwned"
    real_check = _integrity.check_files

    def check_then_swap(model_dir: Path, digests: dict[str, str]) -> None:
        real_check(model_dir, digests)
        (model_dir / "model.pkl").write_bytes(pickle.dumps(_CreatesFile(marker)))

    monkeypatch.setattr(_integrity, "check_files", check_then_swap)
    with pytest.raises(InvalidArgument, match=re.escape("model.pkl was changed")):
        load_model(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("change", "reason", "file"),
    [
        (lambda p: (p / "model.pkl").unlink(), "missing_file", "model.pkl"),
        (lambda p: (p / "notes.txt").write_text("hi"), "extra_file", "notes.txt"),
        (
            lambda p: (p / "requirements.txt").write_text("evil==1\n"),
            "digest_mismatch",
            "requirements.txt",
        ),
        (lambda p: (p / "link").symlink_to("/etc/passwd"), "symlink", "link"),
        (lambda p: os.mkfifo(p / "pipe"), "not_a_file", "pipe"),
        (
            lambda p: (
                (p / "__pycache__").mkdir() or (p / "__pycache__" / "m.pyc").write_bytes(b"x")
            ),
            "extra_file",
            "__pycache__/m.pyc",
        ),
    ],
    ids=["missing", "extra", "changed-requirements", "symlink", "fifo", "bytecode-cache"],
)
def test_file_changes_are_refused_naming_the_file(
    package_copy: Callable[[str], Path],
    change: Callable[[Path], object],
    reason: str,
    file: str,
) -> None:
    path = package_copy("sklearn")
    change(path)
    with pytest.raises(InvalidArgument) as caught:
        verify(path)
    assert caught.value.details == {"reason": reason, "file": file}
    assert file in caught.value.message


def test_rewritten_manifest_is_refused_with_the_recorded_digest(
    package_copy: Callable[[str], Path],
) -> None:
    path = package_copy("sklearn")
    recorded = verify(path)
    manifest = path / "MLmodel"
    manifest.write_text(manifest.read_text().replace("predict_fn: predict", "predict_fn: score"))
    verify(path)  # still self-consistent: only the recorded digest can tell
    with pytest.raises(InvalidArgument, match="recorded package digest") as caught:
        load_model(path, expected_digest=recorded)
    assert caught.value.details["reason"] == "manifest_changed"


def test_unsealed_package_needs_consent_and_seal_adopts_it(
    package_copy: Callable[[str], Path],
) -> None:
    path = package_copy("sklearn")
    manifest = path / "MLmodel"
    body = yaml.safe_load(manifest.read_text())
    del body["dockyard"]  # what an MLflow-written manifest looks like
    manifest.write_text(yaml.safe_dump(body))
    with pytest.raises(InvalidArgument, match="no file digests") as caught:
        load_model(path)
    assert caught.value.details["reason"] == "unsealed"
    assert not load_model(path, allow_unverified=True).metadata.verified
    digest = seal(path)
    assert verify(path) == digest
    assert load_model(path).metadata.verified
    assert set(compute_digests(path)) >= {"model.pkl", "requirements.txt"}
