"""Triggers from Python, on the embedded default."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import dockyard as dy
from dockyard.client.sdk import reset_context
from dockyard.settings import Settings


@pytest.fixture(autouse=True)
def embedded(tmp_path: Path) -> Iterator[Path]:
    settings = Settings(home=tmp_path / "home", uri=None, data_roots=[str(tmp_path)])
    reset_context(settings)
    (tmp_path / "train.csv").write_text("1,2\n3,4\n")
    yield tmp_path
    reset_context(settings)


def test_create_fire_history_delete(embedded: Path) -> None:
    job = {
        "algorithm": "xgboost",
        "hyperparameters": {"num_round": "2", "objective": "reg:squarederror"},
        "inputs": {"train": {"uri": str(embedded / "train.csv"), "content_type": "text/csv"}},
        "tags": {"sha": "{{trigger.sha}}"},
    }
    made = dy.create_trigger("on-push", job=job, git={"branches": ["main"]}, cooldown_s=5)
    assert made.secret and made.hook_path == "/api/v1/hooks/triggers/on-push"
    assert [t.name for t in dy.list_triggers()] == ["on-push"]
    assert dy.get_trigger("on-push").git == made.git
    missing = dy.fire_trigger("on-push", key="k")
    assert missing.status == "failed" and "no field 'sha'" in (missing.error or "")
    fired = dy.fire_trigger("on-push", key="k2", cause={"sha": "abc"})
    assert fired.status == "fired"  # a manual firing ignores the cooldown
    assert [f.cause_key for f in dy.trigger_history("on-push")] == ["manual:k2", "manual:k"]
    with pytest.raises(dy.InvalidArgument, match="exactly one of job, transform and pipeline"):
        dy.create_trigger("x", cron="@daily")
    with pytest.raises(dy.InvalidArgument) as caught:
        dy.create_trigger("bad name!", job=job, cron="@daily")
    assert caught.value.field == "name"
    dy.delete_trigger("on-push")
    with pytest.raises(dy.NotFound):
        dy.get_trigger("on-push")


def test_update_enable_disable(embedded: Path) -> None:
    job = {
        "algorithm": "xgboost",
        "hyperparameters": {"num_round": "2", "objective": "reg:squarederror"},
        "inputs": {"train": {"uri": str(embedded / "train.csv"), "content_type": "text/csv"}},
    }
    dy.create_trigger("nightly", job=job, cron="0 3 * * *")
    off = dy.update_trigger("nightly", enabled=False)
    assert off.enabled is False and dy.get_trigger("nightly").enabled is False
    with pytest.raises(dy.Conflict, match="disabled"):
        dy.fire_trigger("nightly")
    changed = dy.update_trigger(
        "nightly", enabled=True, cooldown_s=60, schedule={"rate": "rate(2 hours)"}
    )
    assert changed.enabled and changed.cooldown_s == 60
    assert changed.schedule is not None and changed.schedule.rate == "rate(2 hours)"
    with pytest.raises(dy.InvalidArgument) as caught:
        dy.update_trigger("nightly", git={"branches": ["main"]})
    assert caught.value.field == "git"
    with pytest.raises(dy.InvalidArgument, match="at least one"):
        dy.update_trigger("nightly")
