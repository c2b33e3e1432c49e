"""The parameter store from Python, on the embedded default."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import dockyard as dy
from dockyard.client.sdk import reset_context
from dockyard.server.params._secrets import new_key
from dockyard.settings import Settings


@pytest.fixture(autouse=True)
def embedded(tmp_path: Path) -> Iterator[None]:
    settings = Settings(home=tmp_path / "home", uri=None, params_key=new_key())
    reset_context(settings)
    yield
    reset_context(settings)


def test_put_get_label_history_by_path_delete() -> None:
    assert dy.put_parameter("/svc/threshold", "0.5").version == 1
    with pytest.raises(dy.AlreadyExists):
        dy.put_parameter("/svc/threshold", "0.6")
    dy.put_parameter("/svc/threshold", "0.6", overwrite=True, description="raised")
    dy.label_parameter_version("/svc/threshold", ["prod"], version=1)
    assert dy.get_parameter("/svc/threshold:prod").value == "0.5"
    assert dy.get_parameter("/svc/threshold").description == "raised"
    dy.put_parameter("/svc/hosts", ["a", "b"], type="StringList")
    assert dy.get_parameter("/svc/hosts").values == ["a", "b"]
    dy.put_parameter("/svc/key", "k-123", type="SecureString")
    assert dy.get_parameter("/svc/key").value is None
    assert dy.get_parameter("/svc/key", with_decryption=True).value == "k-123"
    for i in range(60):  # more than one page
        dy.put_parameter(f"/bulk/p{i:03d}", str(i))
    assert len(dy.get_parameters_by_path("/bulk")) == 60
    assert [p.name for p in dy.get_parameters_by_path("/svc")] == [
        "/svc/hosts",
        "/svc/key",
        "/svc/threshold",
    ]
    assert [p.labels for p in dy.get_parameter_history("/svc/threshold")] == [["prod"], []]
    dy.delete_parameter("/svc/threshold")
    with pytest.raises(dy.NotFound):
        dy.get_parameter("/svc/threshold")


def test_numbers_and_lists_are_written_as_their_text() -> None:
    import numpy as np

    dy.put_parameter("/nb/threshold", 0.5)
    dy.put_parameter("/nb/depth", np.int64(5))
    assert dy.get_parameter("/nb/threshold").value == "0.5"
    assert dy.get_parameter("/nb/depth").value == "5"
    dy.put_parameter("/nb/hosts", ["a", "b"])  # a list is a StringList unless told otherwise
    assert dy.get_parameter("/nb/hosts").values == ["a", "b"]
    dy.put_parameter("/nb/cuts", [0.25, 0.75], type="String")
    assert dy.get_parameter("/nb/cuts").value == "0.25,0.75"


@pytest.mark.parametrize("value", [None, True, {"a": 1}])
def test_a_value_that_is_no_text_is_named(value: object) -> None:
    with pytest.raises(dy.InvalidArgument, match="a parameter value is a string") as refused:
        dy.put_parameter("/nb/bad", value)  # type: ignore[arg-type]
    assert refused.value.field == "value"


def test_a_string_list_item_with_a_comma_is_refused_rather_than_split() -> None:
    # Joined with commas, ["x,y", "z"] would come back as three items.
    with pytest.raises(dy.InvalidArgument) as refused:
        dy.put_parameter("/nb/hosts", ["a", "x,y"])
    assert refused.value.message == "a StringList item may not hold a comma (item 1: 'x,y')"
    assert refused.value.field == "value[1]"
    with pytest.raises(dy.NotFound):
        dy.get_parameter("/nb/hosts")
    dy.put_parameter("/nb/text", ["x,y", "z"], type="String")  # one text: nothing to split
    assert dy.get_parameter("/nb/text").value == "x,y,z"


def test_one_label_is_one_label() -> None:
    dy.put_parameter("/nb/threshold", "0.5")
    assert dy.label_parameter_version("/nb/threshold", "prod").labels == ["prod"]
    assert dy.get_parameter("/nb/threshold:prod").labels == ["prod"]
    with pytest.raises(dy.InvalidArgument, match="labels is a label or a list") as refused:
        dy.label_parameter_version("/nb/threshold", 1)  # type: ignore[arg-type]
    assert refused.value.field == "labels"
