"""One job's runner process: ``python -m dockyard.runtime.runner._runner WORK_FOLDER``.

An executor starts it (:mod:`dockyard.api.jobs._executor`) with the server's URL, the job's name
and the runner's token in its environment (``DOCKYARD_RUNNER_*``), and a work folder of its
own. It needs nothing else of the server's: it fetches its launch description (spec, run,
settings) from the API, lays out SageMaker's ``/opt/ml`` in its folder, runs the job's code with
the ``SM_*`` environment, enforces the memory limit and maximum runtime, honours stop requests
(from the API, or SIGTERM; SIGKILL after a grace period), parses metric lines, retries, and
finally keeps what the job made. Its log and status go to the API as they are written
(:mod:`dockyard.runtime.runner._uplink`); it runs detached from the server (its own session), so a
server restart neither stops the job nor loses what it reports meanwhile.

What differs between kinds of job is the kind's :class:`~dockyard.runtime.runner._work.Work`. The
job's process dies with the runner (``PR_SET_PDEATHSIG``): a runner killed outright must not leave a
script or a transform running that nobody watches, whose job the scheduler has already
failed. Imports are kept light until the job's process has started: the time from submit to
the first line of user code is a number users feel.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.api.jobs import (
    RUNNER_ATTEMPT,
    RUNNER_CACHE,
    RUNNER_JOB,
    RUNNER_SERVER,
    RUNNER_TOKEN,
    JobDir,
    JobUser,
)
from dockyard.client.http import Client, SocketTransport, routes
from dockyard.runtime.runner._events import EventWriter
from dockyard.runtime.runner._files import read_text
from dockyard.runtime.runner._learned import LEARNED_FILE
from dockyard.runtime.runner._mask import Masker
from dockyard.runtime.runner._optml import MISSING
from dockyard.runtime.runner._process import ExitWatch, keep_private, signal_group
from dockyard.runtime.runner._uplink import Uplink

if TYPE_CHECKING:
    from dockyard.runtime.runner._forked import ForkedProcess

    Process = subprocess.Popen[bytes] | ForkedProcess

__all__ = ["main"]

_POLL_S = 0.05
_TAIL_LINES = 25


class _Outcome:
    def __init__(self, kind: str, message: str = "", exit_code: int | None = None) -> None:
        self.kind = kind  # ok | failed | stopped | runtime | memory
        self.message = message
        self.exit_code = exit_code


class Runner:
    """Runs one job in ``folder``, as the server describes it.

    Args:
        folder: The runner's work folder for this job (its own; the server never reads it).
        server: The server's URL.
        job: The job's name.
        token: The runner's token (None on a server without accounts).
        cache: Where environments and models fetched for jobs are kept between jobs.
    """

    def __init__(self, folder: Path, server: str, job: str, token: str | None, cache: Path) -> None:
        from dockyard.plugins import RUNNER_KINDS, load

        self.dir = JobDir(folder)
        # Plain sockets: the runner's process imports no HTTP library
        # (dockyard.client.http._sockets).
        with Client(server, token=token, transport=SocketTransport()) as client:
            launch = client.call(routes.LAUNCH_JOB(name=job), {})
        self.job: dict[str, Any] = {
            **launch,
            "server_url": server,
            "env_cache": str(cache / "envs"),
            "model_cache": str(cache / "models"),
            "warm_modules": str(cache / LEARNED_FILE),
        }
        self.spec: dict[str, Any] = launch["spec"]
        # The job's own token too: a script that prints its environment would otherwise hand
        # it to everyone who may read the log, to act as the job until it ends.
        self.masker = Masker([*(launch.get("masked") or []), launch.get("token") or ""])
        # A runner started again after its machine was lost goes on with the job's attempts.
        self.first_attempt = max(1, int(os.environ.get(RUNNER_ATTEMPT, "1")))
        self.stop_requested = threading.Event()
        self.tail: deque[str] = deque(maxlen=_TAIL_LINES)
        self.metrics: Any = None  # a MetricParser, built lazily (it imports the HTTP client)
        self.no_opt_ml: str | None = None  # the log line saying /opt/ml could not be mounted
        self.work = load(RUNNER_KINDS, launch["kind"], what="job kind")(self)
        user = self.job.get("user") if self.work.as_job_user else None
        self.user = JobUser.from_dict(user) if user else None
        self.dir.control.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.dir.events.unlink(missing_ok=True)  # each launch reports from a fresh outbox
        log_from = self.dir.log.stat().st_size if self.dir.log.exists() else 0
        self.uplink = Uplink(
            server,
            job,
            token,
            events=self.dir.events,
            log=self.dir.log,
            log_from=log_from,
            log_at=int(launch["log_offset"]),
            on_stop=self.stop_requested.set,
        )
        self.events = EventWriter(self.dir.events, on_emit=self.uplink.wake)

    def run(self) -> int:
        signal.signal(signal.SIGTERM, lambda *_: self.stop_requested.set())
        # A job's process forked from the runner must be forked while it has one thread: the
        # uplink's starts once the process has (what it sends meanwhile waits in the outbox).
        if self.work.forkable() is None:
            self.uplink.start()
        try:
            outcome = self._attempts()
        except Exception as exc:
            outcome = _Outcome("failed", f"the job could not run: {exc}")
        self.uplink.start()
        code = self._finish(outcome)
        self.uplink.close()  # the rest of the log, then the final status
        return code

    def say(self, line: str) -> None:
        """A line of Dockyard's own in the job's log."""
        with self.dir.log.open("ab") as log:
            log.write(f"[dockyard] {line}\n".encode())

    def _attempts(self) -> _Outcome:
        retry = self.spec.get("retry_strategy") or {"max_attempts": 1}
        max_attempts = int(retry["max_attempts"])
        outcome = _Outcome("failed", "no attempt ran")
        first = self.first_attempt
        if first > 1:
            outcome.message = "the machine running the job was lost"
        for attempt in range(first, max_attempts + 1):
            if self._stop_seen():
                return _Outcome("stopped", "stopped by request")
            if attempt > 1:
                self.events.emit(
                    "Restarting", f"attempt {attempt} of {max_attempts}: {outcome.message}"
                )
            self.work.prepare(attempt)
            self.events.emit(self.work.status)
            outcome = self._execute(attempt)
            if outcome.kind != "failed":
                break
        return outcome

    def job_process(self) -> dict[str, Any]:
        """``subprocess.Popen`` arguments for a process that runs the job's code (or unpickles
        what it saved): its clean environment and, when set, the job user."""
        from dockyard.runtime.runner._contract import environment

        options: dict[str, Any] = {"env": environment(self.dir, self.spec, self.job)}
        if self.user is not None:
            options.update(self.user.popen_options())
        return options

    def _execute(self, attempt: int) -> _Outcome:
        command, cwd = self.work.command()
        # The preexec function is safe with the runner's threads: between fork and exec it
        # makes a few system calls and takes no lock (the libc symbols were looked up before
        # the fork); it arms the death signal after any switch of user, which would clear it.
        options, preexec = self.work.process(self.job_process())
        log = self.dir.log.open("ab", buffering=0)
        log.write(f"[dockyard] attempt {attempt}: {' '.join(command)}\n".encode())
        forkable = self.work.forkable()
        proc: Process
        if forkable is not None and set(options) == {"env"} and threading.active_count() == 1:
            from dockyard.runtime.runner._forked import fork_job

            proc = fork_job(forkable, cwd, options["env"], preexec)
        else:
            proc = subprocess.Popen(
                command,
                cwd=cwd,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a signal to the group reaches the user's whole tree
                preexec_fn=preexec,  # noqa: PLW1509
                **options,
            )
        self.uplink.start()
        reader = threading.Thread(target=self._pump, args=(proc, log), daemon=True)
        reader.start()
        outcome = self._watch(proc)
        reader.join(10)  # the last lines, written just before exit, are in the tail only now
        log.close()
        if outcome.kind == "failed" and outcome.exit_code is not None:
            outcome.message = self._failure_reason(outcome.exit_code)
        return outcome

    def _pump(self, proc: Process, log: Any) -> None:
        assert proc.stdout is not None
        # The metric parser brings an HTTP client: only jobs that define metrics pay for it.
        parses_metrics = bool(self.spec.get("metric_definitions") or self.spec.get("algorithm"))
        masker = self.masker
        for read in iter(proc.stdout.readline, b""):
            raw = masker.line(read) if masker else read
            log.write(raw)
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.tail.append(line)
            if self.no_opt_ml is None and line.startswith(MISSING):
                self.no_opt_ml = line
            if parses_metrics:
                if self.metrics is None:
                    from dockyard.runtime.runner._metrics import MetricParser

                    self.metrics = MetricParser(self.spec, self.job)
                self.metrics.feed(line)

    def _watch(self, proc: Process) -> _Outcome:
        with ExitWatch(proc.pid) as exits:
            return self._watch_until_exit(proc, exits)

    def _watch_until_exit(self, proc: Process, exits: ExitWatch) -> _Outcome:
        limit_mb = (self.spec.get("resources") or {}).get("memory_mb")
        max_runtime = (self.spec.get("stopping_condition") or {}).get("max_runtime_s", 86_400 * 28)
        deadline = time.monotonic() + int(max_runtime)
        peak_mb = 0.0
        watcher = _MemoryWatcher(proc.pid) if limit_mb else None
        syncer = _CheckpointSyncer(self) if self.spec.get("checkpoint") else None
        while proc.poll() is None:
            if syncer is not None:
                syncer.maybe_sync()
            if self._stop_seen():
                self._terminate(proc)
                return _Outcome("stopped", "stopped by request")
            if time.monotonic() > deadline:
                self._terminate(proc)
                return _Outcome(
                    "runtime", f"stopped after reaching the maximum runtime of {max_runtime} s"
                )
            if watcher is not None and limit_mb is not None:
                peak_mb = max(peak_mb, watcher.rss_mb())
                if peak_mb > limit_mb:
                    self._kill(proc)
                    return _Outcome(
                        "memory",
                        f"memory limit exceeded: the job used {peak_mb:.0f} MB, its limit is "
                        f"{limit_mb} MB",
                    )
            # Returns as soon as the process ends: its end is reported without a poll's delay.
            if not exits.wait(_POLL_S):
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(_POLL_S)
        code = proc.returncode
        if code == 0:
            return _Outcome("ok", exit_code=0)
        return _Outcome("failed", exit_code=code)

    def _failure_reason(self, code: int) -> str:
        # Written by the job: read without following a link it may have left there instead.
        text = self.masker.text(read_text(self.dir.failure, 4000) or "").strip()
        if text:
            return text
        how = f"signal {-code}" if code < 0 else f"exit code {code}"
        lines = "\n".join(self.tail) or "(no output)"
        reason = f"the job's process ended with {how}; last lines of its log:\n{lines}"
        from dockyard.runtime.runner._compat import failure_hint

        hint = failure_hint(lines, self.no_opt_ml)
        return f"{reason}\n{hint}" if hint else reason

    def _stop_seen(self) -> bool:
        return self.stop_requested.is_set()

    def _terminate(self, proc: Process) -> None:
        signal_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(float(self.job.get("stop_grace_s", 10)))
        except subprocess.TimeoutExpired:
            self._kill(proc)

    @staticmethod
    def _kill(proc: Process) -> None:
        signal_group(proc.pid, signal.SIGKILL)
        proc.wait()

    def _finish(self, outcome: _Outcome) -> int:
        from dockyard.runtime.runner._finish import finish

        return finish(self, outcome.kind, outcome.message, outcome.exit_code)


class _CheckpointSyncer:
    """Copies ``checkpoints/`` to the checkpoint URI every ``checkpoint_sync_s`` while the
    job runs (on a thread: a slow store never delays stop or limit handling), so a crash of the
    whole machine loses at most that much progress."""

    def __init__(self, runner: Runner) -> None:
        self._runner = runner
        self._every = float(runner.job.get("checkpoint_sync_s", 10.0))
        self._next = time.monotonic() + self._every
        self._thread: threading.Thread | None = None

    def maybe_sync(self) -> None:
        if time.monotonic() < self._next or (self._thread and self._thread.is_alive()):
            return
        self._next = time.monotonic() + self._every
        self._thread = threading.Thread(target=self._sync, daemon=True)
        self._thread.start()

    def _sync(self) -> None:
        from dockyard.runtime.runner._prepare import save_checkpoints

        runner = self._runner
        try:
            save_checkpoints(runner.dir, runner.spec, runner.job)
        except Exception as exc:
            with runner.dir.log.open("ab") as log:
                log.write(f"[dockyard] checkpoint sync failed: {exc}\n".encode())


class _MemoryWatcher:
    """Resident memory of the job's whole process tree."""

    def __init__(self, pid: int) -> None:
        import psutil

        self._root = psutil.Process(pid)
        self._psutil = psutil

    def rss_mb(self) -> float:
        total = 0
        try:
            procs = [self._root, *self._root.children(recursive=True)]
        except self._psutil.Error:
            return 0.0
        for proc in procs:
            try:
                total += proc.memory_info().rss
            except self._psutil.Error:
                continue
        return total / (1024 * 1024)


def main(argv: list[str] | None = None) -> int:
    keep_private()  # before the token is read: the job may run as this user
    args = sys.argv[1:] if argv is None else argv
    server = os.environ.get(RUNNER_SERVER)
    job = os.environ.get(RUNNER_JOB)
    if len(args) != 1 or not server or not job:
        print(
            f"usage: {RUNNER_SERVER}=URL {RUNNER_JOB}=NAME [{RUNNER_TOKEN}=TOKEN] "
            "python -m dockyard.runtime.runner._runner WORK_FOLDER",
            file=sys.stderr,
        )
        return 2
    folder = Path(args[0])
    # Out of the environment at once: no process the runner starts inherits it.
    token = os.environ.pop(RUNNER_TOKEN, None)
    cache = Path(os.environ.get(RUNNER_CACHE) or folder.parent / ".cache")
    try:
        runner = Runner(folder, server, job, token, cache)
    except Exception as exc:
        # Before the runner can report: its own output is what the executor shows.
        print(f"[dockyard runner] job {job} could not start: {exc}", flush=True)
        return 1
    return runner.run()


if __name__ == "__main__":
    sys.exit(main())
