"""Errors naming spec fields as each front end spells them."""

from __future__ import annotations

from dockyard.api.batch import SAGEMAKER_NAMES, respell, respelled
from dockyard.errors import InvalidArgument, PermissionDenied


def test_fields_and_the_paths_a_message_mentions_are_respelled() -> None:
    error = PermissionDenied(
        "output.uri: /srv/out is outside the allowed roots", field="output.uri"
    )
    renamed = respelled(error, SAGEMAKER_NAMES)
    assert type(renamed) is PermissionDenied
    assert renamed.field == "TransformOutput.S3OutputPath"
    assert renamed.message == "TransformOutput.S3OutputPath: /srv/out is outside the allowed roots"


def test_the_longest_known_prefix_is_renamed_and_prose_is_left_alone() -> None:
    error = InvalidArgument(
        "input /data is not a folder; set input.compression: Gzip (max_payload_mb)",
        field="data_processing.input_filter",
        details={"errors": [{"field": "input.content_type", "message": "bad input.uri"}]},
    )
    renamed = respelled(error, SAGEMAKER_NAMES)
    assert renamed.field == "DataProcessing.InputFilter"
    assert renamed.message == (
        "input /data is not a folder; set TransformInput.CompressionType: Gzip (MaxPayloadInMB)"
    )
    assert renamed.details["errors"] == [
        {
            "field": "TransformInput.ContentType",
            "message": "bad TransformInput.DataSource.S3DataSource.S3Uri",
        }
    ]


def test_file_names_that_look_like_fields_are_not_touched() -> None:
    assert respell("/srv/input.uri and s3://b/max_payload_mb", SAGEMAKER_NAMES) == (
        "/srv/input.uri and s3://b/max_payload_mb"
    )


def test_quoted_data_is_not_touched() -> None:
    reason = "bad record in a.csv line 3: column 'max_payload_mb': 'x' is not a number"
    assert respell(reason, SAGEMAKER_NAMES) == reason


def test_an_error_whose_constructor_takes_other_arguments_is_respelled() -> None:
    class Coded(InvalidArgument):
        def __init__(self, code: str, message: str) -> None:
            super().__init__(message, field="output.uri")
            self.aws_code = code

    renamed = respelled(Coded("ValidationException", "output.uri is empty"), SAGEMAKER_NAMES)
    assert type(renamed) is Coded and renamed.aws_code == "ValidationException"
    assert str(renamed) == "TransformOutput.S3OutputPath is empty"
    assert renamed.field == "TransformOutput.S3OutputPath"


def test_a_message_opening_with_a_plain_field_opens_with_its_new_name() -> None:
    error = InvalidArgument("name: String should have at most 63 characters", field="name")
    renamed = respelled(error, SAGEMAKER_NAMES)
    assert renamed.field == "TransformJobName"
    assert renamed.message == "TransformJobName: String should have at most 63 characters"
    prose = respelled(InvalidArgument("the name is taken", field="name"), SAGEMAKER_NAMES)
    assert prose.message == "the name is taken"
