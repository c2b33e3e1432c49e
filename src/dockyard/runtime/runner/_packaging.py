"""Turn what a job saved in ``SM_MODEL_DIR`` into a Dockyard model package.

The runner runs this as ``python -m dockyard.runtime.runner._packaging MODEL_DIR DEST`` in a
process of the job's own (its environment and user): loading a native model unpickles what the job
wrote.

A package (an ``MLmodel`` file) is kept as it is. A script-mode entry point that defines
SageMaker inference handlers is carried with the model folder in a ``sagemaker_script``
package (:mod:`dockyard.models.flavors.sagemaker_script`). Otherwise a native model file (the
names and formats SageMaker's containers accept: :mod:`dockyard.models._model_files`) is
wrapped, with its
signature inferred from ``input_example.csv`` / ``input_example.json`` beside it when present
(the built-in algorithms write one; a script can too). A file that does not load, or a model
no flavor saves, exits 1 with one line saying why; the runner then keeps the folder as files.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dockyard.errors import InvalidArgument
from dockyard.models import EXAMPLES, find_native

__all__ = ["package_model"]


def _example(model_dir: Path) -> Any:
    import pandas as pd

    csv, jsn = (model_dir / name for name in EXAMPLES)
    if csv.is_file():
        return pd.read_csv(csv)
    if jsn.is_file():
        return pd.read_json(jsn, orient="records")
    return None


def package_model(
    model_dir: Path,
    dest: Path,
    *,
    code_dir: Path | None = None,
    entry_point: str | None = None,
    files: Sequence[str] | None = None,
) -> Path | None:
    """The package to upload: ``model_dir`` itself, a wrapped copy in ``dest``, or None when
    the folder holds nothing Dockyard recognises (it is then uploaded as plain files).

    Args:
        model_dir: What the job left in ``SM_MODEL_DIR``.
        dest: Where to write a new package.
        code_dir: The job's code folder (its ``source_dir``), for a script-mode job.
        entry_point: The script, relative to ``code_dir``. When it defines SageMaker inference
            handlers (``model_fn``, ``input_fn``, ...; found by reading it, not running it),
            the package carries the script and serves through them.
        files: The files of ``code_dir`` to carry (those of ``source_dir``); all when None.
    """
    if (model_dir / "MLmodel").is_file():
        return model_dir
    if not model_dir.is_dir() or not any(model_dir.iterdir()):
        return None
    if code_dir is not None and entry_point:
        from dockyard.models.flavors.sagemaker_script import SageMakerScript, handlers_in

        if handlers_in(code_dir / entry_point):
            from dockyard.models import save_package

            script = SageMakerScript(model_dir, code_dir, entry_point, tuple(files or ()) or None)
            try:
                save_package(script, dest, flavor="sagemaker_script")
            except InvalidArgument as exc:
                raise InvalidArgument(f"could not package {entry_point}: {exc}") from exc
            return dest
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
    """``MODEL_DIR DEST [--code CODE_DIR --entry-point SCRIPT]`` (with ``--code``, the source
    files to carry come as a JSON list on stdin); exits 1 with the reason as the last stderr
    line."""
    args = sys.argv[1:] if argv is None else argv
    try:
        options = dict(zip(args[2::2], args[3::2], strict=True))
        code = options.get("--code")
        files = json.loads(sys.stdin.read() or "null") if code else None
        package_model(
            Path(args[0]),
            Path(args[1]),
            code_dir=Path(code) if code else None,
            entry_point=options.get("--entry-point"),
            files=files,
        )
    except Exception as exc:
        message = str(getattr(exc, "message", None) or exc)
        # The first line: a library's error may go on with a stack trace.
        first = next((line for line in message.splitlines() if line.strip()), "")
        print(first[:1000] or type(exc).__name__, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
