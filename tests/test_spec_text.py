"""Spec text that is not YAML is one line naming where and what, for the CLI's one-line errors."""

from __future__ import annotations

import pytest

from dockyard.errors import InvalidArgument
from dockyard.spec_text import parse_spec


@pytest.mark.parametrize("text", [": : :", "model_uri: [unclosed", "a: 1\n b: 2\n"])
def test_a_yaml_error_is_one_line_with_its_place(text: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        parse_spec(text, "spec.yaml")
    message = refused.value.message
    assert "\n" not in message
    assert message.startswith("spec.yaml: not valid YAML at line ")
    assert refused.value.details["line"] >= 1
