"""The models' libraries the warm process learns from the transforms it has run.

A tiny transform is scored in its own process, forked (through its runner) from the warm
process (:mod:`dockyard.runtime.runner._zygote`). What it spends most of its time on by default
is importing the model's library: scikit-learn with pandas is ~1.2 s of CPU, against ~0.4 s for
everything else the job does. So each transform process appends the names of the modules it
imported, and those its batch workers imported to load the model (:func:`record`), to a file
in the runners' cache, and the warm process imports them
(:class:`Learner`), one at a time between fork requests, so the next transform of a model of
the same kind finds them loaded, as ``DOCKYARD_EXECUTOR_PRELOAD`` would have them, without anyone
having to name them. The file outlives the server: a restarted warm process imports them again.

Only installed libraries are learned: a module whose top-level package is no installed
distribution's and not the standard library's (a model's own code, found through its package's
``code`` folder) is never imported in the warm process, which holds the store's credentials. A
module whose import started a thread would stop the warm process from forking: it is written to
a second file (``<file>.refused``) that the warm process reads first, and the warm process
exits, so the next one (started on the next request) does without it.
"""

from __future__ import annotations

import collections
import contextlib
import importlib
import os
import sys
import threading
from collections.abc import Collection
from pathlib import Path

__all__ = ["LEARNED_FILE", "Learner", "record"]

#: The file in the runners' cache folder (``<work_root>/.cache``).
LEARNED_FILE = "warm-modules.txt"
#: Past this size the file learns nothing more (a few thousand module names).
_MAX_BYTES = 512 * 1024


def record(path: Path, before: Collection[str], also: Collection[str] = ()) -> int:
    """Append to ``path`` the modules this process imported since it had ``before``, and
    those of ``also`` (what its batch workers imported) it did not have then.

    Returns how many names were new to the file. Never raises: learning is an optimisation,
    and a cache folder that cannot be written costs only the next job's imports.
    """
    names = [
        name
        for name, module in list(sys.modules.items())
        if module is not None and name not in before and not name.startswith("__")
    ]
    names += [name for name in also if name not in before and not name.startswith("__")]
    names = list(dict.fromkeys(names))
    if not names:
        return 0
    try:
        known = path.read_bytes() if path.exists() else b""
        if len(known) > _MAX_BYTES:
            return 0
        seen = set(known.decode("utf-8", "replace").split())
        new = [name for name in names if name not in seen]
        if not new:
            return 0
        # One append of whole lines: concurrent transforms interleave lines, never characters.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, "".join(f"{name}\n" for name in new).encode())
        finally:
            os.close(fd)
    except OSError:
        return 0
    return len(new)


class Learner:
    """The warm process's side: reads what was learned since it last looked and imports it,
    one module per :meth:`step`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.refused_path = path.with_name(path.name + ".refused")
        self._offset = 0
        self._pending: collections.deque[str] = collections.deque()
        self._tried: set[str] = set()
        self._libraries: frozenset[str] | None = None
        with contextlib.suppress(OSError):
            self._tried.update(self.refused_path.read_text().split())

    @property
    def pending(self) -> bool:
        """Whether modules wait to be imported."""
        return bool(self._pending)

    def poll(self) -> None:
        """Queue the names appended to the file since the last look."""
        try:
            with self.path.open("rb") as file:
                file.seek(self._offset)
                data = file.read()
        except OSError:
            return
        end = data.rfind(b"\n") + 1  # a line being written is read once it is whole
        self._offset += end
        for name in data[:end].decode("utf-8", "replace").split():
            if name not in self._tried and name not in sys.modules and self._installed(name):
                self._tried.add(name)
                self._pending.append(name)

    def step(self) -> str | None:
        """Import the next queued module. Returns its name if importing it started a thread
        (it is refused from now on, and this process can fork no more); None otherwise."""
        if not self._pending:
            return None
        name = self._pending.popleft()
        threads = threading.active_count()
        # What fails to import only costs the jobs that need it their import (as before).
        with contextlib.suppress(Exception, SystemExit):
            importlib.import_module(name)
        if threading.active_count() <= threads:
            return None
        with contextlib.suppress(OSError), self.refused_path.open("a") as refused:
            refused.write(f"{name}\n")
        return name

    def _installed(self, name: str) -> bool:
        top = name.partition(".")[0]
        if top in sys.stdlib_module_names or top == "dockyard":
            return True
        if self._libraries is None:
            from importlib.metadata import packages_distributions

            self._libraries = frozenset(packages_distributions())
        return top in self._libraries
