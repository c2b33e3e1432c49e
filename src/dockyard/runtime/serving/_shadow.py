"""Shadow copies: a sampled production request, replayed on the shadow variant after the answer.

The copy is decoded for the shadow's own signature (it may differ from production's) from what
the production request already parsed, queued on the shadow's batcher (always a thread, so a
slow shadow model cannot stall production), and forgotten: its answer goes to data capture, as
``{"predictions": ...}``, and its status and latency to the shadow's statistics. Copies beyond
``shadow_max_pending`` unanswered ones are dropped and counted, so a stuck shadow costs memory
for at most that many requests.
"""

from __future__ import annotations

import asyncio
import time
from time import perf_counter
from typing import Any

import orjson

from dockyard.errors import DockyardError
from dockyard.models import Invoked
from dockyard.runtime.serving import _oip, _sagemaker
from dockyard.runtime.serving._capture import Exchange
from dockyard.runtime.serving._endpoint import State
from dockyard.runtime.serving._http import JSON, RequestHeaders
from dockyard.runtime.serving._inputs import Item, raw_request
from dockyard.runtime.serving._metrics import Metrics
from dockyard.runtime.serving._outputs import encode_json
from dockyard.runtime.serving._variant import Variant

__all__ = ["copy_to_shadow"]


def copy_to_shadow(
    metrics: Metrics,
    state: State,
    shadow: Variant,
    request_id: bytes,
    body: bytes,
    headers: RequestHeaders,
    oip: bool,
    parsed: Any,
) -> None:
    """Queue a copy of one production request on the shadow variant (returns at once)."""
    if shadow.active >= state.config.shadow_max_pending:
        metrics.shadow_dropped += 1
        return
    started = perf_counter()
    shadow.active += 1
    shadow.stats.in_flight += 1
    try:
        item = _decode(shadow, body, headers, oip, parsed)
    except DockyardError as exc:
        _finish(state, shadow, request_id, body, headers, started, exc.status_code, exc, None)
        return
    future = shadow.batcher.submit(item)
    future.add_done_callback(
        lambda done: _answered(state, shadow, request_id, body, headers, started, done)
    )


def _decode(shadow: Variant, body: bytes, headers: RequestHeaders, oip: bool, parsed: Any) -> Item:
    if shadow.invoke is not None and not oip:
        content_type, accept = headers.content_type, headers.accept
        raw = [(b"content-type", content_type)] if content_type is not None else []
        if accept is not None:
            raw.append((b"accept", accept))
        return Item(None, raw_request(body, raw), 1)
    if oip:
        request = (
            parsed
            if isinstance(parsed, _oip.InferRequest)
            else _oip.parse(body, headers.inference_header_length)
        )
        return _oip.decode(request, shadow.codec, shadow.signature)
    fmt, value = parsed if parsed is not None else _sagemaker.parse(body, headers.content_type)
    return _sagemaker.decode(fmt, value, shadow.codec)


def _answered(
    state: State,
    shadow: Variant,
    request_id: bytes,
    body: bytes,
    headers: RequestHeaders,
    started: float,
    done: asyncio.Future[Any],
) -> None:
    error = done.exception() if not done.cancelled() else None
    if done.cancelled():
        return
    if error is None:
        _finish(state, shadow, request_id, body, headers, started, 200, None, done.result())
    else:
        status = error.status_code if isinstance(error, DockyardError) else 500
        _finish(state, shadow, request_id, body, headers, started, status, error, None)


def _finish(
    state: State,
    shadow: Variant,
    request_id: bytes,
    body: bytes,
    headers: RequestHeaders,
    started: float,
    status: int,
    error: BaseException | None,
    predictions: Any,
) -> None:
    seconds = perf_counter() - started
    code = (error.code if isinstance(error, DockyardError) else "internal") if error else None
    shadow.stats.record(status, seconds, code)
    shadow.stats.in_flight -= 1
    shadow.active -= 1
    capture = state.capture
    if capture is None:
        return
    if type(predictions) is Invoked:  # inference handlers answered a body of their own
        output = predictions.body
    elif error is None:
        try:
            output = encode_json(predictions)
        except Exception as exc:  # an output JSON cannot hold: captured as the error it is
            output = orjson.dumps({"code": "model_error", "message": str(exc)})
    elif isinstance(error, DockyardError):
        output = orjson.dumps(error.to_dict())
    else:
        output = orjson.dumps({"code": "internal", "message": str(error)})
    capture.put(
        Exchange(
            request_id,
            time.time(),
            shadow.name,
            "shadow",
            status,
            seconds * 1000,
            headers.content_type if state.capture_input else None,
            body if state.capture_input else None,
            JSON if state.capture_output else None,
            output if state.capture_output else None,
        )
    )
