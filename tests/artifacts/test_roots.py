"""Allowed roots: what a spec may name, decided before the disk is looked at."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.artifacts.roots import AllowedRoots, local_path, parse_root
from dockyard.errors import InvalidArgument, PermissionDenied
from dockyard.settings import Settings


@pytest.fixture
def layout(tmp_path: Path) -> tuple[AllowedRoots, Path, Path]:
    store = tmp_path / "home" / "artifacts"
    data = tmp_path / "data"
    (data / "train").mkdir(parents=True)
    (data / "train" / "a.csv").write_text("1\n")
    (store / "transform").mkdir(parents=True)
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "id_rsa").write_text("key\n")
    return AllowedRoots(str(store), [str(data), "s3://shared/datasets"]), store, data


def _refusal(roots: AllowedRoots, uri: str, *, write: bool = False) -> PermissionDenied:
    with pytest.raises(PermissionDenied) as caught:
        roots.check(uri, "inputs.train.uri", write=write)
    assert caught.value.field == "inputs.train.uri"
    return caught.value


def test_locations_under_a_root_pass(layout: tuple[AllowedRoots, Path, Path]) -> None:
    roots, store, data = layout
    for uri in (
        str(data),
        str(data / "train" / "a.csv"),
        f"file://{data}/train",
        f"file://localhost{data}/train",
        str(data / "not-yet"),  # existence is not this check's business
        str(store / "1" / "abc" / "artifacts" / "model"),
        "s3://shared/datasets",
        "s3://shared/datasets/wine/train.csv",
        "models:/wine@champion",
        "runs:/0123456789abcdef0123456789abcdef/model",
    ):
        roots.check(uri, "f")


def test_outside_is_refused_with_one_message_whether_or_not_it_exists(
    layout: tuple[AllowedRoots, Path, Path], tmp_path: Path
) -> None:
    roots, _, data = layout
    present = _refusal(roots, str(tmp_path / "secret" / "id_rsa"))
    absent = _refusal(roots, str(tmp_path / "secret" / "nothing"))
    assert present.message.replace("id_rsa", "X") == absent.message.replace("nothing", "X")
    assert "outside the allowed roots" in present.message
    assert "DOCKYARD_DATA_ROOTS" in present.message
    _refusal(roots, "/etc")
    _refusal(roots, f"{data}/../secret/id_rsa")  # '..' resolved before comparing
    _refusal(roots, f"{data}-other/x")  # a sibling sharing the root's name as a prefix
    _refusal(roots, "file:///etc/passwd")
    _refusal(roots, f"file://{data}/%2e%2e/secret")  # decoded as every consumer decodes it
    _refusal(roots, "s3://shared/datasets-other/x")
    _refusal(roots, "s3://elsewhere/datasets/x")
    _refusal(roots, "/data\x00/x")


def test_links_are_resolved_before_comparing(
    layout: tuple[AllowedRoots, Path, Path], tmp_path: Path
) -> None:
    roots, _, data = layout
    (data / "escape").symlink_to(tmp_path / "secret")
    _refusal(roots, str(data / "escape"))
    _refusal(roots, str(data / "escape" / "id_rsa"))
    assert not roots.contains(data / "escape" / "id_rsa")
    (data / "inner").symlink_to(data / "train")
    roots.check(str(data / "inner" / "a.csv"), "f")
    assert roots.contains(data / "inner" / "a.csv")


@pytest.mark.parametrize("uri", ["data/train", "./x", "~/.ssh/id_rsa", "~nouser/x", "~", "file:x"])
def test_relative_and_home_paths_must_be_absolute(
    layout: tuple[AllowedRoots, Path, Path], uri: str
) -> None:
    roots, _, _ = layout
    with pytest.raises(InvalidArgument, match="must be absolute") as caught:
        roots.check(uri, "source_dir")
    assert caught.value.field == "source_dir"


@pytest.mark.parametrize(
    "uri", ["ftp://host/x", "http://host/x", "file://otherhost/x", "s3:///key", "s3://b/a/../c"]
)
def test_other_forms_are_refused(layout: tuple[AllowedRoots, Path, Path], uri: str) -> None:
    roots, _, _ = layout
    with pytest.raises(InvalidArgument) as caught:
        roots.check(uri, "input.uri")
    assert caught.value.field == "input.uri"


def test_writes_into_the_store_only_in_its_output_areas(
    layout: tuple[AllowedRoots, Path, Path],
) -> None:
    roots, store, data = layout
    roots.check(str(store / "transform" / "job-1"), "output.uri", write=True)
    roots.check(str(store / "capture" / "ep"), "output.uri", write=True)
    roots.check(str(store / "checkpoints" / "job"), "output.uri", write=True)
    roots.check(str(data / "out"), "output.uri", write=True)
    for key in ("1/abc/artifacts/model", "registry/wine/1", "data/jobs/source", ""):
        with pytest.raises(PermissionDenied, match="areas a spec may write"):
            roots.check(str(store / key), "output.uri", write=True)
        roots.check(str(store / key), "output.uri")  # reading is fine


def test_s3_store_root_and_its_areas() -> None:
    roots = AllowedRoots("s3://bucket/dockyard")
    roots.check("s3://bucket/dockyard/data/x.csv", "f")
    roots.check("s3://bucket/dockyard/transform/j", "f", write=True)
    with pytest.raises(PermissionDenied):
        roots.check("s3://bucket/dockyard/1/run/artifacts", "f", write=True)
    with pytest.raises(PermissionDenied):
        roots.check("s3://bucket/other", "f")
    with pytest.raises(PermissionDenied):
        roots.check("/tmp", "f")  # a local path with an S3 store and no local data root


def test_settings_parse_the_roots_and_refuse_relative_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKYARD_DATA_ROOTS", "/srv/data, s3://team/datasets")
    assert Settings().data_roots == ["/srv/data", "s3://team/datasets"]
    monkeypatch.setenv("DOCKYARD_DATA_ROOTS", '["/srv/a,b"]')
    assert Settings().data_roots == ["/srv/a,b"]
    monkeypatch.setenv("DOCKYARD_DATA_ROOTS", "data")
    with pytest.raises(InvalidArgument, match=r"DOCKYARD_DATA_ROOTS: .*absolute"):
        Settings()
    assert parse_root("s3://team") == parse_root("s3://team/")


def test_round_trip_for_the_runner(layout: tuple[AllowedRoots, Path, Path]) -> None:
    roots, store, data = layout
    again = AllowedRoots.from_list(roots.to_list())
    assert again.contains(data / "train" / "a.csv")
    assert again.contains(store / "x")
    assert not again.contains(store.parent)


def test_local_path_reads_file_uris_as_every_consumer_does() -> None:
    assert local_path("file:///a%20b/c") == Path("/a b/c")
    assert local_path("/a%20b") == Path("/a%20b")
    with pytest.raises(InvalidArgument):
        local_path("file://elsewhere/x")
