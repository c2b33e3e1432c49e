"""Serve one model package under the SageMaker inference contract (the image's entrypoint).

Copied into build contexts as ``serve.py`` next to the model runtime, and runnable directly::

    python serve.py --model-dir DIR --port 8080 [serve]

* ``GET /ping``: 200 once the model is loaded (it loads, and is verified, before listening).
* ``POST /invocations``: ``application/json`` or ``text/csv`` in; JSON ``{"predictions": ...}``
  or CSV out, chosen by ``Accept``. Errors are JSON bodies with Dockyard's error codes.
* ``GET /execution-parameters``: what SageMaker batch transform asks a container.
* SIGTERM (and SIGINT) stop accepting connections, let in-flight requests finish, and exit 0.

Only the standard library and the model's own requirements are used: no web framework.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any

from dockyard.errors import DockyardError, ModelError, PayloadTooLarge
from dockyard.models._payload import decode_csv, decode_json, encode_csv, encode_json
from dockyard.models.pyfunc import PyFuncModel, load_model

MAX_BODY_BYTES = 100 * 1024 * 1024


def make_handler(model: PyFuncModel) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to ``model``."""
    signature = model.metadata.signature
    schema = signature.inputs if signature is not None else None

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: SageMaker reuses connections
        server_version = "dockyard-serve"

        def do_GET(self) -> None:
            if self.path == "/ping":
                self._send(HTTPStatus.OK, b"{}", "application/json")
            elif self.path == "/execution-parameters":
                body = {
                    "MaxConcurrentTransforms": 1,
                    "BatchStrategy": "MULTI_RECORD",
                    "MaxPayloadInMB": 6,
                }
                self._send(HTTPStatus.OK, json.dumps(body).encode(), "application/json")
            else:
                self._error(HTTPStatus.NOT_FOUND, "not_found", f"no route {self.path}")

        def do_POST(self) -> None:
            if self.path != "/invocations":
                self._error(HTTPStatus.NOT_FOUND, "not_found", f"no route {self.path}")
                return
            try:
                body = self._body()
                content_type = (self.headers.get("Content-Type") or "application/json").lower()
                params = None
                if content_type.startswith("text/csv"):
                    data = decode_csv(body, schema)
                elif content_type.startswith("application/json"):
                    data, params = decode_json(body, schema)
                else:
                    self._error(
                        HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                        "unsupported_media_type",
                        f"content type {content_type!r}: send application/json or text/csv",
                    )
                    return
                predictions = model.predict(data, params)
                if "text/csv" in (self.headers.get("Accept") or ""):
                    self._send(HTTPStatus.OK, encode_csv(predictions), "text/csv")
                else:
                    self._send(HTTPStatus.OK, encode_json(predictions), "application/json")
            except DockyardError as exc:
                self._send(exc.status_code, json.dumps(exc.to_dict()).encode(), "application/json")
            except Exception as exc:  # anything else is a bug in the model's output handling
                error = ModelError(f"the prediction could not be encoded: {exc}")
                self._send(
                    error.status_code, json.dumps(error.to_dict()).encode(), "application/json"
                )

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                raise PayloadTooLarge(f"the request body is over {MAX_BODY_BYTES} bytes")
            return self.rfile.read(length)

        def _error(self, status: int, code: str, message: str) -> None:
            body = json.dumps({"code": code, "message": message}).encode()
            self._send(status, body, "application/json")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line per request would dominate the container's logs

    return Handler


def main(argv: list[str] | None = None) -> int:
    """Load the model, serve until SIGTERM, return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", nargs="?", default="serve", choices=["serve"])
    parser.add_argument("--model-dir", default="/opt/ml/model")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080"))
    )
    args = parser.parse_args(argv)
    try:
        model = load_model(args.model_dir)
    except DockyardError as exc:
        print(f"cannot load the model: {exc}", file=sys.stderr)
        return 1
    server = ThreadingHTTPServer((args.host, args.port), make_handler(model))
    server.daemon_threads = False  # in-flight requests finish before the process exits

    def stop(signum: int, frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever to return, so it cannot run on that thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host, port = server.server_address[:2]
    print(
        f"serving {model.metadata.flavor} model on http://{host!s}:{port}",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
