"""Entry point of a pipeline function call (see the package docstring); with ``--warm``, the
warm process that forks calls (:mod:`dockyard.runtime.functions._warm`)."""

from __future__ import annotations

import os
import sys

from dockyard.runtime.functions._call import answer


def main() -> int:
    if sys.argv[1:2] == ["--warm"]:
        from dockyard.runtime.functions._warm import serve

        return serve(sys.argv[2:])
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout = sys.stderr  # prints go to the log, never into the answer
    text = answer(sys.argv[1], sys.stdin.read())
    out.write(text)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
