"""What the SageMaker actions share: ARNs, AWS's "not found" errors, status names, tags, the
mapping of container images to what Dockyard runs, and pydantic errors renamed to AWS's fields.

SageMaker's SDK decides what exists by the error's words: ``_deployment_entity_exists`` looks
for ``ValidationException`` with "Could not find" (models, endpoint configs, endpoints), and
``_create_resource`` / ``create_model`` treat "Cannot create already existing" as "use the one
there". The messages below keep those words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn, TypeVar

from pydantic import ValidationError

from dockyard.errors import InvalidArgument, NotFound
from dockyard.server.compat.aws._arn import arn
from dockyard.server.compat.aws._errors import AwsError
from dockyard.server.compat.aws._fields import optional

__all__ = [
    "ALGORITHMS",
    "Body",
    "aws_fields",
    "builtin_algorithm",
    "drop_none",
    "exists",
    "framework",
    "job_status",
    "listed",
    "missing",
    "one_page",
    "page_token",
    "resource_name",
    "sagemaker_arn",
    "tag_list",
    "tags_of",
]

Body = dict[str, Any]
T = TypeVar("T")
#: Built-in algorithms Dockyard runs, by the name their images carry.
ALGORITHMS = {"xgboost": "xgboost", "linear-learner": "linear-learner"}
#: Framework images whose script mode Dockyard runs in its own Python environment.
FRAMEWORKS = ("scikit-learn", "xgboost", "pytorch", "tensorflow", "huggingface")
# <account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>:<tag>, or a bare repository name.
_IMAGE = re.compile(r"^(?:[^/]+/)?(?P<repo>[a-z0-9._/-]+?)(?::(?P<tag>[\w.-]+))?(?:@.*)?$")
_KIND_NAMES = {
    "training-job": "training job",
    "transform-job": "transform job",
    "model": "model",
    "endpoint-config": "endpoint configuration",
    "endpoint": "endpoint",
}


#: SageMaker's pattern for the names of models, endpoint configs, variants and jobs.
_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")


def resource_name(body: Mapping[str, Any], field: str, where: str | None = None) -> str:
    """The name ``body[field]`` gives a new resource, held to SageMaker's naming rule (what
    names an existing one is looked up as it is)."""
    value = body.get(field)
    path = f"{where}.{field}" if where else field
    if value is None:
        raise InvalidArgument(f"1 validation error detected: {path} must not be null", field=path)
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise InvalidArgument(
            f"{path}: {str(value)[:100]!r} must be 1 to 63 letters, digits and hyphens, "
            f"starting and ending with a letter or digit ({_NAME.pattern})",
            field=path,
        )
    return value


def sagemaker_arn(kind: str, name: str) -> str:
    return arn("sagemaker", f"{kind}/{name.lower()}")


def missing(kind: str, name: str) -> AwsError:
    """SageMaker's error for an unknown resource (the SDK matches "Could not find")."""
    return AwsError(
        "ValidationException",
        f'Could not find {_KIND_NAMES[kind]} "{sagemaker_arn(kind, name)}".',
    )


def exists(kind: str, name: str) -> AwsError:
    """SageMaker's error for a name in use (the SDK matches "Cannot create already existing")."""
    return AwsError(
        "ValidationException",
        f'Cannot create already existing {_KIND_NAMES[kind]} "{sagemaker_arn(kind, name)}".',
    )


def job_status(status: str) -> str:
    """A Dockyard job status as SageMaker names it: a queued job is InProgress there (the
    SDK's waits treat any other word as the end)."""
    return "InProgress" if status == "Pending" else status


def builtin_algorithm(image: str) -> str | None:
    """The built-in algorithm an image URI names, of any region, account and version
    (``.../sagemaker-xgboost:1.7-1``, ``.../xgboost:1``, ``.../linear-learner:1``), or None."""
    found = _IMAGE.match(image.strip().lower())
    if found is None:
        return None
    repository = found.group("repo").rsplit("/", 1)[-1].removeprefix("sagemaker-")
    return ALGORITHMS.get(repository)


def framework(image: str) -> str | None:
    """The framework an image URI names (``.../sagemaker-scikit-learn:1.2-1-cpu-py3``,
    ``.../pytorch-training:2.1-cpu-py310``), or None."""
    found = _IMAGE.match(image.strip().lower())
    if found is None:
        return None
    repository = found.group("repo").rsplit("/", 1)[-1].removeprefix("sagemaker-")
    return next((name for name in FRAMEWORKS if repository.startswith(name)), None)


def tag_list(value: Any, field: str = "Tags") -> dict[str, str]:
    """``[{"Key", "Value"}]`` as a dict, each entry checked."""
    if value is None:
        return {}
    if not isinstance(value, list):
        raise InvalidArgument(f"{field} must be a list of {{Key, Value}}", field=field)
    tags: dict[str, str] = {}
    for i, item in enumerate(value):
        if not isinstance(item, dict) or not isinstance(item.get("Key"), str):
            raise InvalidArgument(f"{field}[{i}] needs a Key (a string)", field=f"{field}[{i}]")
        tags[item["Key"]] = str(item.get("Value", ""))
    return tags


def tags_of(tags: Mapping[str, str]) -> list[Body]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def drop_none(body: Body) -> Body:
    return {k: v for k, v in body.items() if v is not None}


def page_token(token: Any) -> int:
    """The offset a ``NextToken`` this adapter gave stands for."""
    if token is None:
        return 0
    if not isinstance(token, str) or not (token.isascii() and token.isdigit()) or len(token) > 9:
        raise InvalidArgument("NextToken is not one this server gave", field="NextToken")
    return int(token)


#: The List* filters on times, each with the side of the bound it keeps.
_TIME_FILTERS = (
    ("CreationTimeAfter", "created", True),
    ("CreationTimeBefore", "created", False),
    ("LastModifiedTimeAfter", "modified", True),
    ("LastModifiedTimeBefore", "modified", False),
)


def _one_of(body: Body, field: str, choices: Sequence[str], default: str | None) -> str | None:
    value = body.get(field)
    if value is None:
        return default
    if value not in choices:
        raise InvalidArgument(
            f"{field}: {str(value)[:100]!r} is not one of {', '.join(choices)}", field=field
        )
    return str(value)


def _beyond(time: float, bound: float, after: bool) -> bool:
    return time > bound if after else time < bound


def listed(
    items: Sequence[T],
    body: Body,
    *,
    name: Callable[[T], str],
    status: Callable[[T], str],
    statuses: Sequence[str],
    created: Callable[[T], int],
    modified: Callable[[T], int],
) -> list[T]:
    """The items a List* request asks for, in its order: NameContains, StatusEquals (one of
    ``statuses``), CreationTime / LastModifiedTime After and Before (seconds; times in ms),
    SortBy Name, CreationTime or Status (not Status for a kind with no ``statuses``),
    SortOrder (newest first when neither is given, as SageMaker lists)."""
    contains = body.get("NameContains")
    if contains is not None and not isinstance(contains, str):
        raise InvalidArgument("NameContains must be a string", field="NameContains")
    wanted = _one_of(body, "StatusEquals", statuses, None)
    sorts = ("Name", "CreationTime", "Status") if statuses else ("Name", "CreationTime")
    sort = _one_of(body, "SortBy", sorts, "CreationTime")
    order = _one_of(body, "SortOrder", ("Ascending", "Descending"), "Descending")
    bounds: list[tuple[Callable[[T], int], float, bool]] = []
    for field, which, after in _TIME_FILTERS:
        bound = body.get(field)
        if bound is None:
            continue
        if isinstance(bound, bool) or not isinstance(bound, (int, float)):
            raise InvalidArgument(f"{field} must be a time (seconds since the epoch)", field=field)
        bounds.append((created if which == "created" else modified, float(bound), after))
    chosen = [
        item
        for item in items
        if (not contains or contains.lower() in name(item).lower())
        and (wanted is None or status(item) == wanted)
        and all(_beyond(time(item) / 1000, bound, after) for time, bound, after in bounds)
    ]
    keys: dict[str, Callable[[T], Any]] = {
        "Name": name,
        "CreationTime": lambda item: (created(item), name(item)),
        "Status": lambda item: (status(item), name(item)),
    }
    return sorted(chosen, key=keys[str(sort)], reverse=order == "Descending")


def one_page(
    body: Body,
    items: Sequence[T],
    key: str,
    shape: Callable[[T], Body],
    *,
    default: int = 100,
) -> Body:
    """The page of ``items`` a List* request's ``MaxResults`` (1-100, ``default`` when not
    given) and ``NextToken`` ask for, each made a summary by ``shape``, under ``key``; with
    the next page's token while more remain."""
    limit = optional(body, "MaxResults", int, default)
    if not 1 <= limit <= 100:
        raise InvalidArgument("MaxResults must be between 1 and 100", field="MaxResults")
    offset = page_token(body.get("NextToken"))
    answer: Body = {key: [shape(item) for item in items[offset : offset + limit]]}
    if offset + limit < len(items):
        answer["NextToken"] = str(offset + limit)
    return answer


def aws_fields(
    exc: Exception, names: Mapping[str, str], not_found: AwsError | None = None
) -> NoReturn:
    """Raise ``exc`` again with Dockyard's field names (``hyperparameters.eta``) as the
    request's (``HyperParameters.eta``); ``not_found`` replaces a NotFound."""
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        loc = [str(p) for p in first.get("loc", ())]
        field = _renamed(".".join(loc), names)
        message = str(first.get("msg")).removeprefix("Value error, ")
        # A validator that names the nested field at fault (``InputDataConfig[0].DataSource:
        # ...``) is taken at its word.
        named, sep, rest = message.partition(": ")
        if sep and field and named.startswith(field) and " " not in named:
            field, message = named, rest
        if not field:  # a rule of the whole request (a model validator's): no field to name
            raise InvalidArgument(message) from None
        raise InvalidArgument(f"{field}: {message}", field=field) from None
    if isinstance(exc, NotFound) and not_found is not None:
        raise not_found from None
    if isinstance(exc, InvalidArgument):
        field = _renamed(exc.field or "", names)
        message = exc.message
        if exc.field and not message.startswith(field):
            message = f"{field}: {message}"
        raise InvalidArgument(message, field=field or None) from None
    raise exc


def _renamed(field: str, names: Mapping[str, str]) -> str:
    head, dot, rest = field.partition(".")
    return f"{names.get(head, head)}{dot}{rest}"
