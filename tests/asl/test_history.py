from __future__ import annotations

import pytest

from dockyard.asl.errors import StatesError
from dockyard.asl.history import MAX_PAYLOAD_BYTES, checked_text, resource_parts


@pytest.mark.parametrize(
    ("resource", "parts"),
    [
        (
            "arn:aws:states:::sagemaker:createTrainingJob.sync",
            ("sagemaker", "createTrainingJob.sync"),
        ),
        ("arn:aws:states:::lambda:invoke", ("lambda", "invoke")),
        ("arn:aws:states:::states:startExecution.sync:2", ("states", "startExecution.sync:2")),
        ("arn:aws:lambda:us-east-1:123456789012:function:score", ("lambda", "score")),
        ("dockyard:train.sync", ("dockyard", "train.sync")),
        ("score", ("function", "score")),
    ],
)
def test_resource_type_and_name_as_the_history_shows_them(
    resource: str, parts: tuple[str, str]
) -> None:
    assert resource_parts(resource) == parts


def test_payloads_are_compact_json_up_to_256_kib() -> None:
    assert checked_text({"a": [1, "é"]}, "S") == '{"a":[1,"é"]}'
    checked_text("x" * (MAX_PAYLOAD_BYTES - 2), "S")
    with pytest.raises(StatesError) as caught:
        checked_text("é" * (MAX_PAYLOAD_BYTES // 2), "S")
    assert caught.value.error == "States.DataLimitExceeded"
