"""What a model with SageMaker inference handlers cannot take in a transform job: the rule the
server checks at submit (when it knows the package's flavor) and the batch worker again when it
loads the package."""

from __future__ import annotations

from dockyard.errors import InvalidArgument

__all__ = ["refuse_for_handlers"]


def refuse_for_handlers(
    content_type: str, input_filter: str, output_filter: str, join: bool
) -> None:
    """Raise InvalidArgument for what a package with handlers cannot take: Parquet input,
    filters or a join (the server checks it at submit when it knows the package's flavor, the
    worker again when it loads the package)."""
    if content_type == "application/x-parquet":
        raise InvalidArgument(
            "a model with SageMaker inference handlers reads request bodies: give it text "
            "records (text/csv or application/jsonlines), not Parquet",
            field="input.content_type",
        )
    for value, field in (
        (input_filter, "data_processing.input_filter"),
        (output_filter, "data_processing.output_filter"),
    ):
        if value not in ("", "$"):
            raise InvalidArgument(
                f"{field} is not supported for a model with SageMaker inference handlers "
                "(only its handlers know its records' and answers' shape)",
                field=field,
            )
    if join:
        raise InvalidArgument(
            "join_source=Input is not supported for a model with SageMaker inference "
            "handlers (only its handlers know its answers' shape)",
            field="data_processing.join_source",
        )
