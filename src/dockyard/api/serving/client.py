"""A client of one worker's admin socket, for supervisors, rollouts, autoscalers and tests."""

from __future__ import annotations

from typing import Any

import httpx

from dockyard.api.serving.config import WorkerConfig
from dockyard.errors import Unavailable, error_from_dict

__all__ = ["WorkerAdmin"]


class WorkerAdmin:
    """Talks to ``GET /stats``, ``PUT /config``, ``POST /drain``... over the unix socket.

    Args:
        socket_path: The worker's ``admin_socket``.
        timeout_s: Per-call timeout (``update_config`` loads models: give it time).
    """

    def __init__(self, socket_path: str, timeout_s: float = 120.0) -> None:
        self.socket_path = socket_path
        self._client = httpx.Client(
            transport=httpx.HTTPTransport(uds=socket_path),
            base_url="http://worker",
            timeout=timeout_s,
        )

    def health(self) -> dict[str, Any]:
        """``{"status": "serving" | "draining", "version": n}``."""
        return self._json("GET", "/health")

    def stats(self) -> dict[str, Any]:
        """Per-variant statistics and serving details."""
        return self._json("GET", "/stats")

    def metrics(self) -> str:
        """Prometheus text."""
        response = self._send("GET", "/metrics")
        self._check(response)
        return response.text

    def config(self) -> tuple[int, WorkerConfig]:
        """The current config version and config."""
        body = self._json("GET", "/config")
        return int(body["version"]), WorkerConfig.parse(body["config"])

    def update_config(self, config: WorkerConfig) -> dict[str, Any]:
        """Switch the worker to ``config``; returns what was loaded, kept and retired.

        Raises:
            DockyardError: The worker refused it (the same class the worker raised).
        """
        return self._json("PUT", "/config", content=config.model_dump_json())

    def drain(self) -> None:
        """Ask the worker to finish in-flight requests and exit."""
        self._json("POST", "/drain")

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> WorkerAdmin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One call; a worker that is gone (or going) raises Unavailable, not httpx's error,
        so callers that skip a dead worker catch one hierarchy."""
        try:
            return self._client.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            problem = str(exc) or type(exc).__name__
        # Raised outside the handler: httpx's error (and the socket its frames hold) goes now.
        raise Unavailable(f"worker admin socket {self.socket_path}: {problem}")

    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self._send(method, path, **kwargs)
        self._check(response)
        body: dict[str, Any] = response.json()
        return body

    @staticmethod
    def _check(response: httpx.Response) -> None:
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {"message": response.text}
            raise error_from_dict(body)
