"""One paging style across the native lists, and the client's iterator that follows it."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.client.http import Client, routes
from dockyard.errors import InvalidArgument
from dockyard.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Jobs read their code from a folder the server may read: this test's.
    (tmp_path / "code").mkdir()
    return Settings(home=tmp_path / "home", uri=None, data_roots=[str(tmp_path / "code")])


def test_jobs_page_by_token_and_still_take_offsets(api: Client, tmp_path: Path) -> None:
    code = tmp_path / "code"
    (code / "train.py").write_text("print('hi')\n")
    for n in range(5):
        spec = {"name": f"paged-{n}", "entry_point": "train.py", "source_dir": str(code)}
        api.call(routes.SUBMIT_TRAINING_JOB(), spec)
    whole = api.call(routes.LIST_JOBS())
    order = [j["name"] for j in whole["jobs"]]  # newest first
    assert sorted(order) == [f"paged-{n}" for n in range(5)]
    assert whole["next_page_token"] is None
    first = api.call(routes.LIST_JOBS(), params={"max_results": 2})
    assert [j["name"] for j in first["jobs"]] == order[:2]
    second = api.call(
        routes.LIST_JOBS(), params={"max_results": 2, "page_token": first["next_page_token"]}
    )
    assert [j["name"] for j in second["jobs"]] == order[2:4]
    every = list(api.paginate(routes.LIST_JOBS(), "jobs", params={"max_results": 2}))
    assert [j["name"] for j in every] == order
    # The older parameters the web UI sends keep working.
    old = api.call(routes.LIST_JOBS(), params={"limit": 2, "offset": 2})
    assert [j["name"] for j in old["jobs"]] == order[2:4]
    with pytest.raises(InvalidArgument) as both:
        api.call(routes.LIST_JOBS(), params={"offset": 1, "page_token": first["next_page_token"]})
    assert both.value.field == "offset"
    with pytest.raises(InvalidArgument) as forged:
        api.call(routes.LIST_JOBS(), params={"page_token": "not-a-token"})
    assert forged.value.field == "page_token"


def test_the_iterator_follows_post_searches_and_get_lists(api: Client) -> None:
    for n in range(5):
        api.call(routes.CREATE_EXPERIMENT(), {"name": f"paged-{n}"})
    listed = api.paginate(routes.LIST_EXPERIMENTS(), "experiments", params={"max_results": 2})
    names = sorted(e["name"] for e in listed)
    assert names == ["Default", *(f"paged-{n}" for n in range(5))]
    exp = api.call(routes.GET_EXPERIMENT_BY_NAME(name="paged-0"))["experiment_id"]
    for _ in range(3):
        api.call(routes.CREATE_RUN(), {"experiment_id": exp})
    body = {"experiment_ids": [exp], "max_results": 1}
    assert len(list(api.paginate(routes.SEARCH_RUNS(), "runs", body))) == 3
