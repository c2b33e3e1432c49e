"""Run ``dockyard server``'s uvicorn: in one process or ``--workers``, each serving the public
socket and, with TLS, the local listener.

A server serving HTTPS also listens on a loopback socket in plain HTTP for its own processes
(job runners and jobs' scripts): they reach it without a certificate that names
``127.0.0.1`` or a CA bundle, and the address never leaves the machine. It is the same server
behind it: one app, one :class:`~dockyard.connection_guard.GuardedProtocol` with the same
limits and one connection table per process, so sign-in, limits and audit are the public
port's.

uvicorn serves every socket with its config's TLS, so :class:`GuardedServer` adds the
config's ``local`` socket itself. With ``--workers``, uvicorn's supervisor makes each worker's
server (``Process.server``); :class:`_Supervisor` makes them :class:`GuardedServer` too. The
socket is bound once, in the parent, and reaches the workers inside the pickled config, as
uvicorn's own sockets do.

A worker outlives nothing it needs: when the supervisor dies without stopping it (SIGKILL,
the OOM killer), the worker notices it was orphaned and stops as on SIGTERM. Otherwise the
orphans would go on serving the inherited socket, keep the background loops' leadership, and
a restarted server could not bind its port.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
import threading
import time

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess, Process

from dockyard.connection_guard import GuardedConfig

__all__ = ["GuardedServer", "bind_local", "run"]

_uvicorn_log = logging.getLogger("uvicorn.error")  # where uvicorn's supervisor logs
_PARENT_CHECK_S = 0.5  # how often a worker looks whether its supervisor is still there


def bind_local(port: int) -> socket.socket:
    """A socket bound to ``127.0.0.1:port`` for :class:`GuardedConfig`'s ``local``.

    Loopback only, whatever the server's public address: nothing beyond this machine reaches
    it. Raises ``OSError`` when the port cannot be bound.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn's own socket
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class GuardedServer(uvicorn.Server):
    """``uvicorn.Server`` that also serves its config's ``local`` socket, in plain HTTP."""

    config: GuardedConfig

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        local = self.config.local
        if local is None or not self.started:
            return
        config = self.config

        def create_protocol(_loop: asyncio.AbstractEventLoop | None = None) -> asyncio.Protocol:
            # As uvicorn makes the public socket's: one connection table, one app state.
            return config.http_protocol_class(  # type: ignore[call-arg]
                config=config,
                server_state=self.server_state,
                app_state=self.lifespan.state,
                _loop=_loop,
            )

        loop = asyncio.get_running_loop()
        # No TLS here, the one difference from the public socket; shutdown closes it with the
        # others (it is in self.servers).
        served = await loop.create_server(
            create_protocol, sock=local, ssl=None, backlog=config.backlog
        )
        self.servers.append(served)


def _stop_when_orphaned(parent: int) -> None:
    """Stop this worker (as SIGTERM does: requests in flight end, loops let go of their lead)
    once ``parent``, the supervisor, is no longer its parent process."""
    while os.getppid() == parent:
        time.sleep(_PARENT_CHECK_S)
    _uvicorn_log.warning(
        f"Supervisor process [{parent}] is gone; stopping child process [{os.getpid()}]."
    )
    os.kill(os.getpid(), signal.SIGTERM)


class _Worker(Process):
    """uvicorn's worker process, running :class:`GuardedServer`, stopping with its supervisor."""

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket]) -> None:
        self._supervisor = os.getpid()  # read in the worker, which the object is pickled to
        super().__init__(config, sockets)

    def target(self, sockets: list[socket.socket] | None = None) -> None:
        threading.Thread(
            target=_stop_when_orphaned,
            args=(self._supervisor,),
            name="dockyard-orphan-watch",
            daemon=True,
        ).start()
        super().target(sockets)

    @property
    def server(self) -> uvicorn.Server:
        if self._server is None:
            assert isinstance(self.config, GuardedConfig)
            self._server = GuardedServer(config=self.config)
        return self._server


class _Supervisor(Multiprocess):
    """uvicorn's supervisor whose workers are :class:`_Worker`.

    uvicorn makes a worker in four places, each naming its own ``Process``; these are those
    methods with ``_Worker`` instead, unchanged otherwise (uvicorn 0.54).
    """

    def init_processes(self) -> None:
        for _ in range(self.processes_num):
            process = _Worker(self.config, self.sockets)
            process.start()
            self.processes.append(process)

    def restart_all(self) -> None:
        for idx, old_process in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            new_process = _Worker(self.config, self.sockets)
            new_process.start()
            if not new_process.wait_until_ready(
                self.config.timeout_worker_healthcheck, self.should_exit
            ):
                new_process.kill()
                new_process.join()
                if not self.should_exit.is_set():
                    _uvicorn_log.error(
                        f"New child process [{new_process.pid}] was not ready in time; "
                        f"keeping worker [{old_process.pid}] and aborting the restart."
                    )
                return
            old_process.terminate()
            old_process.join()
            self.processes[idx] = new_process

    def keep_subprocess_alive(self) -> None:
        if self.should_exit.is_set():
            return
        for idx, process in enumerate(self.processes):
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            process.kill()
            process.join()
            if process.exitcode == STARTUP_FAILURE:
                # It would fail the same way on every restart (the app, TLS or a socket).
                _uvicorn_log.error(
                    f"Child process [{process.pid}] failed to start, stopping the parent process."
                )
                self.should_exit.set()
                return
            if self.should_exit.is_set():
                return
            _uvicorn_log.info(f"Child process [{process.pid}] died")
            replacement = _Worker(self.config, self.sockets)
            replacement.start()
            self.processes[idx] = replacement

    def handle_ttin(self) -> None:
        _uvicorn_log.info("Received SIGTTIN, increasing the number of processes.")
        self.processes_num += 1
        process = _Worker(self.config, self.sockets)
        process.start()
        self.processes.append(process)


def run(config: GuardedConfig) -> None:
    """Serve ``config`` until stopped, in this process or in ``config.workers`` processes.

    What ``uvicorn.run`` does after it builds its config (which would not be ours).
    """
    server = GuardedServer(config)
    supervisor = None
    try:
        if config.workers > 1:
            supervisor = _Supervisor(config, sockets=[config.bind_socket()])
            supervisor.run()
        else:
            server.run()
    except KeyboardInterrupt:
        pass
    if supervisor is not None:
        failed = any(p.exitcode == STARTUP_FAILURE for p in supervisor.processes)
    else:
        failed = not server.started
    if failed:
        sys.exit(STARTUP_FAILURE)  # the port could not be bound or the app not built
