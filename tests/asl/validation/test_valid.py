"""Real-world pipelines produce no problem at all, errors or warnings."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dockyard.asl import parse_definition, validate
from tests.asl.validation.definitions import VALID


@pytest.mark.parametrize("definition", VALID.values(), ids=list(VALID))
def test_valid_definitions_have_no_problems(definition: dict[str, Any]) -> None:
    assert validate(definition) == []
    assert validate(parse_definition(json.dumps(definition, indent=2))) == []
