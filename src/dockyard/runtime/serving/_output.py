"""A worker's own output into its bounded log (layout: :mod:`dockyard.api.serving.logs`).

:class:`CappedOutput` points the process's stdout and stderr (file descriptors 1 and 2, so
what C code and uncaught tracebacks write goes there too) at the log's current segment, opened
for append. A thread looks at the segment's size (an ``fstat``) ten times a second, sooner
when output comes fast enough to fill the segment before then: it notes a time mark at most
once a second (``interval_s``) when the size changed, and starts the next segment once this one
is full (open it, point 1 and 2 at it, read where the old one ended, name the new one by that
offset, delete the oldest). Nothing runs on the request path: writers write to a file as before.
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
_LOOK_S = 0.1  # between looks at the segment's size (an fstat)
_MIN_LOOK_S = 0.005


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
        self._seen = 0  # the size at the last mark
        self._size = 0  # the size at the last look
        self._marks = 0
        self._marked_at = 0.0
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
        self._seen = self._size = os.fstat(self._fd).st_size
        self._marks = 0

    def check(self) -> None:
        """Note a time mark and start the next segment if this one is full."""
        with self._lock:
            self._look(always_mark=True)

    def _run(self) -> None:
        wait = _LOOK_S
        before = time.monotonic()
        while not self._stop.wait(wait):
            grown = 0
            with contextlib.suppress(OSError), self._lock:  # a full disk: try again later
                grown = self._look(always_mark=False)
            now = time.monotonic()
            rate = grown / max(now - before, 1e-3)
            before = now
            # Look again before the segment could fill at this rate: a process that writes
            # fast overshoots the cap by a fraction of it, not by a second of output.
            room = max(0, self._segment_bytes - self._size)
            wait = _LOOK_S if not rate else min(_LOOK_S, room / rate / 2)
            wait = max(_MIN_LOOK_S, wait)

    def _look(self, *, always_mark: bool) -> int:
        """Mark and rotate as due; returns the bytes written since the last look."""
        size = os.fstat(self._fd).st_size
        grown = max(0, size - self._size)
        self._size = size
        now = time.monotonic()
        if size != self._seen and (always_mark or now - self._marked_at >= self._interval_s):
            self._mark(size)
            self._marked_at = now
        if size >= self._segment_bytes or self._marks >= MAX_MARKS:
            self._rotate()
        return grown

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
        self._seen = self._size = 0  # what was written since the switch: marked next time
        starts = sorted(int(p.name) for p in self.folder.iterdir() if p.name.isdigit())
        for old in starts[: -self._keep]:
            for name in (segment_name(old), segment_name(old) + ".times"):
                with contextlib.suppress(FileNotFoundError):
                    (self.folder / name).unlink()
