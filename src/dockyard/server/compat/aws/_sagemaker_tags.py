"""ListTags: the tags a request gave a training or transform job, a tuning job, a model or a
model package group, found by its ARN (``Estimator.attach`` reads a training job's).

Tags Dockyard keeps for itself (``sagemaker:*``, ``dockyard.*``, ``mlflow.*``) are left out;
another kind of resource answers no tags.
"""

from __future__ import annotations

from typing import Any

from dockyard.errors import NotFound
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.compat.aws._errors import AwsError
from dockyard.server.compat.aws._fields import optional, required
from dockyard.server.compat.aws._sagemaker_shapes import Body, page_token, tags_of

__all__ = ["ACTIONS"]

_RESERVED = ("sagemaker:", "dockyard.", "mlflow.")


def _tags(services: Services, actor: Actor, kind: str, name: str) -> dict[str, str]:
    if kind in ("training-job", "transform-job"):
        return dict(services.jobs.get(actor, name).spec.get("tags") or {})
    if kind == "hyper-parameter-tuning-job":
        return dict(services.tuning.get(actor, name).spec.get("tags") or {})
    if kind in ("model", "model-package-group"):
        return dict(services.registry.get_registered_model(actor, name).tags)
    return {}


def list_tags(services: Services, actor: Actor, body: Body) -> Body:
    resource = required(body, "ResourceArn")
    limit = optional(body, "MaxResults", int, 50)
    parts = resource.split(":", 5)
    if len(parts) != 6 or parts[:3] != ["arn", "aws", "sagemaker"] or "/" not in parts[5]:
        raise AwsError("ValidationException", f"ResourceArn {resource[:200]!r} is not an ARN")
    kind, _, name = parts[5].partition("/")
    try:
        found = _tags(services, actor, kind, name)
    except NotFound:
        raise AwsError(
            "ValidationException", f"Could not find resource {resource[:200]!r}"
        ) from None
    own = {k: v for k, v in found.items() if not k.startswith(_RESERVED)}
    offset = page_token(body.get("NextToken"))
    listed = tags_of(own)
    answer: Body = {"Tags": listed[offset : offset + limit]}
    if offset + limit < len(listed):
        answer["NextToken"] = str(offset + limit)
    return answer


ACTIONS: dict[str, Any] = {"ListTags": list_tags}
