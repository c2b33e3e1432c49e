"""A training job spec written with SageMaker's InputDataConfig reads prefixes only."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dockyard.api.jobs import TrainingJobSpec


def test_a_manifest_channel_in_a_spec_file_is_refused_naming_the_field() -> None:
    channel = {
        "ChannelName": "train",
        "DataSource": {"S3DataSource": {"S3DataType": "ManifestFile", "S3Uri": "s3://b/m"}},
    }
    with pytest.raises(ValidationError) as refused:
        TrainingJobSpec.model_validate(
            {"algorithm": "xgboost", "inputs": [channel], "hyperparameters": {"num_round": 2}}
        )
    assert "InputDataConfig[0].DataSource.S3DataSource.S3DataType" in str(refused.value)
    prefix = dict(
        channel, DataSource={"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/p"}}
    )
    spec = TrainingJobSpec.model_validate(
        {"algorithm": "xgboost", "inputs": [prefix], "hyperparameters": {"num_round": 2}}
    )
    assert spec.inputs["train"].uri == "s3://b/p"


@pytest.mark.parametrize(
    ("channel", "named"),
    [
        ({"ChannelName": "train", "DataSource": "s3://b/p"}, "InputDataConfig[0].DataSource"),
        (
            {"ChannelName": "train", "DataSource": {"S3DataSource": "s3://b/p"}},
            "InputDataConfig[0].DataSource.S3DataSource",
        ),
    ],
)
def test_a_data_source_that_is_not_an_object_is_named(
    channel: dict[str, object], named: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        TrainingJobSpec.model_validate(
            {"algorithm": "xgboost", "inputs": [channel], "hyperparameters": {"num_round": 2}}
        )
    assert f"{named}: give an object holding" in str(refused.value)


@pytest.mark.parametrize("name", [[], {}, None, 3])
def test_a_channel_name_that_is_not_a_string_is_named(name: object) -> None:
    # A list or object as ChannelName failed as a dictionary key: a 500, not a refusal.
    channel = {"ChannelName": name, "DataSource": {"S3DataSource": {"S3Uri": "/data/train"}}}
    with pytest.raises(ValidationError) as refused:
        TrainingJobSpec.model_validate(
            {"algorithm": "xgboost", "inputs": [channel], "hyperparameters": {"num_round": 2}}
        )
    assert "InputDataConfig[0].ChannelName must be a string" in str(refused.value)
