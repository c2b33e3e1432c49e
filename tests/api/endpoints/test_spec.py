"""An endpoint spec's rules name the field they refuse, as every spec error does."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from dockyard.api.endpoints import EndpointConfig, EndpointUpdate
from dockyard.errors import invalid_from_validation


def _variant(name: str) -> dict[str, Any]:
    return {"name": name, "model_uri": "models:/m/1", "weight": 1}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"variants": [_variant("a"), _variant("a")]}, "variants.1.name"),
        ({"variants": [_variant("a"), _variant("b"), _variant("b")]}, "variants.2.name"),
        (
            {"variants": [_variant("a")], "shadow": {"name": "a", "model_uri": "models:/m/2"}},
            "shadow.name",
        ),
    ],
)
def test_a_repeated_variant_name_names_where_it_repeats(body: dict[str, Any], field: str) -> None:
    repeated = body.get("shadow", {}).get("name") or body["variants"][-1]["name"]
    for model, given in ((EndpointConfig, {"name": "e", **body}), (EndpointUpdate, body)):
        with pytest.raises(ValidationError) as raised:
            model.model_validate(given)
        error = invalid_from_validation(raised.value.errors())
        assert error.field == field
        assert error.message == f"{field}: variant names must be unique; {repeated!r} repeats"
