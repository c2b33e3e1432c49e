"""What a model with SageMaker inference handlers cannot take in a transform job: the rule the
server checks at submit (when it knows the package's flavor) and the batch worker again when it
loads the package."""

from __future__ import annotations

from dockyard.errors import InvalidArgument

__all__ = ["refuse_for_handlers"]


def refuse_for_handlers(
    content_type: str, input_filter: str, output_filter: str, join: bool
) -> None:
    """Raise InvalidArgument for what a package with handlers cannot take: Parquet input, and
    filters or a join on input other than CSV (the server checks it at submit when it knows the
    package's flavor, the worker again when it loads the package)."""
    if content_type == "application/x-parquet":
        raise InvalidArgument(
            "a model with SageMaker inference handlers reads request bodies: give it text "
            "records (text/csv or application/jsonlines), not Parquet",
            field="input.content_type",
        )
    if content_type == "text/csv":
        return  # filters pick CSV fields, and a join pairs each record with its answer's line
    for value, field in (
        (input_filter, "data_processing.input_filter"),
        (output_filter, "data_processing.output_filter"),
    ):
        if value not in ("", "$"):
            raise InvalidArgument(
                f"{field} is supported for a model with SageMaker inference handlers on "
                f"text/csv input only, not {content_type} (only its handlers know the shape "
                "of other records and answers)",
                field=field,
            )
    if join:
        raise InvalidArgument(
            "join_source=Input is supported for a model with SageMaker inference handlers "
            f"on text/csv input only, not {content_type} (only its handlers know the shape of "
            "other answers)",
            field="data_processing.join_source",
        )
