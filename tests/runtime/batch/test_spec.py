"""The transform spec: one model for YAML, JSON bodies and keyword arguments; errors name fields."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from dockyard.api.batch import TransformSpec, parse_spec
from dockyard.errors import InvalidArgument

BASE: dict[str, Any] = {
    "model_uri": "s3://models/churn/",
    "input": {"uri": "s3://data/test/"},
    "output": {"uri": "s3://data/out/"},
}


def _with(**changes: Any) -> dict[str, Any]:
    body = json.loads(json.dumps(BASE))
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        target = body
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = value
    return body


def test_defaults_follow_sagemaker() -> None:
    spec = parse_spec(BASE)
    assert spec.input.content_type == "text/csv"
    assert spec.input.split_type == "Line"
    assert spec.input.compression == "None"
    assert spec.batch_strategy == "MultiRecord"
    assert spec.max_payload_mb == 6
    assert spec.max_concurrent_transforms is None  # the runner uses the CPU count
    assert spec.output.assemble_with == "Line"
    assert spec.accept == "text/csv"
    assert spec.data_processing.input_filter == "$"
    assert spec.data_processing.join_source == "None"
    assert spec.bad_records.on_error == "fail"
    assert spec.bad_records.max_reported == 100


def test_yaml_json_and_keyword_arguments_give_the_same_spec() -> None:
    yaml_text = """
model_uri: s3://models/churn/
input: {uri: "s3://data/test/", content_type: application/jsonlines}
output: {uri: "s3://data/out/"}
data_processing: {input_filter: $.features, join_source: Input}
"""
    body = _with(input__content_type="application/jsonlines")
    body["data_processing"] = {"input_filter": "$.features", "join_source": "Input"}
    from_yaml = parse_spec(yaml_text)
    assert from_yaml == parse_spec(json.dumps(body)) == TransformSpec(**body)
    assert from_yaml.accept == "application/jsonlines"


def test_sagemaker_request_names_are_accepted() -> None:
    spec = parse_spec(
        {
            "ModelUri": "s3://models/churn/",
            "TransformInput": {
                "DataSource": {"S3DataSource": {"S3Uri": "s3://data/test/"}},
                "ContentType": "text/csv; charset=utf-8",
                "SplitType": "Line",
                "CompressionType": "Gzip",
            },
            "TransformOutput": {"S3OutputPath": "s3://data/out/", "AssembleWith": "Line"},
            "BatchStrategy": "SingleRecord",
            "MaxPayloadInMB": 1,
            "MaxConcurrentTransforms": 4,
            "DataProcessing": {"InputFilter": "$[1:]", "JoinSource": "Input"},
        }
    )
    assert spec.input.uri == "s3://data/test/"
    assert spec.input.content_type == "text/csv"
    assert spec.input.compression == "Gzip"
    assert (spec.batch_strategy, spec.max_payload_mb, spec.max_concurrent_transforms) == (
        "SingleRecord",
        1,
        4,
    )
    assert spec.data_processing.input_filter == "$[1:]"


def test_a_model_name_is_a_registered_model_and_a_path_a_package() -> None:
    source = {"uri": "s3://data/test/"}
    out = {"uri": "s3://data/out/"}
    spec = parse_spec({"ModelName": "trialclf", "TransformInput": source, "output": out})
    assert spec.model_uri == "models:/trialclf/latest"
    arn = "arn:aws:sagemaker:us-east-1:000000000000:model/trialclf"
    named = parse_spec({"ModelName": arn, "input": source, "output": out})
    assert named.model_uri == "models:/trialclf/latest"
    # A URI or a path keeps the meaning it had (the package), as specs and pipelines use it.
    for given in ("models:/trialclf/3", "./trialclf", "models/trialclf", "s3://models/churn/"):
        kept = parse_spec({"ModelName": given, "input": source, "output": out})
        assert kept.model_uri == given
    with pytest.raises(InvalidArgument) as refused:
        parse_spec({"ModelName": "a", "model_uri": "models:/a/1", "input": source, "output": out})
    assert refused.value.field == "ModelName"


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (_with(input__content_type="text/plain"), "input.content_type", "text/csv"),
        (_with(input__split_type="RecordIO"), "input.split_type", "Line"),
        (_with(max_payload_mb=101), "max_payload_mb", "100"),
        (_with(max_concurrent_transforms=0), "max_concurrent_transforms", "greater than"),
        (_with(batch_strategy="Many"), "batch_strategy", "MultiRecord"),
        (_with(output__assemble_with="Newline"), "output.assemble_with", "Line"),
        (
            _with(data_processing__input_filter="$[1:"),
            "data_processing.input_filter",
            "never closed",
        ),
        (
            _with(data_processing__output_filter="features"),
            "data_processing.output_filter",
            "starts with $",
        ),
        (_with(data_processing__join_source="Output"), "data_processing.join_source", "Input"),
        (_with(bad_records__on_error="ignore"), "bad_records.on_error", "fail"),
        (_with(shard_bytes=0), "shard_bytes", "greater than"),
        (_with(input__uri=""), "input.uri", "at least 1"),
        (_with(colour="blue"), "colour", "Extra inputs"),
        (_with(input__speed=3), "input.speed", "Extra inputs"),
        ({"input": {"uri": "x"}, "output": {"uri": "y"}}, "model_uri", "Field required"),
        (
            _with(data_processing__input_filter="$.features"),
            "data_processing.input_filter",
            "CSV records have no field names",
        ),
        (
            _with(output__accept="application/jsonlines", data_processing__join_source="Input"),
            "output.accept",
            "joining outputs to inputs needs accept equal to the content type",
        ),
        (
            _with(data_processing__output_filter="$['id','SageMakerOutput']"),
            "data_processing.output_filter",
            "CSV output has no field names",
        ),
        (
            _with(input__content_type="application/x-parquet", input__compression="Gzip"),
            "input.compression",
            "compression must be None",
        ),
        (
            _with(
                input__content_type="application/x-parquet", data_processing__input_filter="$.a.b"
            ),
            "data_processing.input_filter",
            "Parquet input filters select columns",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) and "." not in value[:1] else None,
)
def test_errors_name_the_field(body: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        parse_spec(body)
    assert raised.value.field == field
    assert words in raised.value.message
    assert raised.value.message.startswith(f"invalid transform spec: {field}: ")


def test_every_problem_is_listed() -> None:
    with pytest.raises(InvalidArgument) as raised:
        parse_spec(_with(max_payload_mb=-1, batch_strategy="x"))
    fields = [e["field"] for e in raised.value.details["errors"]]
    assert fields == ["batch_strategy", "max_payload_mb"]


def test_keyword_arguments_raise_pydantic_errors_with_locations() -> None:
    with pytest.raises(ValidationError) as raised:
        TransformSpec(**_with(max_payload_mb="six"))
    assert raised.value.errors()[0]["loc"] == ("max_payload_mb",)


def test_not_a_mapping_or_not_yaml() -> None:
    with pytest.raises(InvalidArgument, match="must be a mapping"):
        parse_spec("- a list")
    with pytest.raises(InvalidArgument, match="not valid YAML"):
        parse_spec("model_uri: [unclosed")


def test_spec_is_frozen() -> None:
    spec = parse_spec(BASE)
    with pytest.raises(ValidationError):
        spec.max_payload_mb = 3  # type: ignore[misc]


def test_parquet_accept_defaults_to_json_lines_and_allows_csv_joins() -> None:
    spec = parse_spec(
        _with(
            input__content_type="application/x-parquet",
            output__accept="text/csv",
            data_processing__join_source="Input",
            data_processing__input_filter="$['a','b']",
        )
    )
    assert spec.accept == "text/csv"
    assert parse_spec(_with(input__content_type="application/x-parquet")).accept == (
        "application/jsonlines"
    )
