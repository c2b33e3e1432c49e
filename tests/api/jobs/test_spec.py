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
