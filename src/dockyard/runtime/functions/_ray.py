"""Function calls on a Ray cluster: with the server's executor ``ray``, a pipeline's Map fans
its function calls out across the cluster's nodes.

Each call is a Ray task asking for one CPU and the call's memory limit (Ray's ``memory``
resource), spread over the nodes, which runs the call as the server runs a cold one
(:func:`~dockyard.api.pipelines.run_cold`): an interpreter and a session of its own,
under the address-space limit and the timeout, with the node's environment less Dockyard's
settings. The node needs Dockyard and the function's package installed, as it needs Dockyard to
run jobs. A call whose node is lost runs again on another node (Ray retries a task whose worker
died): a function runs at least once, as Lambda's do. Stopping the call (a stopped execution, a
state's ``TimeoutSeconds``) cancels its task, which kills the call's process tree.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from dockyard.api.pipelines import CallEnded, CallLost, run_cold, without_settings
from dockyard.runtime.runner import connect
from dockyard.settings import Settings

__all__ = ["ClusterCalls"]

_RETRIES = 3  # how many times a call whose node was lost runs again elsewhere
_MIB = 1024 * 1024


def _on_node(
    reference: str, data: bytes, env: dict[str, str], memory_mb: int, timeout_s: float
) -> tuple[int, bytes, bytes, bool]:
    """The Ray task: the call on this node; (code, answer, log, timed out)."""
    import ray

    call_env = {
        **without_settings(os.environ),
        **env,
        "DOCKYARD_FUNCTION_NODE": ray.get_runtime_context().get_node_id(),
    }
    try:
        ended = run_cold(reference, data, call_env, memory_mb, timeout_s)
    except TimeoutError:
        return -9, b"", b"", True
    return ended.code, ended.out, ended.err, False


class ClusterCalls:
    """The server's side: one Ray task per call (see the module docstring)."""

    def __init__(self, settings: Settings) -> None:
        self._ray = connect(settings)
        self._task = self._ray.remote(
            num_cpus=1, max_retries=_RETRIES, scheduling_strategy="SPREAD"
        )(_on_node)
        self._pending: set[Any] = set()
        self._lock = threading.Lock()

    def call(
        self,
        reference: str,
        data: bytes,
        env: dict[str, str],
        memory_mb: int,
        timeout_s: float,
        running: Callable[[Callable[[], None]], None],
    ) -> CallEnded:
        """Run the call on the cluster and wait for its end.

        Raises:
            TimeoutError: The call ran past ``timeout_s`` on its node and was killed.
            CallLost: Its node was lost more often than the call may be retried.
        """
        ray = self._ray
        ref = self._task.options(memory=memory_mb * _MIB).remote(
            reference, data, env, memory_mb, timeout_s
        )
        with self._lock:
            self._pending.add(ref)
        running(lambda: ray.cancel(ref))
        try:
            code, out, err, timed_out = ray.get(ref)
        except ray.exceptions.TaskCancelledError:
            return CallEnded(-9, b"", b"")
        except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError) as exc:
            lost = f"its node was lost {_RETRIES + 1} times ({type(exc).__name__})"
            raise CallLost(lost) from None
        except ray.exceptions.RayTaskError as exc:
            raise CallLost(f"it could not run on its node: {exc.cause!r}") from None
        finally:
            with self._lock:
                self._pending.discard(ref)
        if timed_out:
            raise TimeoutError
        return CallEnded(code, out, err)

    def close(self) -> None:
        """Cancel the calls still running (the server is stopping)."""
        with self._lock:
            pending, self._pending = list(self._pending), set()
        for ref in pending:
            self._ray.cancel(ref)
