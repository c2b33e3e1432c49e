"""MLflow's scoring protocol: the JSON envelopes of ``POST /invocations``, and its side routes.

A JSON body is read the way ``mlflow models serve`` reads it, detected by its keys::

    {"dataframe_split": {"columns": [...], "data": [[...], ...]}}
    {"dataframe_records": [{...}, ...]}
    {"instances": ...} or {"inputs": ...}     rows, records, columns or tensors
    [...]                                      rows or records without an envelope (SageMaker)

each with an optional ``"params"`` object. Answers are ``{"predictions": ...}``, and error bodies
carry MLflow's ``error_code`` next to Dockyard's ``code``, so MLflow's clients read them too.
``GET /ping`` and ``GET /health`` answer 200 once the models are loaded; ``GET /version`` answers
the server's version, as MLflow's scoring server does.
"""

from __future__ import annotations

from typing import Any

from dockyard.runtime.serving._inputs import InputCodec, Item

__all__ = ["ERROR_CODES", "decode"]

#: HTTP status -> MLflow's ``error_code`` for the same failure.
ERROR_CODES: dict[int, str] = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    404: "RESOURCE_DOES_NOT_EXIST",
    405: "BAD_REQUEST",
    406: "BAD_REQUEST",
    413: "REQUEST_LIMIT_EXCEEDED",
    415: "BAD_REQUEST",
    500: "INTERNAL_ERROR",
    503: "TEMPORARILY_UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def decode(body: Any, codec: InputCodec) -> Item:
    """Turn a parsed JSON body into the variant's model input.

    Raises:
        InvalidArgument: The body breaks the envelope or the signature (the error names it).
    """
    item: Item | None = None
    if type(body) is dict:
        params = body.get("params")
        if (params is None or type(params) is dict) and len(body) <= 1 + (params is not None):
            item = _envelope(body, params, codec)  # one envelope: else the general path names it
    elif type(body) is list:
        item = codec.rows(body) or codec.records(body)
    return item if item is not None else codec.json(body)


def _envelope(
    body: dict[str, Any], params: dict[str, Any] | None, codec: InputCodec
) -> Item | None:
    split = body.get("dataframe_split")
    if split is not None:
        if type(split) is dict and split.get("columns") == codec.names:
            return codec.rows(split.get("data"), params)
        return None
    if "dataframe_records" in body:
        return codec.records(body["dataframe_records"], params)
    data = body.get("instances", body.get("inputs"))
    if type(data) is list:
        return codec.rows(data, params) or codec.records(data, params)
    return None
