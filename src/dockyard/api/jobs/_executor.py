"""Executors start job runners somewhere and answer for them: a narrow contract over plain data.

::

    submit(launch) -> handle    start the runner of one job; the handle is JSON-able
    status(handle) -> status    is it running (and its exit code, when known)
    statuses(handles)           (optional) the same for many runners at once: the scheduler
                                asks about every running job each pass, in one call when the
                                executor has it (see :func:`runner_statuses`)
    logs(handle)   -> text      the runner process's own output, for a runner that died
                                before it could report why
    stop(handle)                signal the runner (a remote runner also learns of the stop
                                from the API, where it polls its job's control state)
    capacity()     -> capacity  what the executor offers jobs (CPUs, GPUs)

The scheduler stores a job's handle in the job's row, so the scheduler of a restarted server
asks the executor about the same runner again. A :class:`Launch` names the job, the server's
URL, the runner's token and the resources: the runner fetches everything else (the spec, the
run, the settings it needs) from the API with that token, and reports its status and appends
its log through the API, so it needs nothing from the server's disk. Every executor passes one
conformance suite (``tests/server/jobs/test_executor_conformance.py``).

Executors are chosen by name from :data:`dockyard.plugins.EXECUTORS`: a server runs its default
(``DOCKYARD_EXECUTOR``) and any others ``DOCKYARD_EXECUTORS`` lists, and a spec's ``executor``
picks one of them. The name an executor answers to is its ``name`` attribute, which the job's
row keeps next to its handle.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, NotRequired, Protocol, TypedDict

if TYPE_CHECKING:
    from dockyard.settings import Settings

__all__ = [
    "RUNNER_ATTEMPT",
    "RUNNER_CACHE",
    "RUNNER_JOB",
    "RUNNER_SERVER",
    "RUNNER_TOKEN",
    "Capacity",
    "Executor",
    "Handle",
    "Launch",
    "RunnerStatus",
    "check_executor",
    "load_executor",
    "runner_command",
    "runner_environment",
    "runner_statuses",
]

#: What a runner is started with, besides its work folder as its one argument.
RUNNER_SERVER = "DOCKYARD_RUNNER_SERVER"
RUNNER_JOB = "DOCKYARD_RUNNER_JOB"
RUNNER_TOKEN = "DOCKYARD_RUNNER_TOKEN"
RUNNER_CACHE = "DOCKYARD_RUNNER_CACHE"
#: Set by an executor that starts a job's runner again after its machine was lost: the attempt
#: the new runner makes (it counts against the job's ``retry_strategy.max_attempts``).
RUNNER_ATTEMPT = "DOCKYARD_RUNNER_ATTEMPT"

Handle = dict[str, Any]
"""What :meth:`Executor.submit` returns: JSON-able, the executor's own business."""


class Launch(TypedDict):
    """What an executor needs to start one job's runner."""

    job: str  # the job's name
    job_id: str
    server_url: str  # where the runner reaches the API
    token: str | None  # the runner's token; None on a server without accounts
    cpus: float
    memory_mb: int | None
    # Whole GPUs the job asks for (resources.gpus); the executor makes them the job's
    # CUDA_VISIBLE_DEVICES.
    gpus: NotRequired[int]
    # How many times the job may run in all (its retry_strategy): an executor that can start a
    # runner again elsewhere when its machine is lost does so at most attempts - 1 times.
    attempts: NotRequired[int]


class RunnerStatus(TypedDict):
    """Whether a runner still runs; ``exit_code`` once it ended, when the executor knows it."""

    running: bool
    exit_code: int | None
    detail: str


class Capacity(TypedDict):
    """What an executor offers jobs at once: CPUs, and GPUs in all and on its largest node
    (a job runs on one node); an executor without GPUs may leave both out."""

    cpus: float
    gpus: NotRequired[float]
    node_gpus: NotRequired[float]


class Executor(Protocol):
    """Starts job runners and answers for them (see the module docstring).

    An executor that can find a job's runner without its handle also has
    ``find(job) -> Handle | None``: the handle of job ``job``'s runner while it runs. A server
    killed after starting a runner and before storing its handle then reattaches the job
    instead of failing it.

    An executor that keeps jobs' work folders also has ``folders() -> list[str]`` (the jobs
    whose folders it holds) and ``discard(job)`` (remove that folder): the scheduler discards
    those of jobs that ended longer than ``DOCKYARD_JOB_FOLDER_RETENTION_S`` ago.
    """

    name: str

    def submit(self, launch: Launch) -> Handle:
        """Start the runner of ``launch["job"]``; returns a JSON-able handle.

        Raises:
            OSError: The runner could not be started.
        """
        ...

    def status(self, handle: Handle) -> RunnerStatus:
        """Whether the runner behind ``handle`` still runs."""
        ...

    def logs(self, handle: Handle, limit: int = 4000) -> str:
        """The last ``limit`` characters the runner process itself wrote ("" when none)."""
        ...

    def stop(self, handle: Handle) -> None:
        """Ask the runner to stop its job now (it stops the job's process gracefully, then
        with SIGKILL after the grace period). A no-op for a runner that has ended."""
        ...

    def capacity(self) -> Capacity:
        """What the executor offers jobs at once."""
        ...


def runner_statuses(executor: Executor, handles: list[Handle]) -> list[RunnerStatus]:
    """The status of each runner in ``handles``, in order: the executor's own ``statuses``
    when it has one (a remote executor answers all in one round trip), else ``status`` for
    each."""
    many = getattr(executor, "statuses", None)
    if many is None:
        return [executor.status(handle) for handle in handles]
    found: list[RunnerStatus] = many(handles)
    return found


def load_executor(settings: Settings, name: str | None = None) -> Executor:
    """The executor ``name`` (default ``settings.executor``) names, built with the settings."""
    from dockyard.plugins import EXECUTORS, load

    chosen, field = (settings.executor, "executor") if name is None else (name, "executors")
    factory = load(EXECUTORS, chosen, what="executor", field=field, external=True)
    executor: Executor = factory(settings)
    return executor


def check_executor(settings: Settings) -> None:
    """Refuse settings the executors cannot work with, before a server starts: an unknown name
    (in ``DOCKYARD_EXECUTOR`` or ``DOCKYARD_EXECUTORS``), or what an executor's own
    ``check(settings)`` (when it has one) refuses. Starts nothing.

    Raises:
        DockyardError: What is wrong, naming the setting in ``field``.
    """
    from dockyard.plugins import EXECUTORS, load

    chosen = [(settings.executor, "executor")]
    chosen += [(name, "executors") for name in settings.executors]
    for name, field in chosen:
        factory = load(EXECUTORS, name, what="executor", field=field, external=True)
        check = getattr(factory, "check", None)
        if check is not None:
            check(settings)


def runner_command(python: str, folder: Path) -> list[str]:
    """The command that runs a job's runner in the work folder ``folder``."""
    return [python, "-m", "dockyard.runtime.runner._runner", str(folder)]


def runner_environment(launch: Launch, cache: Path) -> dict[str, str]:
    """The variables a runner is started with (added to the executor's own environment):
    where the server is, which job, its token, and the folder for its caches."""
    env = {
        RUNNER_SERVER: launch["server_url"],
        RUNNER_JOB: launch["job"],
        RUNNER_CACHE: str(cache),
    }
    if launch["token"]:
        env[RUNNER_TOKEN] = launch["token"]
    return env
