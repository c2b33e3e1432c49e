"""Entry point of a pipeline function call (see the package docstring); with ``--warm``, the
warm process that forks calls (:mod:`dockyard.runtime.functions._warm`).

A call (``python -m dockyard.runtime.functions REFERENCE [CALLER_PID]``) ends with its caller:
once the process that started it is gone (a server killed outright), its answer has nowhere to
go and the resumed engine calls the function again, so the call kills its session rather than
run on beside its repetition, unwatched and past its timeout.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

from dockyard.runtime.functions._call import answer

_CALLER_CHECK_S = 0.5  # how often a call looks whether its caller is still there


def _end_with(caller: int) -> None:
    while os.getppid() == caller:
        time.sleep(_CALLER_CHECK_S)
    if os.getpgrp() == os.getpid():  # the call leads its session: the function's tree too
        os.killpg(os.getpid(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


def main() -> int:
    if sys.argv[1:2] == ["--warm"]:
        from dockyard.runtime.functions._warm import serve

        return serve(sys.argv[2:])
    caller = int(sys.argv[2]) if len(sys.argv) > 2 else os.getppid()
    threading.Thread(target=_end_with, args=(caller,), name="dockyard-caller", daemon=True).start()
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout = sys.stderr  # prints go to the log, never into the answer
    text = answer(sys.argv[1], sys.stdin.read())
    out.write(text)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
