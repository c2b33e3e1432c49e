"""Finding input files, refusing unusable outputs, and where the model comes from."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard.errors import InvalidArgument, NotFound
from dockyard.runtime.batch._inputs import fetch_model, list_inputs, open_output


def test_folder_inputs_in_key_order_with_relative_names(tmp_path: Path) -> None:
    for name in ("b.csv", "a/z.csv", "a/y.jsonl", ".tmp", "_SUCCESS", "_logs/x.csv"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("1\n")
    files = list_inputs(f"file://{tmp_path}")
    assert [f.name for f in files] == ["a/y.jsonl", "a/z.csv", "b.csv"]
    assert [f.index for f in files] == [0, 1, 2]
    assert all(f.local_path == f.uri and f.key is None for f in files)


def test_a_file_changed_in_place_has_another_version(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("1\n")
    before = list_inputs(str(tmp_path / "a.csv"))[0].version
    (tmp_path / "a.csv").write_text("2\n")
    os.utime(tmp_path / "a.csv", ns=(1, 1))
    assert list_inputs(str(tmp_path / "a.csv"))[0].version != before


@pytest.mark.parametrize(
    ("output", "input_", "refused"),
    [
        ("s3://b/data/out", "s3://b/data", True),
        ("s3://b/data", "s3://b/data", True),
        ("s3://b/data-out", "s3://b/data", False),
        ("s3://other/data/out", "s3://b/data", False),
        ("s3://b/anything", "s3://b", True),
    ],
)
def test_s3_output_inside_the_input_prefix(output: str, input_: str, refused: bool) -> None:
    if refused:
        with pytest.raises(InvalidArgument) as raised:
            open_output(output, input_)
        assert raised.value.field == "output.uri"
    else:
        open_output(output, input_)  # no I/O happens until the first write


def test_models_uri_and_missing_packages(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="registry URI"):
        fetch_model("models:/churn@champion", tmp_path)
    assert fetch_model(str(tmp_path / "pkg"), tmp_path) == (tmp_path / "pkg").resolve()
    with pytest.raises(NotFound):
        list_inputs(f"file://{tmp_path}/missing")


def test_with_roots_links_are_followed_only_inside_them(tmp_path: Path) -> None:
    from dockyard.artifacts.roots import AllowedRoots
    from dockyard.errors import PermissionDenied

    data, outside = tmp_path / "data", tmp_path / "outside"
    (data / "in").mkdir(parents=True)
    outside.mkdir()
    (data / "shared.csv").write_text("1\n")
    (outside / "secret.csv").write_text("2\n")
    (data / "in" / "a.csv").write_text("3\n")
    (data / "in" / "inner.csv").symlink_to(data / "shared.csv")
    roots = AllowedRoots(str(tmp_path / "store"), [str(data)])
    files = list_inputs(str(data / "in"), roots=roots)
    # The link's target is what is read, resolved at listing: re-pointing it later changes nothing.
    assert [(f.name, f.local_path) for f in files] == [
        ("a.csv", str(data / "in" / "a.csv")),
        ("inner.csv", str(data / "shared.csv")),
    ]
    (data / "in" / "leak.csv").symlink_to(outside / "secret.csv")
    with pytest.raises(PermissionDenied, match="outside the allowed roots") as caught:
        list_inputs(str(data / "in"), roots=roots)
    assert caught.value.field == "input.uri"
    assert list_inputs(str(data / "in"))  # without roots (the library on its own): as before
    with pytest.raises(PermissionDenied):
        list_inputs(str(outside), roots=roots)
    with pytest.raises(PermissionDenied) as caught:
        open_output(str(outside / "out"), str(data / "in"), roots=roots)
    assert caught.value.field == "output.uri"
