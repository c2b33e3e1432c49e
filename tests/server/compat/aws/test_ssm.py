"""Parameter Store's API through boto3's own ``ssm`` client against a live server."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pydantic import SecretStr
from tests.server.compat.aws._clients import aws, code, tokens
from tests.server.pipelines._live import served

from dockyard.server._services import Services
from dockyard.server.compat.aws._ssm import HIDDEN
from dockyard.settings import Settings

KEY = base64.b64encode(bytes(range(32))).decode()


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    made = Services.from_settings(
        Settings(home=tmp_path / "home", data_roots=[str(tmp_path)], params_key=SecretStr(KEY))
    )
    with served(made) as found:
        yield found
    made.close()


@pytest.fixture
def ssm(url: str) -> Iterator[Any]:
    client = aws("ssm", url)
    yield client
    client.close()


def test_put_get_by_path_history_and_delete(ssm: Any) -> None:
    made = ssm.put_parameter(Name="/team/model/threshold", Value="0.5", Type="String")
    assert (made["Version"], made["Tier"]) == (1, "Standard")
    ssm.put_parameter(Name="/team/model/labels", Value="a,b", Type="StringList")
    ssm.put_parameter(Name="/team/db/password", Value="s3cret", Type="SecureString")
    ssm.put_parameter(Name="/team/model/threshold", Value="0.7", Overwrite=True)
    got = ssm.get_parameter(Name="/team/model/threshold")["Parameter"]
    assert (got["Value"], got["Version"], got["Type"]) == ("0.7", 2, "String")
    assert got["ARN"] == "arn:aws:ssm:us-east-1:000000000000:parameter/team/model/threshold"
    first = ssm.get_parameter(Name="/team/model/threshold:1")["Parameter"]
    assert (first["Value"], first["Selector"], first["Name"]) == (
        "0.5",
        ":1",
        "/team/model/threshold",
    )
    hidden = ssm.get_parameter(Name="/team/db/password")["Parameter"]
    assert hidden["Value"] == HIDDEN and hidden["Type"] == "SecureString"
    clear = ssm.get_parameter(Name="/team/db/password", WithDecryption=True)["Parameter"]
    assert clear["Value"] == "s3cret"

    many = ssm.get_parameters(Names=["/team/model/labels", "/nope"], WithDecryption=True)
    assert [p["Value"] for p in many["Parameters"]] == ["a,b"]
    assert many["InvalidParameters"] == ["/nope"]
    level = ssm.get_parameters_by_path(Path="/team/model")["Parameters"]
    assert [p["Name"] for p in level] == ["/team/model/labels", "/team/model/threshold"]
    assert ssm.get_parameters_by_path(Path="/team")["Parameters"] == []
    every = ssm.get_parameters_by_path(Path="/team", Recursive=True, WithDecryption=True)
    assert {p["Name"]: p["Value"] for p in every["Parameters"]}["/team/db/password"] == "s3cret"
    paged = ssm.get_parameters_by_path(Path="/team", Recursive=True, MaxResults=2)
    assert len(paged["Parameters"]) == 2 and paged["NextToken"]
    rest = ssm.get_parameters_by_path(
        Path="/team", Recursive=True, MaxResults=2, NextToken=paged["NextToken"]
    )
    assert [p["Name"] for p in rest["Parameters"]] == ["/team/model/threshold"]

    described = ssm.describe_parameters(
        ParameterFilters=[
            {"Key": "Path", "Option": "Recursive", "Values": ["/team"]},
            {"Key": "Type", "Values": ["SecureString"]},
        ]
    )["Parameters"]
    assert [(p["Name"], p["KeyId"]) for p in described] == [("/team/db/password", "alias/aws/ssm")]
    named = ssm.describe_parameters(
        ParameterFilters=[{"Key": "Name", "Option": "BeginsWith", "Values": ["/team/model/"]}],
        MaxResults=1,
    )
    assert [p["Name"] for p in named["Parameters"]] == ["/team/model/labels"]
    after = ssm.describe_parameters(
        ParameterFilters=[{"Key": "Name", "Option": "BeginsWith", "Values": ["/team/model/"]}],
        NextToken=named["NextToken"],
    )
    assert [p["Name"] for p in after["Parameters"]] == ["/team/model/threshold"]

    labelled = ssm.label_parameter_version(
        Name="/team/model/threshold", ParameterVersion=1, Labels=["prod", "awsy", "SSM-x", "9a"]
    )
    # As AWS: labels that break the rules (a reserved prefix, a leading digit) come back.
    assert labelled["InvalidLabels"] == ["awsy", "SSM-x", "9a"]
    assert labelled["ParameterVersion"] == 1
    assert ssm.get_parameter(Name="/team/model/threshold:prod")["Parameter"]["Value"] == "0.5"
    none_valid = ssm.label_parameter_version(Name="/team/model/threshold", Labels=["aws"])
    assert none_valid["InvalidLabels"] == ["aws"] and none_valid["ParameterVersion"] == 2
    history = ssm.get_parameter_history(Name="/team/model/threshold")["Parameters"]
    assert [(h["Version"], h["Value"], h["Labels"]) for h in history] == [
        (1, "0.5", ["prod"]),
        (2, "0.7", []),
    ]
    secret = ssm.get_parameter_history(Name="/team/db/password", WithDecryption=True)
    assert secret["Parameters"][0]["Value"] == "s3cret"

    ssm.delete_parameter(Name="/team/model/labels")
    gone = ssm.delete_parameters(Names=["/team/model/threshold", "/team/model/labels"])
    assert gone["DeletedParameters"] == ["/team/model/threshold"]
    assert gone["InvalidParameters"] == ["/team/model/labels"]


def test_a_bare_name_is_a_root_level_one(ssm: Any) -> None:
    ssm.put_parameter(Name="region", Value="eu", Type="String")
    assert ssm.get_parameter(Name="region")["Parameter"]["Name"] == "region"
    assert ssm.get_parameter(Name="/region")["Parameter"]["Value"] == "eu"
    # An overwrite without a Type keeps the parameter's type.
    ssm.put_parameter(Name="/list", Value="a,b", Type="StringList")
    ssm.put_parameter(Name="list", Value="c", Overwrite=True)
    assert ssm.get_parameter(Name="list")["Parameter"]["Type"] == "StringList"


@pytest.mark.parametrize(
    ("call", "kwargs", "expected", "field"),
    [
        ("get_parameter", {"Name": "/missing"}, "ParameterNotFound", ""),
        ("get_parameter", {"Name": "/x:9"}, "ParameterVersionNotFound", ""),
        ("put_parameter", {"Name": "/x", "Value": "2"}, "ParameterAlreadyExists", ""),
        ("put_parameter", {"Name": "/bad name", "Value": "1"}, "ValidationException", "Name"),
        ("put_parameter", {"Name": "/a//b", "Value": "1"}, "ValidationException", "Name"),
        ("put_parameter", {"Name": "/big", "Value": "x" * 5000}, "ValidationException", "Value"),
        (
            "put_parameter",
            {"Name": "/t", "Value": "1", "Type": "Number"},
            "UnsupportedParameterType",
            "Type",
        ),
        (
            "put_parameter",
            {"Name": "/p", "Value": "abc", "AllowedPattern": "[0-9]+"},
            "ParameterPatternMismatchException",
            "AllowedPattern",
        ),
        (
            "put_parameter",
            {"Name": "/d", "Value": "1", "DataType": "aws:ec2:image"},
            "ValidationException",
            "DataType",
        ),
        ("delete_parameter", {"Name": "/missing"}, "ParameterNotFound", ""),
        (
            "get_parameters_by_path",
            {"Path": "/x", "NextToken": "!!"},
            "InvalidNextToken",
            "NextToken",
        ),
        (
            "get_parameter_history",
            {"Name": "/x", "NextToken": "!!"},
            "InvalidNextToken",
            "NextToken",
        ),
        (
            "describe_parameters",
            {"ParameterFilters": [{"Key": "KeyId", "Values": ["k"]}]},
            "InvalidFilterKey",
            "ParameterFilters.0",
        ),
        ("describe_parameters", {"NextToken": "/nowhere"}, "InvalidNextToken", "NextToken"),
    ],
)
def test_bad_input_has_ssm_codes_naming_the_field(
    ssm: Any, call: str, kwargs: dict[str, Any], expected: str, field: str
) -> None:
    ssm.put_parameter(Name="/x", Value="1", Type="String")
    with pytest.raises(ClientError) as error:
        getattr(ssm, call)(**kwargs)
    assert code(error) == expected
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert field in str(error.value)


@pytest.mark.timeout(60)
def test_an_allowed_pattern_that_backtracks_for_ever_is_refused_by_name(ssm: Any) -> None:
    # (a|aa)+ against sixty a and a ! tries a Fibonacci number of ways: held the server for
    # days, and every other request with it.
    with pytest.raises(ClientError) as error:
        ssm.put_parameter(Name="/p", Value="a" * 60 + "!", AllowedPattern="(a|aa)+")
    assert code(error) == "ValidationException"
    assert "AllowedPattern took longer than 1 s to match the value" in str(error.value)
    ssm.put_parameter(Name="/p", Value="a" * 60, AllowedPattern="(a|aa)+")
    assert ssm.get_parameter(Name="/p")["Parameter"]["Value"] == "a" * 60


def test_signed_requests_carry_tokens_and_secrets_need_a_grant(url: str) -> None:
    signed = tokens(url)
    anonymous, ana, bob = (aws("ssm", url, t) for t in (None, signed["ana"], signed["bob"]))
    try:
        with pytest.raises(ClientError) as error:
            anonymous.get_parameter(Name="/x")
        assert code(error) == "UnrecognizedClientException"
        ana.put_parameter(Name="/ana/key", Value="hush", Type="SecureString")
        assert (
            ana.get_parameter(Name="/ana/key", WithDecryption=True)["Parameter"]["Value"] == "hush"
        )
        with pytest.raises(ClientError) as error:
            bob.get_parameter(Name="/ana/key", WithDecryption=True)
        assert code(error) == "AccessDeniedException"
        bob.put_parameter(Name="/bob/threshold", Value="1", Type="String")
        with pytest.raises(ClientError) as error:
            bob.delete_parameter(Name="/ana/key")
        assert code(error) == "AccessDeniedException"
    finally:
        for client in (anonymous, ana, bob):
            client.close()


def test_a_nul_character_is_a_validation_error_naming_its_field(ssm: Any) -> None:
    with pytest.raises(ClientError) as raised:
        ssm.put_parameter(Name="/nul/x", Value="a\x00b", Type="String")
    assert code(raised) == "ValidationError"
    assert "'Value'" in str(raised.value) and "NUL" in str(raised.value)
    with pytest.raises(ClientError) as raised:
        ssm.get_parameter(Name="/nul/x")
    assert code(raised) == "ParameterNotFound"
