"""A worker's own output into its bounded log (layout: :mod:`dockyard.api.serving.logs`).

:class:`CappedOutput` points the process's stdout and stderr (file descriptors 1 and 2, so
what C code and uncaught tracebacks write goes there too) at the log's current segment, opened
for append. A thread looks at the segment's size about once a second: it notes a time mark
when the size changed, and starts the next segment once this one is full (open it, point 1
and 2 at it, read where the old one ended, name the new one by that offset, delete the oldest).
Nothing runs on the request path: writers write to a file as before.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path
from typing import TextIO

from dockyard.api.serving.logs import KEEP_SEGMENTS, MAX_MARKS, SEGMENT_BYTES, segment_name

__all__ = ["CappedOutput"]

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_APPEND
_NEXT = ".next"


class CappedOutput:
    """Stdout and stderr of this process into the log in ``folder``.

    Args:
        folder: The worker's log folder (made if missing).
        segment_bytes: Bytes a segment holds before the next is started.
        keep: Segments kept.
        interval_s: Time between looks at the segment (time marks and rotation).
    """

    def __init__(
        self,
        folder: Path,
        *,
        segment_bytes: int = SEGMENT_BYTES,
        keep: int = KEEP_SEGMENTS,
        interval_s: float = 1.0,
    ) -> None:
        self.folder = folder
        self._segment_bytes = segment_bytes
        self._keep = max(1, keep)
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start = 0
        self._fd = -1
        self._times = -1
        self._seen = 0
        self._marks = 0
        self._lock = threading.Lock()

    def start(self) -> tuple[TextIO, TextIO]:
        """Redirect stdout and stderr; returns streams on the ones they pointed at before (the
        launcher's: where the worker's ready line and start errors go)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        starts = sorted(int(p.name) for p in self.folder.iterdir() if p.name.isdigit())
        if starts:  # a worker started again on the same folder: carry on after its bytes
            last = self.folder / segment_name(starts[-1])
            self._start = starts[-1] + last.stat().st_size
        self._open(self._start)
        import sys

        sys.stdout.flush()
        sys.stderr.flush()
        was_out = os.fdopen(os.dup(1), "w", buffering=1)
        was_err = os.fdopen(os.dup(2), "w", buffering=1)
        os.dup2(self._fd, 1)
        os.dup2(self._fd, 2)
        self._thread = threading.Thread(target=self._run, name="dockyard-output", daemon=True)
        self._thread.start()
        return was_out, was_err

    def close(self) -> None:
        """Note the last time mark and stop looking (the descriptors stay on the log)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.check()

    def _open(self, start: int) -> None:
        self._fd = os.open(self.folder / segment_name(start), _FLAGS, 0o644)
        self._times = os.open(self.folder / (segment_name(start) + ".times"), _FLAGS, 0o644)
        self._seen, self._marks = os.fstat(self._fd).st_size, 0

    def check(self) -> None:
        """Note a time mark and start the next segment if this one is full: what the thread
        does every ``interval_s``."""
        with self._lock:
            self._look()

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            with contextlib.suppress(OSError):  # a full disk: try again later
                self.check()

    def _look(self) -> None:
        size = os.fstat(self._fd).st_size
        if size != self._seen:
            self._mark(size)
        if size >= self._segment_bytes or self._marks >= MAX_MARKS:
            self._rotate()

    def _mark(self, size: int) -> None:
        os.write(self._times, f"{self._start + size} {time.time_ns() // 1_000_000}\n".encode())
        self._seen = size
        self._marks += 1

    def _rotate(self) -> None:
        following = self.folder / _NEXT
        fd = os.open(following, _FLAGS | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        size = os.fstat(self._fd).st_size  # what was written up to the switch
        if size != self._seen:
            self._mark(size)
        os.close(self._fd)
        os.close(self._times)
        self._start += size
        following.rename(self.folder / segment_name(self._start))
        os.close(fd)
        self._open(self._start)  # the same file: 1 and 2 point at it already
        self._seen = 0  # what was written since the switch gets its mark at the next look
        starts = sorted(int(p.name) for p in self.folder.iterdir() if p.name.isdigit())
        for old in starts[: -self._keep]:
            for name in (segment_name(old), segment_name(old) + ".times"):
                with contextlib.suppress(FileNotFoundError):
                    (self.folder / name).unlink()
