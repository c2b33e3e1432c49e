"""``Logs_20140328.*``: CloudWatch Logs' reading API over Dockyard's job and endpoint logs.

The groups are the ones SageMaker writes::

    /aws/sagemaker/TrainingJobs          one stream per training job:  <job>/algo-1-<created s>
    /aws/sagemaker/TransformJobs         one stream per transform job: the same
    /aws/sagemaker/ProcessingJobs        one stream per monitoring job (a baselining job or a
                                         schedule's check, SageMaker's processing jobs): the same
    /aws/sagemaker/Endpoints/<endpoint>  one stream per worker whose log the endpoint keeps:
                                         AllTraffic/<worker id> (a worker serves every variant)

A SageMaker job name is the Dockyard job's name, so ``<job>/`` finds its one stream. An event is
a line of a log (:mod:`dockyard.server.compat.aws._logstreams` reads both kinds), dated by the
log's time marks: ``startTime`` and ``endTime`` select lines, and a read from ``startTime``
starts past the bytes written before it (which is how the SageMaker SDK polls: from the last
timestamp it saw, skipping the events it printed). Tokens are offsets in the log: ``f/<byte>``
reads on from there, ``b/<byte>`` reads the lines before it, and a forward token with nothing
new after it comes back unchanged, which is how a reader tails a log that is still growing. A
partial last line is held back until its newline arrives or the log ends.
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
from dockyard.server.compat.aws._logstreams import (
    JobStream,
    Stream,
    WorkerStream,
    job_stream_name,
)

__all__ = ["ACTIONS", "CONTENT_TYPE"]

CONTENT_TYPE = "application/x-amz-json-1.1"
TRAINING = "/aws/sagemaker/TrainingJobs"
TRANSFORM = "/aws/sagemaker/TransformJobs"
PROCESSING = "/aws/sagemaker/ProcessingJobs"
ENDPOINTS = "/aws/sagemaker/Endpoints/"
_KINDS = {TRAINING: "training", TRANSFORM: "transform", PROCESSING: "monitoring"}
#: Most bytes of log one GetLogEvents answer holds (CloudWatch's own limit: 1 MB).
PAGE_BYTES = 1 << 20
MAX_EVENTS = 10_000
#: Most bytes one FilterLogEvents call searches; it answers a nextToken to go on.
SCAN_BYTES = 4 << 20
#: Most jobs a listing of a group's streams looks through.
MAX_STREAMS = 10_000
#: How far back a read that starts at a time looks for the start of its first line.
_LINE_BACK = 64 << 10
_LIST_PAGE = 500
_TOKEN = re.compile(r"([fb])/([0-9]{1,18})")
_ARN = arn("logs", "log-group:")
Body = dict[str, Any]
Marks = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class _Line:
    offset: int
    end: int
    message: str


def _missing_group(name: str) -> AwsError:
    return AwsError(
        "ResourceNotFoundException",
        f"The specified log group does not exist: {name} (this server has {TRAINING}, "
        f"{TRANSFORM}, {PROCESSING} and {ENDPOINTS}<endpoint name>)",
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


def _worker_streams(services: Services, actor: Actor, group: str) -> list[Stream]:
    logs = services.endpoints.logs(actor, group.removeprefix(ENDPOINTS))
    return [WorkerStream(log, alive=logs.is_alive(log.worker_id)) for log in logs.logs()]


def _stream_of(services: Services, actor: Actor, group: str, name: str) -> Stream:
    missing = AwsError(
        "ResourceNotFoundException", f"The specified log stream does not exist: {name} in {group}"
    )
    kind = _KINDS.get(group)
    if kind is None:  # an endpoint's: AllTraffic/<worker id>
        found = [s for s in _worker_streams(services, actor, group) if s.name == name]
        if not found:
            raise missing
        return found[0]
    job_name = name.split("/", 1)[0]
    if not job_name:
        raise missing
    try:
        job = services.jobs.get(actor, job_name)
    except NotFound:
        raise missing from None
    if job.kind != kind or job_stream_name(job) != name:
        raise missing
    return JobStream(services, actor, job)


def _limit(body: Body, name: str, top: int, default: int) -> int:
    value = optional(body, name, int, default)
    if isinstance(value, bool) or not 1 <= value <= top:
        raise InvalidArgument(f"{name} is 1 to {top} (got {value})", field=name)
    return int(value)


def _time_range(body: Body) -> tuple[int | None, int | None]:
    """``startTime`` (inclusive) and ``endTime`` (exclusive), if given."""
    start = optional(body, "startTime", int)
    end = optional(body, "endTime", int)
    for name, value in (("startTime", start), ("endTime", end)):
        if isinstance(value, bool) or (value is not None and value < 0):
            raise InvalidArgument(f"{name} is a time in ms since 1970 (got {value})", field=name)
    return start, end


def _within(at: int, start: int | None, end: int | None) -> bool:
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


def _from_time(stream: Stream, offset: int, start: int | None) -> int:
    """Where a forward read from ``offset`` of events from ``start`` on begins: past the bytes
    written before ``start``, at the start of a line."""
    if start is None:
        return offset
    seek = stream.seek(start)
    if seek <= offset:
        return offset
    before = stream.read(max(offset, seek - _LINE_BACK), seek - max(offset, seek - _LINE_BACK))
    cut = before.data.rfind(b"\n")
    return before.offset + cut + 1 if cut >= 0 else seek


def _forward(stream: Stream, offset: int, limit: int) -> tuple[list[_Line], Marks, int]:
    """Lines from ``offset``, their marks, and where the read began (later than ``offset``
    when those bytes were dropped)."""
    piece = stream.read(offset, PAGE_BYTES)
    # A line longer than a page is an event of its own rather than never shown.
    whole = piece.ended or (len(piece.data) == PAGE_BYTES and b"\n" not in piece.data)
    return _lines(piece.data, piece.offset, whole=whole)[:limit], piece.marks, piece.offset


def _backward(stream: Stream, end: int, limit: int, *, tail: bool) -> tuple[list[_Line], Marks]:
    first, _ = stream.bounds()
    start = max(first, end - PAGE_BYTES)
    piece = stream.read(start, end - start)
    data, base = piece.data, piece.offset
    if base > first and b"\n" in data[:-1]:
        cut = data.index(b"\n") + 1  # the window's first line began before it
        data, base = data[cut:], base + cut
    return _lines(data, base, whole=piece.ended or not tail)[-limit:], piece.marks


def _event(stream: Stream, line: _Line, marks: Marks) -> Body:
    at = stream.time_of(line.end, marks)
    return {"timestamp": at, "message": line.message, "ingestionTime": at}


def get_log_events(services: Services, actor: Actor, body: Body) -> Body:
    group = _group(services, actor, body)
    stream = _stream_of(services, actor, group, required(body, "logStreamName"))
    limit = _limit(body, "limit", MAX_EVENTS, MAX_EVENTS)
    start, end = _time_range(body)
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
        direction, offset = "f", stream.bounds()[0]
    else:  # CloudWatch's default: the newest events
        direction, offset, tail = "b", stream.bounds()[1], True
    lines: list[_Line] = []
    marks: Marks = ()
    if direction == "f":
        offset = _from_time(stream, offset, start)
        lines, marks, offset = _forward(stream, offset, limit)
    elif offset:
        lines, marks = _backward(stream, offset, limit, tail=tail)
    forward = f"f/{lines[-1].end if lines else offset}"
    backward = f"b/{lines[0].offset if lines else offset}"
    if not lines and token is not None:  # nothing new: the same token back
        forward, backward = (token, backward) if direction == "f" else (forward, token)
    events = [_event(stream, line, marks) for line in lines]
    return {
        "events": [e for e in events if _within(e["timestamp"], start, end)],
        "nextForwardToken": forward,
        "nextBackwardToken": backward,
    }


# -- streams and groups -------------------------------------------------------------------------


def _streams(services: Services, actor: Actor, group: str, prefix: str) -> list[Stream]:
    """The streams in ``group`` whose names start with ``prefix``."""
    kind = _KINDS.get(group)
    if kind is None:
        return [s for s in _worker_streams(services, actor, group) if s.name.startswith(prefix)]
    if "/" in prefix:  # <job>/...: the one job of that name
        try:
            job = services.jobs.get(actor, prefix.split("/", 1)[0])
        except (NotFound, PermissionDenied):
            return []
        if job.kind != kind or not job_stream_name(job).startswith(prefix):
            return []
        return [JobStream(services, actor, job)]
    found: list[Job] = []
    while len(found) < MAX_STREAMS:
        page = services.jobs.list(actor, kind=kind, limit=_LIST_PAGE, offset=len(found))
        found += page
        if len(page) < _LIST_PAGE:
            break
    return [
        JobStream(services, actor, job) for job in found if job_stream_name(job).startswith(prefix)
    ]


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
    streams = _streams(services, actor, group, prefix)
    descending = bool(optional(body, "descending", bool, False))
    if order == "LogStreamName":
        streams.sort(key=lambda s: s.name, reverse=descending)
        shown, token = _page(streams, body, limit)
        described = [_stream(group, s) for s in shown]
    else:  # every stream's last event time is needed to order them
        every = [_stream(group, s) for s in streams]
        every.sort(
            key=lambda d: (d.get("lastEventTimestamp", d["creationTime"]), d["logStreamName"]),
            reverse=descending,
        )
        described, token = _page(every, body, limit)
    answer: Body = {"logStreams": described}
    if token:
        answer["nextToken"] = token
    return answer


def _stream(group: str, stream: Stream) -> Body:
    times = stream.times()  # reads the stream's size afresh (a job's status too)
    found: Body = {
        "logStreamName": stream.name,
        "creationTime": stream.created,
        "arn": f"{_ARN}{group}:log-stream:{stream.name}",
        "storedBytes": 0,
    }
    if times is not None:
        found.update(
            firstEventTimestamp=times[0], lastEventTimestamp=times[1], lastIngestionTime=times[1]
        )
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
        streams = [_stream_of(services, actor, group, str(name)) for name in names]
    else:
        streams = _streams(services, actor, group, prefix)
    streams.sort(key=lambda s: s.name)
    match = matcher(optional(body, "filterPattern", default=""))
    limit = _limit(body, "limit", MAX_EVENTS, MAX_EVENTS)
    start, end = _time_range(body)
    resume = _filter_token(body)
    events: list[Body] = []
    budget = SCAN_BYTES
    next_at: tuple[str, int] | None = None
    for stream in streams:
        if resume is not None and stream.name < resume[0]:
            continue
        offset = resume[1] if resume is not None and stream.name == resume[0] else 0
        offset = _from_time(stream, offset, start)
        while next_at is None:
            if len(events) >= limit or budget <= 0:
                next_at = (stream.name, offset)
                break
            piece = stream.read(offset, min(PAGE_BYTES, budget))
            whole = piece.ended or (len(piece.data) == PAGE_BYTES and b"\n" not in piece.data)
            lines = _lines(piece.data, piece.offset, whole=whole)
            if not lines:
                break  # the end of this stream (or a line still being written)
            for line in lines:
                budget -= line.end - line.offset
                offset = line.end
                event = _event(stream, line, piece.marks)
                if end is not None and event["timestamp"] >= end:
                    break  # lines come in time order: none after this one is wanted
                if _within(event["timestamp"], start, end) and match(line.message):
                    events.append(
                        {
                            "logStreamName": stream.name,
                            "eventId": stream.event_id(line.offset),
                            **event,
                        }
                    )
                    if len(events) >= limit:
                        break
            else:
                continue
            if len(events) < limit:
                break  # past endTime
        if next_at is not None:
            break
    answer: Body = {
        "events": events,
        "searchedLogStreams": [
            {"logStreamName": s.name, "searchedCompletely": next_at is None} for s in streams
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
