"""Answers read into the API's models, whatever a newer server adds to them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["from_answer"]

M = TypeVar("M", bound="BaseModel")


def from_answer(model: type[M], data: Any) -> M:
    """``model`` read from a server's answer ``data``, fields this client does not know ignored.

    The API's models refuse unknown fields, as a request must be refused for a misspelt option;
    an answer is another matter. A server newer than this client may answer with more (a field
    added to a job, an execution, a pipeline's listing), and a client that refused those would
    break on every upgrade of the server before its own.
    """
    return model.model_validate(data, extra="ignore")
