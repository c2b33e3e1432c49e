"""AWS-shaped error answers: a bug's text stays in the server's log, never in the answer."""

from __future__ import annotations

import logging

import orjson
import pytest
from pydantic import ValidationError

from dockyard.server.compat.aws import _query
from dockyard.server.compat.aws._errors import aws_error

LEAK = "/srv/dockyard/src/dockyard/server/pipelines/_service.py"


def test_a_bug_answers_a_request_id_not_its_exception(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="dockyard.server.compat.aws"):
        answer = aws_error(ImportError(f"cannot import name 'X' ({LEAK})"), "application/json")
    body = orjson.loads(answer.body)
    assert answer.status_code == 500 and body["__type"] == "InternalFailure"
    assert LEAK not in body["message"] and "ImportError" not in body["message"]
    request_id = body["message"].split("request id ")[1].split()[0]
    # the operator finds the exception under the id the caller quotes
    logged = [r for r in caplog.records if request_id in r.getMessage()]
    assert logged and logged[0].exc_info is not None and LEAK in str(logged[0].exc_info[1])


def test_a_bug_in_a_query_action_answers_a_request_id_not_its_exception() -> None:
    kind, message, status = _query._failure(KeyError(LEAK), None)
    assert (kind, status) == ("InternalError", 500)
    assert LEAK not in message and "request id" in message


def test_a_refused_field_is_named_without_the_validators_wording() -> None:
    from pydantic import BaseModel, field_validator

    class Topic(BaseModel):
        name: str

        @field_validator("name")
        @classmethod
        def _named(cls, value: str) -> str:
            raise ValueError(f"{value!r} is not a valid topic name")

    with pytest.raises(ValidationError) as refused:
        Topic(name="a b")
    kind, message, status = _query._failure(refused.value, None)
    assert (kind, status) == ("InvalidParameter", 400)
    assert message == "name: 'a b' is not a valid topic name"
