"""What the runner does for each kind of job, by name (:data:`dockyard.plugins.RUNNER_KINDS`).

The runner (:mod:`dockyard.runtime.runner._runner`) owns what every kind shares: attempts and
retries, the job's process (output, limits, stops), metrics, the final status. A kind says how to
get ready for an attempt, which process to start and how, and what a successful job leaves behind.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from dockyard.runtime.runner._runner import Runner

__all__ = ["MonitoringWork", "TrainingWork", "TransformWork", "Work"]

Preexec = Callable[[], None] | None


class Work(Protocol):
    """One kind's part of a runner (built with the runner, once its launch is known)."""

    #: The secondary status of a running attempt (``Training``, ``Transforming``).
    status: str
    #: Whether the job's process runs as ``DOCKYARD_JOB_USER`` (user code does; Dockyard's
    #: own processes holding the store's credentials do not).
    as_job_user: bool

    def prepare(self, attempt: int) -> None:
        """Get the work folder ready for ``attempt`` (1 is the first)."""
        ...

    def command(self) -> tuple[list[str], Path]:
        """The job's process: its command line and working folder."""
        ...

    def process(self, options: dict[str, Any]) -> tuple[dict[str, Any], Preexec]:
        """``subprocess.Popen`` options (given the environment and user) and the child's
        ``preexec_fn``, which must arm the runner's death signal."""
        ...

    def complete(self, extra: dict[str, Any], message: str) -> str:
        """After a successful attempt: keep what the job made (``extra`` takes the final
        status's fields); returns the final message. Raising fails the job."""
        ...

    def forkable(self) -> Callable[[], int] | None:
        """The job's process as a function the runner may run in a fork of itself instead of
        starting :meth:`command` (its modules are loaded already); None: start the command."""
        ...


class TrainingWork:
    """A training script, module or built-in algorithm in SageMaker's ``/opt/ml`` layout."""

    status = "Training"
    as_job_user = True

    def __init__(self, runner: Runner) -> None:
        self._runner = runner

    def prepare(self, attempt: int) -> None:
        from dockyard.api.jobs import chown_tree, hand_over
        from dockyard.runtime.runner._channels import record_channels
        from dockyard.runtime.runner._prepare import prepare, restore_checkpoints

        runner = self._runner
        if attempt == runner.first_attempt:  # a fresh folder (a later attempt after a lost node)
            runner.events.emit("Downloading")
            prepare(runner.dir, runner.spec, runner.job)
            record_channels(runner)  # the run's datasets: a version it registers shows them
            self._own_environment()
            if runner.user is not None:
                hand_over(runner.dir, runner.user)
            return  # the checkpoints were restored with the rest
        restore_checkpoints(runner.dir, runner.spec, runner.job)
        if runner.user is not None:
            chown_tree(runner.dir.checkpoints, runner.user)  # restored fresh, by the runner

    def _own_environment(self) -> None:
        """Use the environment ``requirements.txt`` asks for, building it on first use."""
        import time

        runner = self._runner
        if not (runner.dir.code / "requirements.txt").is_file():
            return
        from dockyard.runtime.runner._env import job_python

        runner.say("preparing the environment from requirements.txt")
        started = time.monotonic()
        runner.job["python"] = job_python(runner.dir.code, Path(runner.job["env_cache"]))
        runner.say(
            f"environment ready in {time.monotonic() - started:.1f} s: {runner.job['python']}"
        )

    def command(self) -> tuple[list[str], Path]:
        runner = self._runner
        python = runner.job.get("python") or sys.executable
        spec, folder = runner.spec, runner.dir
        if spec.get("algorithm"):
            from dockyard.algorithms import BUILTIN_ALGORITHMS

            return BUILTIN_ALGORITHMS[spec["algorithm"]].command(python), folder.root
        args: list[str] = []
        for key, value in spec["hyperparameters"].items():
            args += [f"--{key}", value]  # SageMaker script mode passes hyperparameters as flags
        if spec.get("module"):
            cwd = folder.code if folder.code.exists() else folder.root
            return [python, "-m", spec["module"], *args], cwd
        return [python, spec["entry_point"], *args], folder.code

    def process(self, options: dict[str, Any]) -> tuple[dict[str, Any], Preexec]:
        from dockyard.runtime.runner._optml import OptMl

        runner = self._runner
        # Training code sees its folder at /opt/ml; the child mounts it, then switches to the
        # job user and arms the death signal itself.
        optml = OptMl(runner.dir, runner.user, enabled=bool(runner.job.get("opt_ml", True)))
        return optml.popen_options(options), optml.enter

    def forkable(self) -> Callable[[], int] | None:
        return None  # user code: a new interpreter, maybe as the job user, in /opt/ml

    def complete(self, extra: dict[str, Any], message: str) -> str:
        from dockyard.runtime.runner._finish import keep_outputs

        return keep_outputs(self._runner, extra, message)


class TransformWork:
    """Batch transform (:mod:`dockyard.runtime.runner._transform`) as Dockyard's own process."""

    status = "Transforming"
    as_job_user = False

    def __init__(self, runner: Runner) -> None:
        self._runner = runner

    def prepare(self, attempt: int) -> None:
        runner = self._runner
        runner.dir.create()
        # The transform process reads its job from the runner's own folder. It holds the
        # job's token: readable by the runner's user only.
        fd = os.open(runner.dir.job_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(runner.job, out)

    def command(self) -> tuple[list[str], Path]:
        runner = self._runner
        python = runner.job.get("python") or sys.executable
        return [
            python,
            "-m",
            "dockyard.runtime.runner._transform",
            str(runner.dir.root),
        ], runner.dir.root

    def forkable(self) -> Callable[[], int] | None:
        # Only in a runner that has the transform's modules loaded (a warm one): elsewhere a
        # fork would import them just as a new interpreter does. Never in another interpreter.
        transform = sys.modules.get("dockyard.runtime.runner._transform")
        if transform is None or self._runner.job.get("python"):
            return None
        folder = str(self._runner.dir.root)
        run: Callable[[list[str]], int] = transform.run
        return lambda: run([folder])

    def process(self, options: dict[str, Any]) -> tuple[dict[str, Any], Preexec]:
        from dockyard.runtime.runner._contract import store_environment
        from dockyard.runtime.runner._process import die_with_runner

        options["env"].update(store_environment(self._runner.job))
        return options, die_with_runner()

    def complete(self, extra: dict[str, Any], message: str) -> str:
        path = self._runner.dir.control / "result.json"
        if not path.is_file():
            return message
        result = json.loads(path.read_text())
        return (
            f"{result['records']} records scored, {result['bad_records']} bad; "
            f"{result['shards_reused']} of {result['shards_total']} shards reused from an "
            f"earlier attempt; outputs at {result['output_uri']}"
        )


class MonitoringWork(TransformWork):
    """A monitoring check or baseline (:mod:`dockyard.runtime.monitor`) as Dockyard's own
    process: it reads the job from the runner's folder, as a transform does."""

    status = "Monitoring"

    def command(self) -> tuple[list[str], Path]:
        runner = self._runner
        python = runner.job.get("python") or sys.executable
        return [python, "-m", "dockyard.runtime.monitor", str(runner.dir.root)], runner.dir.root

    def forkable(self) -> Callable[[], int] | None:
        monitor = sys.modules.get("dockyard.runtime.monitor._main")
        if monitor is None or self._runner.job.get("python"):
            return None
        folder = str(self._runner.dir.root)
        run: Callable[[list[str]], int] = monitor.run
        return lambda: run([folder])

    def complete(self, extra: dict[str, Any], message: str) -> str:
        path = self._runner.dir.control / "result.json"
        if not path.is_file():
            return message
        result = json.loads(path.read_text())
        return str(result.get("message") or message)
