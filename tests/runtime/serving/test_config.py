from __future__ import annotations

from typing import Any

import pytest

from dockyard.api.serving.config import VariantConfig, WorkerConfig
from dockyard.errors import InvalidArgument


def body(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "endpoint": "churn",
        "variants": [
            {"name": "blue", "model_path": "/models/blue", "weight": 9},
            {"name": "green", "model_path": "/models/green", "weight": 1},
        ],
    }
    return {**base, **changes}


def test_defaults_follow_the_contract() -> None:
    config = WorkerConfig.parse(body())
    assert config.request_timeout_s == 60
    assert config.max_body_bytes == 6 * 1024 * 1024
    assert config.variants[0].batching.max_batch_size == 256
    assert config.variants[0].batching.max_wait_ms == 2
    assert config.variants[0].batching.enabled is None  # decided by the flavor
    assert [v.name for v in config.production] == ["blue", "green"]
    assert config.shadow is None


def test_json_round_trip_and_frozen() -> None:
    config = WorkerConfig.parse(body())
    assert WorkerConfig.parse(config.model_dump_json()) == config
    with pytest.raises(Exception, match="frozen"):
        config.port = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        (
            {"variants": [{"name": "a", "model_path": "/m", "wieght": 1}]},
            "variants.0.wieght",
            "Extra inputs",
        ),
        (
            {"variants": [{"name": "a", "model_path": "/m", "weight": -1}]},
            "variants.0.weight",
            "greater than or equal",
        ),
        (
            {"variants": [{"name": "a", "model_path": "/m"}, {"name": "a", "model_path": "/n"}]},
            "variants",
            "unique: a",
        ),
        (
            {
                "variants": [
                    {"name": "a", "model_path": "/m"},
                    {"name": "s1", "model_path": "/m", "shadow": True},
                    {"name": "s2", "model_path": "/m", "shadow": True},
                ]
            },
            "variants",
            "at most one shadow",
        ),
        (
            {"variants": [{"name": "a", "model_path": "/m", "weight": 0}]},
            "variants",
            "weight > 0",
        ),
        ({"capture": {"enabled": True}}, "capture", "destination is required"),
        ({"endpoint": "bad name"}, "endpoint", "pattern"),
        ({"request_timeout_s": 0}, "request_timeout_s", "greater than"),
    ],
    ids=[
        "typo",
        "negative-weight",
        "duplicate",
        "two-shadows",
        "no-weight",
        "capture",
        "name",
        "timeout",
    ],
)
def test_refusals_name_the_field(changes: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        WorkerConfig.parse(body(**changes))
    assert caught.value.field == field
    assert field in caught.value.message
    assert words in caught.value.message


def test_invalid_json_is_an_invalid_argument() -> None:
    with pytest.raises(InvalidArgument, match="invalid worker config"):
        WorkerConfig.parse(b"{not json")


def test_same_model_ignores_routing_settings_only() -> None:
    base = VariantConfig(name="a", model_path="/m")
    assert base.same_model(base.model_copy(update={"weight": 5, "shadow_sampling_pct": 3}))
    assert not base.same_model(base.model_copy(update={"model_path": "/other"}))
    assert not base.same_model(base.model_copy(update={"shadow": True}))
    assert not base.same_model(base.model_copy(update={"executor": "thread"}))
