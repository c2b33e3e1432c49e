"""A worker's output into its bounded log: a child process redirects its own stdout and stderr
(the redirection is process-wide), and the server-side reader reads what it wrote."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

from dockyard.api.serving.logs import WorkerLog

CHILD = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from dockyard.runtime.serving._output import CappedOutput

    output = CappedOutput(Path(sys.argv[1]), segment_bytes=100, keep=2, interval_s=3600)
    announce, errors = output.start()
    announce.write("ready\\n")
    announce.flush()
    for n in range(12):
        print(f"line {n:02d} from print")  # 19 bytes
        sys.stdout.flush()
        os.write(2, f"line {n:02d} from fd 2\\n".encode())  # 18 bytes
        output.check()
    errors.write("done\\n")
    output.close()
    """
)


def test_output_goes_to_a_capped_log_with_stable_offsets(tmp_path: Path) -> None:
    folder = tmp_path / "logs" / "i-1"
    before = time.time_ns() // 1_000_000
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(folder)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    after = time.time_ns() // 1_000_000
    assert done.returncode == 0, done.stderr
    # The streams the process had before (its launcher's) get only what is sent there.
    assert done.stdout == "ready\n" and done.stderr == "done\n"
    log = WorkerLog(folder)
    first, end = log.bounds()
    assert end == 12 * 37  # every byte counted, dropped or not
    assert 0 < first < end  # the oldest segments were dropped...
    segments = sorted(p.name for p in folder.iterdir() if p.name.isdigit())
    assert len(segments) <= 2 and int(segments[0]) == first  # ...keeping two
    chunk = log.read(0, 1 << 20)  # from a dropped offset: moved on to the first byte kept
    assert chunk.offset == first and chunk.end == end
    text = chunk.data.decode()
    assert text.endswith("line 11 from print\nline 11 from fd 2\n")
    # Offsets are stable: a line's offset says where it is in the whole output.
    line = b"line 11 from print\n"
    assert log.read(end - 37, len(line)).data == line
    assert chunk.marks and all(before <= ms <= after for _, ms in chunk.marks)
    assert chunk.time_of(end, default=0) > 0 and chunk.time_of(end + 1, default=-1) == -1
    assert log.read(end, 10).data == b""
