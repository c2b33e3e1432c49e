"""The runner's own tiny HTTP client: stdlib only, retried, for uploads at the end of a job.

A job's slot is held until its runner exits, so the runner must not spend a few hundred
milliseconds importing an HTTP stack to upload one log file; this costs nothing to import.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

__all__ = ["HTTPError", "put_file", "request_json"]


class HTTPError(RuntimeError):
    """A request that failed; ``status`` is the server's answer (None when it was unreachable)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


_RETRY_FOR_S = 120.0


def _send(request: urllib.request.Request, body_file: Path | None) -> bytes:
    deadline = time.monotonic() + _RETRY_FOR_S
    delay = 0.1
    while True:
        handle = None
        try:
            if body_file is not None:
                handle = body_file.open("rb")  # a fresh stream for every attempt
                request.data = handle
                request.add_header("Content-Length", str(body_file.stat().st_size))
            with urllib.request.urlopen(request, timeout=60) as response:
                return bytes(response.read())
        except urllib.error.HTTPError as exc:
            if exc.code not in (502, 503, 504) or time.monotonic() + delay > deadline:
                detail = exc.read().decode(errors="replace")[:500]
                raise HTTPError(
                    f"{request.full_url} answered {exc.code}: {detail}", exc.code
                ) from exc
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            if time.monotonic() + delay > deadline:
                raise HTTPError(f"cannot reach {request.full_url}: {exc}") from exc
        finally:
            if handle is not None:
                handle.close()
        time.sleep(delay)
        delay = min(delay * 2, 5.0)


def _request(url: str, method: str, token: str | None) -> urllib.request.Request:
    request = urllib.request.Request(url, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    return request


def put_file(
    server: str, run_id: str, artifact_path: str, file: Path, *, token: str | None = None
) -> None:
    """Upload ``file`` into the run's artifacts at ``artifact_path``."""
    url = f"{server}/api/v1/runs/{run_id}/artifacts/{quote(artifact_path)}"
    request = _request(url, "PUT", token)
    request.add_header("Content-Type", "application/octet-stream")
    _send(request, file)


def request_json(
    server: str, method: str, path: str, body: Any = None, *, token: str | None = None
) -> Any:
    """A JSON request; returns the decoded answer (None when empty)."""
    request = _request(f"{server}{path}", method, token)
    if body is not None:
        request.data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    answer = _send(request, None)
    return json.loads(answer) if answer else None
