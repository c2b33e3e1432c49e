"""``AmazonSSM.*``: Parameter Store's API over :mod:`dockyard.server.params`.

Names: Dockyard's parameter names are SSM's hierarchical names (``/team/model/threshold``,
letters, digits and ``_ . -`` per level, at most 15 levels), so they pass through unchanged.
SSM's names without a leading ``/`` (``threshold``) are root-level names here (``/threshold``):
the two spellings name one parameter, and an answer about a parameter asked for by name spells
it as asked. Selectors are SSM's: ``name:3`` (a version), ``name:prod`` (a label).

Types: String, StringList (its comma-separated text) and SecureString (encrypted at rest with
the server's key; its clear value only ``WithDecryption`` and to who may decrypt it). Without
decryption a SecureString's ``Value`` is a placeholder, where SSM sends its ciphertext: neither
is the value. KMS key ids, tiers, policies and tags are accepted and not kept; a data type other
than ``text`` is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import regex  # type: ignore[import-untyped]

from dockyard.api.params import (
    LabelParameter,
    Parameter,
    ParameterType,
    PutParameter,
    check_label,
    check_path,
)
from dockyard.errors import (
    AlreadyExists,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Undecryptable,
)
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.compat.aws._arn import arn
from dockyard.server.compat.aws._codes import translated
from dockyard.server.compat.aws._errors import AwsError
from dockyard.server.compat.aws._fields import optional, required, seconds

__all__ = ["ACTIONS", "CONTENT_TYPE", "HIDDEN", "dockyard_name"]

CONTENT_TYPE = "application/x-amz-json-1.1"
#: A SecureString's ``Value`` when it was not asked for with decryption.
HIDDEN = "(SecureString: ask with WithDecryption=true)"
#: Most parameters DescribeParameters looks through.
MAX_DESCRIBED = 10_000
_SECURE = ParameterType.SECURE_STRING
Body = dict[str, Any]


def dockyard_name(name: str) -> str:
    """The Dockyard name (or selector) of SSM's ``name``: a bare name is a root-level one."""
    return name if name.startswith("/") else f"/{name}"


def _split(selector: str) -> tuple[str, str | None]:
    """SSM's ``name:3`` -> (``name``, ``:3``)."""
    name, colon, pick = selector.partition(":")
    return name, (colon + pick) if colon else None


def _parameter(found: Parameter, name: str | None = None, selector: str | None = None) -> Body:
    answer: Body = {
        "Name": name or found.name,
        "Type": found.type.value,
        "Value": found.value if found.value is not None else HIDDEN,
        "Version": found.version,
        "LastModifiedDate": seconds(found.modified_time),
        "ARN": arn("ssm", f"parameter{found.name}"),
        "DataType": "text",
    }
    if selector:
        answer["Selector"] = selector
    return answer


def _get(services: Services, actor: Actor, selector: str, decrypt: bool) -> Parameter:
    try:
        return services.params.get(actor, dockyard_name(selector), with_decryption=decrypt)
    except NotFound as exc:
        if "has no version" in exc.message:
            raise AwsError("ParameterVersionNotFound", exc.message) from None
        raise


def _decrypted(services: Services, actor: Actor, found: Parameter, decrypt: bool) -> Parameter:
    """A listed parameter, with its clear value when asked for and it is a SecureString."""
    if decrypt and found.type is _SECURE:
        return services.params.get(actor, f"{found.name}:{found.version}", with_decryption=True)
    return found


@contextmanager
def _tokens() -> Iterator[None]:
    """A page token this server did not give is SSM's InvalidNextToken."""
    try:
        yield
    except InvalidArgument as exc:
        if exc.field != "page_token":
            raise
        raise AwsError("InvalidNextToken", f"NextToken: {exc.message}") from None


def _names(body: Body) -> list[str]:
    names: list[str] = required(body, "Names", list)
    if not 1 <= len(names) <= 10 or not all(isinstance(n, str) for n in names):
        raise InvalidArgument("Names is 1 to 10 parameter names", field="Names")
    return names


def _page_size(body: Body, top: int, default: int) -> int:
    value = optional(body, "MaxResults", int, default)
    if isinstance(value, bool) or not 1 <= value <= top:
        raise InvalidArgument(f"MaxResults is 1 to {top} (got {value})", field="MaxResults")
    return int(value)


def get_parameter(services: Services, actor: Actor, body: Body) -> Body:
    selector = required(body, "Name")
    found = _get(services, actor, selector, bool(optional(body, "WithDecryption", bool, False)))
    name, pick = _split(selector)
    return {"Parameter": _parameter(found, name, pick)}


def get_parameters(services: Services, actor: Actor, body: Body) -> Body:
    decrypt = bool(optional(body, "WithDecryption", bool, False))
    found, invalid = [], []
    for selector in _names(body):
        try:
            parameter = _get(services, actor, selector, decrypt)
        except (NotFound, AwsError):
            invalid.append(selector)
            continue
        name, pick = _split(selector)
        found.append(_parameter(parameter, name, pick))
    return {"Parameters": found, "InvalidParameters": invalid}


def get_parameters_by_path(services: Services, actor: Actor, body: Body) -> Body:
    if optional(body, "ParameterFilters", list):
        raise InvalidArgument(
            "ParameterFilters are not supported by GetParametersByPath here; filter the "
            "answer, or use DescribeParameters",
            field="ParameterFilters",
        )
    decrypt = bool(optional(body, "WithDecryption", bool, False))
    with _tokens():
        found = services.params.get_by_path(
            actor,
            check_path(required(body, "Path"), field="Path"),
            recursive=bool(optional(body, "Recursive", bool, False)),
            max_results=_page_size(body, 10, 10),
            page_token=optional(body, "NextToken"),
        )
    answer: Body = {
        "Parameters": [
            _parameter(_decrypted(services, actor, p, decrypt)) for p in found.parameters
        ]
    }
    if found.next_page_token:
        answer["NextToken"] = found.next_page_token
    return answer


#: How long an AllowedPattern may take to match: matched by the ``regex`` module, which stops
#: then and lets other requests run meanwhile, where ``re`` would hold the interpreter for
#: as long as a pattern that backtracks catastrophically (``(a+)+``) takes.
_PATTERN_SECONDS = 1.0


def put_parameter(services: Services, actor: Actor, body: Body) -> Body:
    name = dockyard_name(required(body, "Name"))
    value = required(body, "Value")
    overwrite = bool(optional(body, "Overwrite", bool, False))
    data_type = optional(body, "DataType", default="text")
    if data_type != "text":
        raise InvalidArgument(
            f"DataType {data_type!r} is not supported here: only text", field="DataType"
        )
    pattern = optional(body, "AllowedPattern", str)
    if pattern is not None:
        try:
            allowed = (
                regex.fullmatch(pattern, value, concurrent=True, timeout=_PATTERN_SECONDS)
                is not None
            )
        except regex.error as exc:
            raise InvalidArgument(
                f"AllowedPattern is not a regex: {exc}", field="AllowedPattern"
            ) from None
        except TimeoutError:
            raise InvalidArgument(
                f"AllowedPattern took longer than {_PATTERN_SECONDS:g} s to match the value "
                "(it backtracks too much: simplify it)",
                field="AllowedPattern",
            ) from None
        if not allowed:
            raise AwsError(
                "ParameterPatternMismatchException",
                f"Parameter value failed to satisfy constraint: AllowedPattern {pattern}",
            )
    kind = optional(body, "Type")
    if kind is None:  # SSM keeps the type of a parameter it overwrites
        try:
            kind = services.params.get(actor, name).type.value if overwrite else "String"
        except NotFound:
            kind = "String"
    try:
        parameter_type = ParameterType(kind)
    except ValueError:
        raise AwsError(
            "UnsupportedParameterType",
            f"Type is String, StringList or SecureString (got {kind!r})",
        ) from None
    request = PutParameter(
        name=name,
        value=value,
        type=parameter_type,
        overwrite=overwrite,
        description=optional(body, "Description", default=""),
    )
    made = services.params.put(actor, request)
    return {"Version": made.version, "Tier": "Standard"}


def delete_parameter(services: Services, actor: Actor, body: Body) -> Body:
    services.params.delete(actor, dockyard_name(required(body, "Name")))
    return {}


def delete_parameters(services: Services, actor: Actor, body: Body) -> Body:
    deleted, invalid = [], []
    for name in _names(body):
        try:
            services.params.delete(actor, dockyard_name(name))
        except NotFound:
            invalid.append(name)
        else:
            deleted.append(name)
    return {"DeletedParameters": deleted, "InvalidParameters": invalid}


def _described(found: Parameter) -> Body:
    answer: Body = {
        "Name": found.name,
        "ARN": arn("ssm", f"parameter{found.name}"),
        "Type": found.type.value,
        "LastModifiedDate": seconds(found.modified_time),
        "LastModifiedUser": found.modified_by,
        "Version": found.version,
        "Tier": "Standard",
        "Policies": [],
        "DataType": "text",
    }
    if found.description:
        answer["Description"] = found.description
    if found.type is _SECURE:
        answer["KeyId"] = "alias/aws/ssm"
    return answer


def _filters(body: Body) -> tuple[str, bool, list[tuple[str, str, list[str]]]]:
    """DescribeParameters' filters: the path to list, recursively or not, and the rest."""
    path, recursive, rest = "/", True, []
    given = [("ParameterFilters", f) for f in optional(body, "ParameterFilters", list, [])]
    given += [("Filters", f) for f in optional(body, "Filters", list, [])]
    for index, (where, item) in enumerate(given):
        field = f"{where}.{index}"
        if not isinstance(item, dict):
            raise InvalidArgument("a filter is an object with Key and Values", field=field)
        key, option = item.get("Key"), item.get("Option", "Equals")
        values = item.get("Values") or []
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise InvalidArgument("Values is a list of strings", field=f"{field}.Values")
        if key == "Path":
            if option not in ("OneLevel", "Recursive") or len(values) != 1:
                raise InvalidArgument(
                    "a Path filter has one value and Option OneLevel or Recursive",
                    field=f"{field}.Option",
                )
            path, recursive = check_path(values[0], field=f"{field}.Values"), option == "Recursive"
        elif key in ("Name", "Type"):
            if option not in ("Equals", "BeginsWith", "Contains"):
                raise InvalidArgument(
                    "Option is Equals, BeginsWith or Contains", field=f"{field}.Option"
                )
            rest.append((key, option, values))
        else:
            raise AwsError(
                "InvalidFilterKey",
                f"{field}.Key: filters on Name, Type and Path are supported here (got {key!r})",
            )
    return path, recursive, rest


_OPTIONS: dict[str, Callable[[str, str], bool]] = {
    "Equals": str.__eq__,
    "BeginsWith": str.startswith,
    "Contains": str.__contains__,
}


def _kept(found: Parameter, rest: list[tuple[str, str, list[str]]]) -> bool:
    for key, option, given in rest:
        have = found.name if key == "Name" else found.type.value
        by_name = key == "Name" and option != "Contains"
        values = [dockyard_name(v) for v in given] if by_name else given
        if not any(_OPTIONS[option](have, v) for v in values):
            return False
    return True


def describe_parameters(services: Services, actor: Actor, body: Body) -> Body:
    path, recursive, rest = _filters(body)
    limit = _page_size(body, 50, 10)
    after = optional(body, "NextToken")
    chosen: list[Parameter] = []
    token: str | None = None
    while len(chosen) < MAX_DESCRIBED:
        page = services.params.get_by_path(
            actor, path, recursive=recursive, max_results=50, page_token=token
        )
        chosen += [p for p in page.parameters if _kept(p, rest)]
        token = page.next_page_token
        if token is None:
            break
    if after is not None:
        names = [p.name for p in chosen]
        if after not in names:
            raise AwsError("InvalidNextToken", f"NextToken {after[:80]!r} is not one given")
        chosen = chosen[names.index(after) :]
    answer: Body = {"Parameters": [_described(p) for p in chosen[:limit]]}
    if len(chosen) > limit:
        answer["NextToken"] = chosen[limit].name
    return answer


def get_parameter_history(services: Services, actor: Actor, body: Body) -> Body:
    name = required(body, "Name")
    decrypt = bool(optional(body, "WithDecryption", bool, False))
    with _tokens():
        found = services.params.history(
            actor,
            dockyard_name(name),
            max_results=_page_size(body, 50, 50),
            page_token=optional(body, "NextToken"),
        )
    versions = []
    for version in found.parameters:
        shown = _decrypted(services, actor, version, decrypt)
        entry = {
            **_described(version),
            "Name": name,
            "Value": shown.value if shown.value is not None else HIDDEN,
            "Labels": version.labels,
        }
        entry.pop("ARN")
        versions.append(entry)
    answer: Body = {"Parameters": versions}
    if found.next_page_token:
        answer["NextToken"] = found.next_page_token
    return answer


def label_parameter_version(services: Services, actor: Actor, body: Body) -> Body:
    """As AWS: labels that break the rules come back in ``InvalidLabels``; the rest are put."""
    labels = required(body, "Labels", list)
    name = dockyard_name(required(body, "Name"))
    version = optional(body, "ParameterVersion", int)
    valid, invalid = [], []
    for label in labels:
        try:
            valid.append(check_label(label))
        except InvalidArgument:
            invalid.append(label)
    if not valid:
        found = services.params.get(actor, name if version is None else f"{name}:{version}")
        return {"InvalidLabels": invalid, "ParameterVersion": found.version}
    request = LabelParameter(name=name, version=version, labels=valid)
    made = services.params.label(actor, request)
    return {"InvalidLabels": invalid, "ParameterVersion": made.version}


ACTIONS = translated(
    {
        "GetParameter": get_parameter,
        "GetParameters": get_parameters,
        "GetParametersByPath": get_parameters_by_path,
        "PutParameter": put_parameter,
        "DeleteParameter": delete_parameter,
        "DeleteParameters": delete_parameters,
        "DescribeParameters": describe_parameters,
        "GetParameterHistory": get_parameter_history,
        "LabelParameterVersion": label_parameter_version,
    },
    {
        Undecryptable: "InvalidKeyId",
        AlreadyExists: "ParameterAlreadyExists",
        NotFound: "ParameterNotFound",
        PermissionDenied: "AccessDeniedException",
        InvalidArgument: "ValidationException",
    },
    fields={
        "name": "Name",
        "value": "Value",
        "path": "Path",
        "version": "ParameterVersion",
        "labels": "Labels",
        "page_token": "NextToken",
        "max_results": "MaxResults",
        "description": "Description",
    },
)
