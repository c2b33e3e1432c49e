"""A worker process: ``python -m dockyard.runtime.serving.worker --config CONFIG.json [--fd N]``.

It loads every model first and only then serves, so a worker never takes connections it cannot
answer. ``--fd N`` serves an already-listening socket inherited from a supervisor (the server's
local launcher shares one among an endpoint's workers): one accept queue, so a worker that drains
or crashes leaves no queued connection behind to be reset. Without it, the worker binds the port
itself with ``SO_REUSEPORT``: workers binding the same port get a queue each and the kernel
spreads new connections across them, but what is queued on a worker's socket when it closes is
reset, unless ``net.ipv4.tcp_migrate_req=1``.

With ``--log-dir DIR`` everything the process writes on stdout and stderr after it starts (the
access log, warnings, tracebacks, what a model prints) goes to its bounded log in ``DIR``
(:mod:`dockyard.api.serving.logs`); the ready line and start errors still go to the stdout and
stderr it was given, where its launcher looks for them (start errors go to the log as well).

When ready it prints one JSON line on stdout::

    {"event": "ready", "endpoint": "churn", "pid": 4242, "host": "127.0.0.1", "port": 8080,
     "admin_socket": "/tmp/dockyard-churn-4242.sock"}

SIGTERM, SIGINT or ``POST /drain`` on the admin socket drain it: stop accepting, answer what is
in flight (keep-alive connections are told to close), flush data capture, exit 0. A bad config
exits 2 and a model that cannot load exits 1, each with a JSON ``{"event": "error"}`` line on
stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import random
import signal
import socket
import sys
import tempfile
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any, TextIO

import orjson
import uvicorn

from dockyard.api.serving.config import WorkerConfig
from dockyard.connection_guard import ConnectionLimits, GuardedConfig
from dockyard.errors import DockyardError
from dockyard.runtime.serving._accesslog import AccessLog
from dockyard.runtime.serving._admin import AdminApp
from dockyard.runtime.serving._app import DataPlane
from dockyard.runtime.serving._endpoint import Endpoint
from dockyard.runtime.serving._metrics import Metrics
from dockyard.runtime.serving._output import CappedOutput

__all__ = ["Worker", "bind_reuseport", "main"]

_BACKLOG = 2048
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class _Server(uvicorn.Server):
    """uvicorn's server without its signal handling: the worker owns signals (and uvicorn's
    would re-raise SIGTERM after a graceful exit, turning a clean drain into a kill)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def bind_reuseport(host: str, port: int) -> socket.socket:
    """A listening TCP socket that other workers can bind too (``SO_REUSEPORT``)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(_BACKLOG)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def _bind_unix(path: str) -> socket.socket:
    if len(os.fsencode(path)) > 100:
        raise DockyardError(f"admin socket path is too long for a unix socket: {path}")
    if Path(path).exists():
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            try:
                probe.connect(path)
            except OSError:
                Path(path).unlink()  # left by a worker that died: nobody answers on it
            else:
                raise DockyardError(f"admin socket {path} is in use by another worker")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path)
    Path(path).chmod(0o600)
    sock.listen(64)
    sock.setblocking(False)
    return sock


class Worker:
    """One endpoint's data plane and admin API, in the current event loop.

    Args:
        config: What to serve.
        sock: An already-listening socket to serve instead of binding ``host:port``.
        log_stream: Where access log lines go (stderr by default).
        rng: Randomness for traffic splits and sampling.
    """

    def __init__(
        self,
        config: WorkerConfig,
        *,
        sock: socket.socket | None = None,
        log_stream: TextIO | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.metrics = Metrics(config.endpoint)
        self.endpoint = Endpoint(config, self.metrics, rng, on_apply=self._applied)
        self.admin_socket = config.admin_socket or str(
            Path(tempfile.gettempdir()) / f"dockyard-{config.endpoint}-{os.getpid()}.sock"
        )
        self.port: int | None = None
        self._sock = sock
        self._log_stream = log_stream
        self._loop: asyncio.AbstractEventLoop | None = None
        self._data: _Server | None = None
        self._guarded: GuardedConfig | None = None  # the data plane's, read by each connection
        self._drain_requested = False

    def info(self) -> dict[str, Any]:
        """The ready line's facts: endpoint, pid, host, port, admin socket."""
        return {
            "endpoint": self.config.endpoint,
            "pid": os.getpid(),
            "host": self.config.host,
            "port": self.port,
            "admin_socket": self.admin_socket,
        }

    def drain(self) -> None:
        """Start a graceful shutdown; safe to call from any thread, more than once."""
        loop = self._loop
        if loop is None:  # not serving yet: serve() sees the flag once its models are loaded
            self._drain_requested = True
            return
        # RuntimeError: the loop has already closed, so there is nothing left to drain.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._begin_drain)

    def _applied(self, config: WorkerConfig) -> None:
        # Each connection reads the limits once, when it opens: those opened from now on are
        # held to the new ones, those open keep theirs. Nothing per request.
        if self._guarded is not None:
            self._guarded.limits = _limits(config)

    def _begin_drain(self) -> None:
        # Also remembered when no server runs yet: a SIGTERM while models load must not be lost.
        self._drain_requested = True
        self.endpoint.draining = True
        if self._data is not None:
            self._data.should_exit = True

    async def serve(self, ready: Callable[[Worker], None] | None = None) -> None:
        """Load the models, bind, serve until drained, then release everything.

        Raises:
            DockyardError: A model cannot be loaded, or the admin socket is in use.
            OSError: The port cannot be bound.
        """
        self._loop = asyncio.get_running_loop()
        await self.endpoint.start()
        if self._drain_requested:  # told to stop while loading: never bind
            await self.endpoint.close()
            return
        sock = self._sock or bind_reuseport(self.config.host, self.config.port)
        self.port = int(sock.getsockname()[1])
        admin_sock = _bind_unix(self.admin_socket)
        config = self.config
        access_log = (
            AccessLog(
                config.endpoint,
                self.metrics,
                sampling_pct=config.access_log_sampling_pct,
                stream=self._log_stream,
            )
            if config.access_log
            else None
        )
        data_plane = DataPlane(self.endpoint, access_log)
        self._guarded = GuardedConfig(data_plane, limits=_limits(config), **self._options())
        self._data = data = _Server(self._guarded)
        data.should_exit = self._drain_requested
        # The admin socket is local and its clients are the control plane: uvicorn as it is.
        admin_app = AdminApp(self.endpoint, self.drain, self.info())
        admin = _Server(uvicorn.Config(admin_app, http="httptools", **self._options()))
        admin_task = asyncio.create_task(admin.serve(sockets=[admin_sock]))
        data_task = asyncio.create_task(data.serve(sockets=[sock]))
        try:
            while not (data.started and admin.started):
                if data_task.done() or admin_task.done():
                    break
                await asyncio.sleep(0.005)
            if ready is not None and data.started:
                ready(self)
            await data_task
        finally:
            self.endpoint.draining = True
            data.should_exit = True
            await self.endpoint.close()
            if access_log is not None:
                await asyncio.to_thread(access_log.close)
            admin.should_exit = True
            await admin_task
            with contextlib.suppress(FileNotFoundError):
                Path(self.admin_socket).unlink()

    def _options(self) -> dict[str, Any]:
        return {
            "ws": "none",
            "lifespan": "off",
            "interface": "asgi3",
            "log_config": None,
            "log_level": "warning",
            "access_log": False,
            "proxy_headers": False,
            "server_header": False,
            "timeout_graceful_shutdown": int(self.config.request_timeout_s) + 5,
            "backlog": _BACKLOG,
        }


def _limits(config: WorkerConfig) -> ConnectionLimits:
    return ConnectionLimits(
        header_timeout_s=config.header_timeout_s,
        body_timeout_s=config.body_timeout_s,
        min_body_rate=config.min_body_rate,
        keepalive_timeout_s=config.keep_alive_s,
        send_timeout_s=config.send_timeout_s,
        max_connections=config.max_connections,
    )


def _event(stream: TextIO, **fields: Any) -> None:
    stream.write(orjson.dumps(fields).decode() + "\n")
    stream.flush()


def _limit_threads(threads: int) -> None:
    # Read by OpenMP and BLAS when their libraries load, which is when a model first loads.
    for name in _THREAD_VARIABLES:
        os.environ.setdefault(name, str(threads))


def _after_load(threads: int) -> None:
    try:
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]
    except ImportError:  # an environment without scikit-learn's helper: the variables suffice
        pass
    else:
        threadpool_limits(limits=threads)
    # Models and code loaded once live for the process: keep the collector from rescanning them.
    gc.freeze()


async def _run(worker: Worker, announce: TextIO) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, worker.drain)

    def ready(w: Worker) -> None:
        _after_load(w.config.intra_op_threads)
        _event(announce, event="ready", **w.info())

    await worker.serve(ready)


def main(argv: list[str] | None = None) -> int:
    """Run a worker until it is drained; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m dockyard.runtime.serving.worker")
    parser.add_argument("--config", required=True, help="WorkerConfig JSON file")
    parser.add_argument("--fd", type=int, help="serve this inherited listening socket")
    parser.add_argument("--log-dir", help="write stdout and stderr to a bounded log here")
    args = parser.parse_args(argv)
    announce, errors = sys.stdout, [sys.stderr]
    output = None
    if args.log_dir:
        output = CappedOutput(Path(args.log_dir))
        announce, was_err = output.start()
        errors.append(was_err)
    try:
        return _serve(args, announce, errors)
    finally:
        if output is not None:
            output.close()


def _serve(args: argparse.Namespace, announce: TextIO, errors: list[TextIO]) -> int:
    def error(stage: str, exc: BaseException) -> None:
        for stream in errors:
            _event(stream, event="error", stage=stage, message=str(exc))

    try:
        config = WorkerConfig.parse(Path(args.config).read_bytes())
    except (OSError, DockyardError) as exc:
        error("config", exc)
        return 2
    _limit_threads(config.intra_op_threads)
    sock = socket.socket(fileno=args.fd) if args.fd is not None else None
    worker = Worker(config, sock=sock)
    import uvloop

    try:
        uvloop.run(_run(worker, announce))
    except (DockyardError, OSError) as exc:
        error("start", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
