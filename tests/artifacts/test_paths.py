"""Artifact path normalisation: the only gate between user input and a backend."""

from __future__ import annotations

import posixpath

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from dockyard.artifacts.paths import MAX_KEY_BYTES, join_artifact_path, normalize_artifact_path
from dockyard.errors import InvalidArgument


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("model/MLmodel", "model/MLmodel"),
        ("1/abc123/artifacts/model/MLmodel", "1/abc123/artifacts/model/MLmodel"),
        ("./model", "model"),
        ("model/./data", "model/data"),
        ("model/", "model"),
        ("a/c/../b", "a/b"),
        ("a/..b/c..", "a/..b/c.."),
        ("...", "..."),
        (".hidden", ".hidden"),
        ("données/模型 v1.bin", "données/模型 v1.bin"),
        ("run:1", "run:1"),
    ],
)
def test_accepted_paths_are_canonicalised(path: str, expected: str) -> None:
    assert normalize_artifact_path(path) == expected


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("../x", "escapes"),
        ("a/../../b", "escapes"),
        ("a/b/../../../c", "escapes"),
        ("..", "escapes"),
        ("/etc/passwd", "absolute"),
        ("/", "absolute"),
        ("//server/share", "absolute"),
        ("C:/Windows", "absolute"),
        ("c:relative", "absolute"),
        ("a:b", "absolute"),
        ("..\\..\\x", "backslash"),
        ("a\\b", "backslash"),
        ("a\x00b", "NUL"),
        ("a\nb", "control character"),
        ("a\x7fb", "control character"),
        ("a//b", "empty segment"),
        ("a//", "empty segment"),
        ("", "does not name"),
        (".", "does not name"),
        ("./", "does not name"),
        ("a/..", "does not name"),
        ("x" * 256, "segment longer than 255"),
        ("a/" * 512 + "b", f"longer than {MAX_KEY_BYTES}"),
    ],
)
def test_unsafe_paths_are_refused_naming_them(path: str, reason: str) -> None:
    with pytest.raises(InvalidArgument, match=reason) as raised:
        normalize_artifact_path(path)

    assert raised.value.field == "path"
    if len(path) < 100:
        assert repr(path) in raised.value.message


@pytest.mark.parametrize("root", ["", ".", "./", "a/.."])
def test_root_is_accepted_only_when_allowed(root: str) -> None:
    assert normalize_artifact_path(root, allow_root=True) == ""


def test_non_string_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="bytes"):
        normalize_artifact_path(b"a/b")  # type: ignore[arg-type]


@given(st.text(alphabet=st.sampled_from(["a", "b", ".", "/", "\\", "\x00", "é", ":", " "])))
@example("a/b/../../..")
@example("a/./../b")
def test_accepted_paths_are_always_canonical_and_contained(path: str) -> None:
    try:
        key = normalize_artifact_path(path)
    except InvalidArgument:
        return
    segments = key.split("/")
    assert key == posixpath.normpath(key)
    assert not key.startswith("/")
    assert "" not in segments and "." not in segments and ".." not in segments
    assert "\\" not in key and "\x00" not in key
    assert normalize_artifact_path(key) == key


def test_join_skips_empty_parts() -> None:
    assert join_artifact_path("1/abc", "", "artifacts", "./model/MLmodel") == (
        "1/abc/artifacts/model/MLmodel"
    )
    assert join_artifact_path("", ".") == ""


@pytest.mark.parametrize("user_part", ["/etc/passwd", "../other-run/x", "x/../../y", "a\\b"])
def test_join_never_leaves_the_leading_parts(user_part: str) -> None:
    # posixpath.join("1/abc", "/etc/passwd") would return "/etc/passwd".
    with pytest.raises(InvalidArgument, match="artifact path"):
        join_artifact_path("1/abc", user_part)


def test_join_refuses_a_too_long_result() -> None:
    part = "a" * 200
    with pytest.raises(InvalidArgument, match="longer than"):
        join_artifact_path(*([part] * 6))


@given(st.lists(st.text(alphabet="ab./", max_size=8), max_size=4))
def test_join_result_stays_under_its_first_part(parts: list[str]) -> None:
    try:
        joined = join_artifact_path("base", *parts)
    except InvalidArgument:
        return
    assert joined == "base" or joined.startswith("base/")
