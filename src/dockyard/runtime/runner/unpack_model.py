"""A job's program that unpacks a ``model.tar.gz`` (SageMaker's model artifact) into the model
folder: ``python -m dockyard.runtime.runner.unpack_model``, with the archive in the ``model``
channel. The runner then packages what it finds there as it does any job's model folder, in
the job's own process: a model made elsewhere is never unpickled by the server.

Tar's ``data`` filter refuses members that would leave the folder (``..``, links out, devices).
"""

from __future__ import annotations

import os
import sys
import tarfile
from pathlib import Path

__all__ = ["main"]


def main() -> int:
    channel = Path(os.environ["SM_CHANNEL_MODEL"])
    model_dir = Path(os.environ["SM_MODEL_DIR"])
    archives = sorted(p for p in channel.rglob("*") if p.name.endswith((".tar.gz", ".tgz")))
    if len(archives) != 1:
        print(f"the model channel holds {len(archives)} .tar.gz files, not one", file=sys.stderr)
        return 1
    try:
        with tarfile.open(archives[0], "r:gz") as tar:
            tar.extractall(model_dir, filter="data")
    except (tarfile.TarError, OSError) as exc:
        print(f"{archives[0].name} does not unpack safely: {exc}", file=sys.stderr)
        return 1
    print(f"unpacked {archives[0].name}: {sorted(p.name for p in model_dir.iterdir())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
