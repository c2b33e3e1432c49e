"""How deep a JSON value nests, asked of orjson; a text too short to nest that deep is skipped."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.json_depth import nests_deeper


def _nested(levels: int) -> Any:
    value: Any = 0
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize("levels", [1, 128, 200, 254])
def test_the_limit_is_levels_and_the_shortest_text_that_passes_it_is_still_checked(
    levels: int,
) -> None:
    at, past = _nested(levels), _nested(levels + 1)
    assert not nests_deeper(at, levels)
    assert nests_deeper(past, levels)
    # Compact, the shallowest value past the limit is 2 * levels + 3 characters: checked.
    text = "[" * (levels + 1) + "0" + "]" * (levels + 1)
    assert nests_deeper(past, levels, size=len(text))
    assert not nests_deeper(past, levels, size=2 * levels)  # said short: not looked at


def test_an_integer_orjson_cannot_write_is_not_deemed_deep() -> None:
    assert not nests_deeper([2**70], 10)
    with pytest.raises(ValueError, match="between 1 and 254"):
        nests_deeper([], 255)
