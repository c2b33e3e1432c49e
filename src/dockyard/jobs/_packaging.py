"""Turn what a job saved in ``SM_MODEL_DIR`` into a Dockyard model package.

The runner runs this as ``python -m dockyard.jobs._packaging MODEL_DIR DEST`` in a process of
the job's own (its environment and user): loading a native model unpickles what the job wrote.

A package (an ``MLmodel`` file) is kept as it is. A native model file (the names and formats
SageMaker's containers accept: :mod:`dockyard.jobs._model_files`) is wrapped, with its
signature inferred from ``input_example.csv`` / ``input_example.json`` beside it when present
(the built-in algorithms write one; a script can too). A file that does not load, or a model
no flavor saves, exits 1 with one line saying why; the runner then keeps the folder as files.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from dockyard.errors import InvalidArgument
from dockyard.jobs._model_files import EXAMPLES, find_native

__all__ = ["package_model"]


def _example(model_dir: Path) -> Any:
    import pandas as pd

    csv, jsn = (model_dir / name for name in EXAMPLES)
    if csv.is_file():
        return pd.read_csv(csv)
    if jsn.is_file():
        return pd.read_json(jsn, orient="records")
    return None


def package_model(model_dir: Path, dest: Path) -> Path | None:
    """The package to upload: ``model_dir`` itself, a wrapped copy in ``dest``, or None when
    the folder holds nothing Dockyard recognises (it is then uploaded as plain files)."""
    if (model_dir / "MLmodel").is_file():
        return model_dir
    if not model_dir.is_dir() or not any(model_dir.iterdir()):
        return None
    found = find_native(model_dir)
    if found is None:
        return None
    model, source = found
    from dockyard.models import save_model

    try:
        save_model(model, dest, input_example=_example(model_dir))
    except InvalidArgument as exc:
        raise InvalidArgument(f"could not package {source} from the model folder: {exc}") from exc
    return dest


def main(argv: list[str] | None = None) -> int:
    """Package ``MODEL_DIR`` into ``DEST``; exits 1 with the reason as the last stderr line."""
    args = sys.argv[1:] if argv is None else argv
    try:
        package_model(Path(args[0]), Path(args[1]))
    except Exception as exc:
        message = str(getattr(exc, "message", None) or exc)
        # The first line: a library's error may go on with a stack trace.
        first = next((line for line in message.splitlines() if line.strip()), "")
        print(first[:1000] or type(exc).__name__, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
