"""AWS-shaped error answers: a bug's text stays in the server's log, never in the answer."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from pydantic import ValidationError

from dockyard.server import create_app
from dockyard.server._inprocess import InProcessTransport
from dockyard.server.compat.aws import _query
from dockyard.server.compat.aws._errors import aws_error
from dockyard.settings import Settings

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


def test_a_body_nested_too_deep_is_refused_not_a_500(tmp_path: Path) -> None:
    from dockyard.limits import LIMITS

    app = create_app(Settings(home=tmp_path, allowed_hosts=["dy.test"]))
    transport = InProcessTransport(app, local=False)
    with httpx.Client(transport=transport, base_url="http://dy.test") as http:
        made = http.post("/api/v1/registered-models", json={"name": "m"})
        assert made.status_code == 201, made.text
        capture: dict[str, Any] = {"EnableCapture": True}
        for _ in range(300):  # kept in the config's JSON, which orjson writes 254 levels deep
            capture = {"a": capture}
        body = {
            "EndpointConfigName": "deep",
            "ProductionVariants": [{"VariantName": "a", "ModelName": "m"}],
            "DataCaptureConfig": capture,
        }
        answer = http.post(
            "/",
            content=json.dumps(body),  # orjson writes no value that deep
            headers={
                "X-Amz-Target": "SageMaker.CreateEndpointConfig",
                "Content-Type": "application/x-amz-json-1.1",
            },
        )
    transport.close()
    assert answer.status_code == 400, answer.text
    assert answer.json() == {
        "__type": "SerializationException",
        "message": f"the body nests deeper than {LIMITS.json_depth} levels",
    }


@pytest.mark.parametrize("token", ["²", "1²"])
def test_a_page_token_of_other_digits_is_refused(token: str) -> None:
    from dockyard.errors import InvalidArgument
    from dockyard.server.compat.aws._sagemaker_packages import _package_name
    from dockyard.server.compat.aws._sagemaker_shapes import page_token

    # str.isdigit() takes "²", which int() refuses: each was a 500.
    with pytest.raises(InvalidArgument):
        page_token(token)
    with pytest.raises(InvalidArgument):
        _package_name(f"group/{token}", "ModelPackageName")


def test_a_conflict_is_said_without_dockyards_field_name_in_front() -> None:
    """DeleteEndpoint of an endpoint a schedule watches: the request has no field ``name``, so
    the answer does not start with one; a bad input still names its field."""
    from dockyard.errors import InUse, InvalidArgument
    from dockyard.server.compat.aws._codes import translated
    from dockyard.server.compat.aws._errors import AwsError

    def watched() -> None:
        raise InUse("endpoint 'churn' is watched by monitoring schedule drift", field="name")

    def refused() -> None:
        raise InvalidArgument("must be at most 63 characters", field="EndpointName")

    actions = translated(
        {"DeleteEndpoint": watched, "CreateEndpoint": refused},
        {InvalidArgument: "ValidationException", InUse: "ResourceInUse"},
    )
    with pytest.raises(AwsError) as in_use:
        actions["DeleteEndpoint"]()
    assert (in_use.value.kind, in_use.value.message) == (
        "ResourceInUse",
        "endpoint 'churn' is watched by monitoring schedule drift",
    )
    with pytest.raises(AwsError) as invalid:
        actions["CreateEndpoint"]()
    assert invalid.value.message == "EndpointName: must be at most 63 characters"
