"""``Logs_20140328.*``: CloudWatch Logs' reading API over Dockyard's job logs.

The groups are the ones SageMaker writes::

    /aws/sagemaker/TrainingJobs          one stream per training job:  <job>/algo-1-<created s>
    /aws/sagemaker/TransformJobs         one stream per transform job: the same
    /aws/sagemaker/Endpoints/<endpoint>  one group per endpoint, with no streams: endpoint
                                         workers' output stays in their folder on the server

A SageMaker job name is the Dockyard job's name, so ``<job>/`` finds its one stream. An event is
a line of the job's log. Dockyard keeps no time per line, so every event of a stream carries
the job's start time (its creation time before it starts): what the SageMaker SDK needs, which
re-reads from the last timestamp it saw and skips the events it printed. Tokens are offsets in
the log: ``f/<byte>`` reads on from there, ``b/<byte>`` reads the lines before it, and a
forward token with nothing new after it comes back unchanged, which is how a reader tails a
log that is still growing. A partial last line is held back until its newline arrives or the
job ends.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dockyard.api.jobs import Job
from dockyard.errors import InvalidArgument, NotFound, PermissionDenied
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.compat.aws._arn import arn
from dockyard.server.compat.aws._codes import translated
from dockyard.server.compat.aws._errors import AwsError
from dockyard.server.compat.aws._fields import optional, required

__all__ = ["ACTIONS", "CONTENT_TYPE", "stream_name"]

CONTENT_TYPE = "application/x-amz-json-1.1"
TRAINING = "/aws/sagemaker/TrainingJobs"
TRANSFORM = "/aws/sagemaker/TransformJobs"
ENDPOINTS = "/aws/sagemaker/Endpoints/"
_KINDS = {TRAINING: "training", TRANSFORM: "transform"}
#: Most bytes of log one GetLogEvents answer holds (CloudWatch's own limit: 1 MB).
PAGE_BYTES = 1 << 20
MAX_EVENTS = 10_000
#: Most bytes one FilterLogEvents call searches; it answers a nextToken to go on.
SCAN_BYTES = 4 << 20
#: Most jobs a listing of a group's streams looks through.
MAX_STREAMS = 10_000
_LIST_PAGE = 500
_TOKEN = re.compile(r"([fb])/([0-9]{1,18})")
_ARN = arn("logs", "log-group:")
Body = dict[str, Any]


@dataclass(frozen=True)
class _Line:
    offset: int
    end: int
    message: str


def stream_name(job: Job) -> str:
    """The one stream of ``job``'s log, named as SageMaker names an instance's stream."""
    return f"{job.name}/algo-1-{job.created_time // 1000}"


def _time(job: Job) -> int:
    return job.start_time or job.created_time


def _missing_group(name: str) -> AwsError:
    return AwsError(
        "ResourceNotFoundException",
        f"The specified log group does not exist: {name} (this server has {TRAINING}, "
        f"{TRANSFORM} and {ENDPOINTS}<endpoint name>)",
    )


def _group(services: Services, actor: Actor, body: Body) -> str:
    """The log group asked for (``logGroupName`` or ``logGroupIdentifier``, a name or ARN)."""
    name = optional(body, "logGroupName") or optional(body, "logGroupIdentifier")
    if name is None:
        raise InvalidArgument("logGroupName must be given", field="logGroupName")
    if name.startswith(_ARN):
        name = name.removeprefix(_ARN).removesuffix(":*")
    if name in _KINDS:
        return str(name)
    endpoint = name.removeprefix(ENDPOINTS) if name.startswith(ENDPOINTS) else ""
    if not endpoint:
        raise _missing_group(name)
    try:
        services.endpoints.get(actor, endpoint)
    except NotFound:
        raise _missing_group(name) from None
    return str(name)


def _job_of(services: Services, actor: Actor, group: str, stream: str) -> Job:
    missing = AwsError(
        "ResourceNotFoundException", f"The specified log stream does not exist: {stream} in {group}"
    )
    kind = _KINDS.get(group)
    job_name = stream.split("/", 1)[0]
    if kind is None or not job_name:
        raise missing
    try:
        job = services.jobs.get(actor, job_name)
    except NotFound:
        raise missing from None
    if job.kind != kind or stream_name(job) != stream:
        raise missing
    return job


def _limit(body: Body, name: str, top: int, default: int) -> int:
    value = optional(body, name, int, default)
    if isinstance(value, bool) or not 1 <= value <= top:
        raise InvalidArgument(f"{name} is 1 to {top} (got {value})", field=name)
    return int(value)


def _times(body: Body, job: Job) -> bool:
    """Whether the job's events fall in ``startTime`` (inclusive) to ``endTime`` (exclusive)."""
    start = optional(body, "startTime", int)
    end = optional(body, "endTime", int)
    at = _time(job)
    return (start is None or at >= start) and (end is None or at < end)


def _lines(data: bytes, base: int, *, whole: bool) -> list[_Line]:
    """The lines of ``data`` (log bytes from ``base``); a last one without its newline only
    when ``whole``."""
    lines, at = [], 0
    while at < len(data):
        cut = data.find(b"\n", at)
        if cut < 0 and not whole:
            break
        end = len(data) if cut < 0 else cut + 1
        text = data[at:end].removesuffix(b"\n").removesuffix(b"\r")
        lines.append(_Line(base + at, base + end, text.decode("utf-8", "replace")))
        at = end
    return lines


def _forward(services: Services, actor: Actor, job: Job, offset: int, limit: int) -> list[_Line]:
    data, _, ended = services.jobs.read_log(actor, job.name, offset, PAGE_BYTES)
    # A line longer than a page is an event of its own rather than never shown.
    whole = ended or (len(data) == PAGE_BYTES and b"\n" not in data)
    return _lines(data, offset, whole=whole)[:limit]


def _backward(
    services: Services, actor: Actor, job: Job, end: int, limit: int, *, tail: bool
) -> list[_Line]:
    start = max(0, end - PAGE_BYTES)
    data, _, ended = services.jobs.read_log(actor, job.name, start, end - start)
    base = start
    if start > 0 and b"\n" in data[:-1]:
        cut = data.index(b"\n") + 1  # the window's first line began before it
        data, base = data[cut:], start + cut
    return _lines(data, base, whole=ended or not tail)[-limit:]


def _event(job: Job, line: _Line) -> Body:
    return {"timestamp": _time(job), "message": line.message, "ingestionTime": _time(job)}


def get_log_events(services: Services, actor: Actor, body: Body) -> Body:
    group = _group(services, actor, body)
    job = _job_of(services, actor, group, required(body, "logStreamName"))
    limit = _limit(body, "limit", MAX_EVENTS, MAX_EVENTS)
    token = optional(body, "nextToken")
    tail = False
    if token is not None:
        found = _TOKEN.fullmatch(token)
        if found is None:
            raise InvalidArgument(
                f"The specified nextToken is invalid: {token[:80]!r}", field="nextToken"
            )
        direction, offset = found.group(1), int(found.group(2))
    elif optional(body, "startFromHead", bool, False):
        direction, offset = "f", 0
    else:  # CloudWatch's default: the newest events
        job, offset = services.jobs.log_size(actor, job.name)
        direction, tail = "b", True
    lines: list[_Line] = []
    if _times(body, job):
        if direction == "f":
            lines = _forward(services, actor, job, offset, limit)
        elif offset:
            lines = _backward(services, actor, job, offset, limit, tail=tail)
    forward = f"f/{lines[-1].end if lines else offset}"
    backward = f"b/{lines[0].offset if lines else offset}"
    if not lines and token is not None:  # nothing new: the same token back
        forward, backward = (token, backward) if direction == "f" else (forward, token)
    return {
        "events": [_event(job, line) for line in lines],
        "nextForwardToken": forward,
        "nextBackwardToken": backward,
    }


# -- streams and groups -------------------------------------------------------------------------


def _jobs(services: Services, actor: Actor, group: str, prefix: str) -> list[Job]:
    """The jobs whose streams are in ``group`` and start with ``prefix``."""
    kind = _KINDS.get(group)
    if kind is None:
        return []  # an endpoint's group: its workers' output is not kept as a log
    if "/" in prefix:  # <job>/...: the one job of that name
        try:
            job = services.jobs.get(actor, prefix.split("/", 1)[0])
        except (NotFound, PermissionDenied):
            return []
        return [job] if job.kind == kind and stream_name(job).startswith(prefix) else []
    found: list[Job] = []
    while len(found) < MAX_STREAMS:
        page = services.jobs.list(actor, kind=kind, limit=_LIST_PAGE, offset=len(found))
        found += page
        if len(page) < _LIST_PAGE:
            break
    return [job for job in found if stream_name(job).startswith(prefix)]


def _page_token(index: int) -> str:
    return base64.urlsafe_b64encode(f"at/{index}".encode()).decode()


def _page_from(body: Body) -> int:
    token = optional(body, "nextToken")
    if token is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        text = ""
    kind, _, index = text.partition("/")
    if kind != "at" or not index.isascii() or not index.isdigit():
        raise InvalidArgument(
            f"The specified nextToken is invalid: {token[:80]!r}", field="nextToken"
        )
    return int(index)


def _page(items: list[Any], body: Body, limit: int) -> tuple[list[Any], str | None]:
    start = _page_from(body)
    more = len(items) > start + limit
    return items[start : start + limit], _page_token(start + limit) if more else None


def describe_log_streams(services: Services, actor: Actor, body: Body) -> Body:
    group = _group(services, actor, body)
    prefix = optional(body, "logStreamNamePrefix", default="")
    order = optional(body, "orderBy", default="LogStreamName")
    if order not in ("LogStreamName", "LastEventTime"):
        raise InvalidArgument(
            f"orderBy is LogStreamName or LastEventTime (got {order!r})", field="orderBy"
        )
    if order == "LastEventTime" and prefix:
        raise InvalidArgument(
            "Cannot order by LastEventTime with a logStreamNamePrefix.", field="orderBy"
        )
    limit = _limit(body, "limit", 50, 50)
    jobs = _jobs(services, actor, group, prefix)
    by_name: Callable[[Job], Any] = stream_name
    jobs.sort(
        key=by_name if order == "LogStreamName" else lambda j: (_time(j), stream_name(j)),
        reverse=bool(optional(body, "descending", bool, False)),
    )
    shown, token = _page(jobs, body, limit)
    answer: Body = {"logStreams": [_stream(services, actor, group, job) for job in shown]}
    if token:
        answer["nextToken"] = token
    return answer


def _stream(services: Services, actor: Actor, group: str, job: Job) -> Body:
    job, size = services.jobs.log_size(actor, job.name)
    name = stream_name(job)
    found: Body = {
        "logStreamName": name,
        "creationTime": job.created_time,
        "arn": f"{_ARN}{group}:log-stream:{name}",
        "storedBytes": 0,
    }
    if size:
        at = _time(job)
        found.update(firstEventTimestamp=at, lastEventTimestamp=at, lastIngestionTime=at)
    return found


def describe_log_groups(services: Services, actor: Actor, body: Body) -> Body:
    prefix = optional(body, "logGroupNamePrefix", default="")
    pattern = optional(body, "logGroupNamePattern", default="")
    if prefix and pattern:
        raise InvalidArgument(
            "logGroupNamePrefix and logGroupNamePattern are mutually exclusive",
            field="logGroupNamePattern",
        )
    limit = _limit(body, "limit", 50, 50)
    groups = [(TRAINING, 0), (TRANSFORM, 0)] + [
        (ENDPOINTS + e.name, e.created_time) for e in services.endpoints.list(actor)
    ]
    chosen = sorted(
        (name, created)
        for name, created in groups
        if name.startswith(prefix) and pattern.lower() in name.lower()
    )
    shown, token = _page(chosen, body, limit)
    answer: Body = {
        "logGroups": [
            {
                "logGroupName": name,
                "creationTime": created,
                "metricFilterCount": 0,
                "arn": f"{_ARN}{name}:*",
                "logGroupArn": f"{_ARN}{name}",
                "storedBytes": 0,
                "logGroupClass": "STANDARD",
            }
            for name, created in shown
        ]
    }
    if token:
        answer["nextToken"] = token
    return answer


# -- filtering ----------------------------------------------------------------------------------

_TERM = re.compile(r'[?-]?"[^"]*"|\S+')


def matcher(pattern: str) -> Callable[[str], bool]:
    """CloudWatch's filter pattern for unstructured logs: every plain term (``ERROR``, or a
    quoted ``"exact phrase"``) must be in the message, at least one ``?term`` when there are
    any, and no ``-term``; case-sensitive, as CloudWatch's."""
    text = pattern.strip()
    if text[:1] in ("{", "["):
        raise InvalidArgument(
            "JSON ({ $.field = value }) and space-delimited ([a, b]) filter patterns are not "
            'supported here; use terms: ERROR, "an exact phrase", ?either ?or, -excluded',
            field="filterPattern",
        )
    every: list[str] = []
    some: list[str] = []
    none: list[str] = []
    for term in _TERM.findall(text):
        bucket = {"?": some, "-": none}.get(term[0]) if len(term) > 1 else None
        word = term[1:] if bucket is not None else term
        if len(word) >= 2 and word[0] == word[-1] == '"':
            word = word[1:-1]
        (every if bucket is None else bucket).append(word)

    def match(message: str) -> bool:
        return (
            all(w in message for w in every)
            and (not some or any(w in message for w in some))
            and not any(w in message for w in none)
        )

    return match


def _filter_token(body: Body) -> tuple[str, int] | None:
    token = optional(body, "nextToken")
    if token is None:
        return None
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        text = ""
    offset, _, stream = text.partition("@")
    if not stream or not offset.isascii() or not offset.isdigit():
        raise InvalidArgument(
            f"The specified nextToken is invalid: {token[:80]!r}", field="nextToken"
        )
    return stream, int(offset)


def filter_log_events(services: Services, actor: Actor, body: Body) -> Body:
    group = _group(services, actor, body)
    names = optional(body, "logStreamNames", list)
    prefix = optional(body, "logStreamNamePrefix", default="")
    if names and prefix:
        raise InvalidArgument(
            "logStreamNames and logStreamNamePrefix are mutually exclusive",
            field="logStreamNamePrefix",
        )
    if names:
        jobs = [_job_of(services, actor, group, str(name)) for name in names]
    else:
        jobs = _jobs(services, actor, group, prefix)
    jobs.sort(key=stream_name)
    match = matcher(optional(body, "filterPattern", default=""))
    limit = _limit(body, "limit", MAX_EVENTS, MAX_EVENTS)
    resume = _filter_token(body)
    events: list[Body] = []
    budget = SCAN_BYTES
    next_at: tuple[str, int] | None = None
    for job in jobs:
        name = stream_name(job)
        if resume is not None and name < resume[0]:
            continue
        offset = resume[1] if resume is not None and name == resume[0] else 0
        if not _times(body, job):
            continue
        while next_at is None:
            if len(events) >= limit or budget <= 0:
                next_at = (name, offset)
                break
            data, _, ended = services.jobs.read_log(
                actor, job.name, offset, min(PAGE_BYTES, budget)
            )
            whole = ended or (len(data) == PAGE_BYTES and b"\n" not in data)
            lines = _lines(data, offset, whole=whole)
            if not lines:
                break  # the end of this stream (or a line still being written)
            for line in lines:
                budget -= line.end - line.offset
                offset = line.end
                if match(line.message):
                    events.append(
                        {
                            "logStreamName": name,
                            "eventId": f"{job.created_time}{line.offset:018d}",
                            **_event(job, line),
                        }
                    )
                    if len(events) >= limit:
                        break
        if next_at is not None:
            break
    answer: Body = {
        "events": events,
        "searchedLogStreams": [
            {"logStreamName": stream_name(job), "searchedCompletely": next_at is None}
            for job in jobs
        ],
    }
    if next_at is not None:
        text = f"{next_at[1]}@{next_at[0]}"
        answer["nextToken"] = base64.urlsafe_b64encode(text.encode()).decode()
    return answer


ACTIONS = translated(
    {
        "DescribeLogGroups": describe_log_groups,
        "DescribeLogStreams": describe_log_streams,
        "GetLogEvents": get_log_events,
        "FilterLogEvents": filter_log_events,
    },
    {
        NotFound: "ResourceNotFoundException",
        InvalidArgument: "InvalidParameterException",
        PermissionDenied: "AccessDeniedException",
    },
    fields={"offset": "nextToken"},
)
