"""What a built-in algorithm reads from SageMaker's training contract, and how it fails.

The runner starts an algorithm like any training script: ``python -m
dockyard.algorithms.<name>`` in the job directory, with ``SM_*`` variables and the
``input/config`` files. :class:`TrainingEnv` reads them (falling back to the ``/opt/ml`` layout
under the working directory for anything unset), and :func:`run` turns any error into
SageMaker's ``output/failure`` file and a non-zero exit:

* a problem with the job's input (hyperparameter, channel, data) is an
  :class:`~dockyard.errors.InvalidArgument`: its message, which names the hyperparameter, the
  channel or the file and line, is the whole failure reason; exit status 1;
* anything else is a fault of the algorithm: the failure reason says so with the exception's
  text, the traceback goes to the log; exit status 2.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.errors import DockyardError, InvalidArgument

__all__ = [
    "CONTENT_TYPES",
    "INPUT_EXAMPLE_FILE",
    "ChannelInput",
    "TrainingEnv",
    "content_format",
    "log",
    "run",
    "write_failure",
]

# Written beside the native model: a few feature rows with a header, from which the runner infers
# the packaged model's signature.
INPUT_EXAMPLE_FILE = "input_example.csv"

# ContentType values (lower-cased, parameters removed) -> the data format they name, with the
# short spellings SageMaker's XGBoost container accepts as well.
CONTENT_TYPES = {
    "text/csv": "csv",
    "csv": "csv",
    "text/libsvm": "libsvm",
    "text/x-libsvm": "libsvm",
    "libsvm": "libsvm",
    "application/x-parquet": "parquet",
    "parquet": "parquet",
}
_CANONICAL = {"csv": "text/csv", "libsvm": "text/libsvm", "parquet": "application/x-parquet"}


def log(message: str) -> None:
    """Print one log line now: the runner streams the log and parses metrics from it live."""
    print(message, flush=True)


@dataclass(frozen=True)
class ChannelInput:
    """One input channel as the job sees it.

    Attributes:
        name: The channel name (``train``).
        path: The folder holding the channel's files.
        content_type: The ``ContentType`` from ``inputdataconfig.json``; ``None`` if not given.
    """

    name: str
    path: Path
    content_type: str | None


@dataclass(frozen=True)
class TrainingEnv:
    """The training contract, read once.

    Attributes:
        hyperparameters: Name -> value, as the strings SageMaker writes.
        channels: Name -> channel, for every channel the job was given.
        model_dir: ``SM_MODEL_DIR``: where the model is saved.
        output_dir: ``SM_OUTPUT_DIR``: holds ``failure``.
        output_data_dir: ``SM_OUTPUT_DATA_DIR``: other outputs.
        checkpoint_dir: Where checkpoints are kept, if the job has a checkpoint location.
        num_cpus: ``SM_NUM_CPUS``: threads to use.
        current_host: ``SM_CURRENT_HOST``, for SageMaker-style log lines.
    """

    hyperparameters: dict[str, str]
    channels: dict[str, ChannelInput]
    model_dir: Path
    output_dir: Path
    output_data_dir: Path
    checkpoint_dir: Path | None
    num_cpus: int
    current_host: str

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> TrainingEnv:
        """Read the contract from ``environ`` (default: this process's) and config files."""
        env = os.environ if environ is None else environ
        root = Path.cwd() if cwd is None else cwd

        def folder(variable: str, default: Path) -> Path:
            return root / env[variable] if env.get(variable) else default

        config = folder("SM_INPUT_CONFIG_DIR", root / "input" / "config")
        output = folder("SM_OUTPUT_DIR", root / "output")
        data_config = _json_object(config / "inputdataconfig.json", default={})
        names = list(data_config)
        if env.get("SM_CHANNELS"):
            listed = _json_value(env["SM_CHANNELS"], "environment variable SM_CHANNELS")
            if not isinstance(listed, list) or not all(isinstance(n, str) for n in listed):
                raise InvalidArgument("SM_CHANNELS must be a JSON list of channel names")
            names += [name for name in listed if name not in data_config]
        channels = {}
        for name in names:
            settings = data_config.get(name)
            settings = settings if isinstance(settings, dict) else {}
            if str(settings.get("TrainingInputMode", "File")).lower() == "pipe":
                raise InvalidArgument(
                    f"channel {name!r} uses Pipe input mode; only File mode is supported",
                    field=f"inputs.{name}",
                )
            variable = "SM_CHANNEL_" + name.upper().replace("-", "_").replace(".", "_")
            path = folder(variable, root / "input" / "data" / name)
            declared = settings.get("ContentType")
            content_type = declared.strip() if isinstance(declared, str) else ""
            channels[name] = ChannelInput(name, path, content_type or None)
        checkpoint = None
        if env.get("SM_CHECKPOINT_DIR"):
            checkpoint = root / env["SM_CHECKPOINT_DIR"]
        elif (config / "checkpointconfig.json").is_file():
            local = _json_object(config / "checkpointconfig.json", default={}).get("LocalPath")
            checkpoint = root / str(local or "checkpoints")
        return cls(
            hyperparameters=_hyperparameters(config / "hyperparameters.json", env),
            channels=channels,
            model_dir=folder("SM_MODEL_DIR", root / "model"),
            output_dir=output,
            output_data_dir=folder("SM_OUTPUT_DATA_DIR", output / "data"),
            checkpoint_dir=checkpoint,
            num_cpus=_cpus(env.get("SM_NUM_CPUS")),
            current_host=env.get("SM_CURRENT_HOST") or "algo-1",
        )

    def channel(self, name: str, *, required: bool = False) -> ChannelInput | None:
        """The channel ``name``; when ``required``, its absence is the job's error."""
        found = self.channels.get(name)
        if found is None and required:
            given = ", ".join(repr(n) for n in self.channels) or "none"
            raise InvalidArgument(
                f"the {name!r} channel is required and was not given (channels given: {given})",
                field=f"inputs.{name}",
            )
        if found is not None and not found.path.is_dir():
            raise InvalidArgument(
                f"channel {name!r}: its folder {found.path} does not exist",
                field=f"inputs.{name}",
            )
        return found


def content_format(
    content_type: str | None, formats: tuple[str, ...], *, channel: str, algorithm: str
) -> str | None:
    """The data format (``csv``, ``libsvm``, ``parquet``) a ContentType names; ``None`` if unset.

    Raises InvalidArgument naming the channel when the type is not one of ``formats``.
    """
    if not content_type or not content_type.strip():
        return None
    base, *params = (part.strip() for part in content_type.lower().split(";"))
    found = CONTENT_TYPES.get(base)
    field = f"inputs.{channel}.content_type"
    if found is None or found not in formats:
        accepted = ", ".join(_CANONICAL[f] for f in formats)
        raise InvalidArgument(
            f"channel {channel!r}: content type {content_type!r} is not supported by the "
            f"{algorithm} algorithm (accepted: {accepted})",
            field=field,
        )
    for param in params:
        key, _, value = param.partition("=")
        # SageMaker's CSV parameter: the label is one column, always the first.
        if key.strip() == "label_size" and value.strip() != "1":
            raise InvalidArgument(
                f"channel {channel!r}: content type {content_type!r}: label_size must be 1",
                field=field,
            )
    return found


def _json_value(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidArgument(f"{what} is not valid JSON: {exc}") from exc


def _json_object(path: Path, *, default: dict[str, Any]) -> dict[str, Any]:
    if not path.is_file():
        return default
    value = _json_value(path.read_text(encoding="utf-8"), str(path))
    if not isinstance(value, dict):
        raise InvalidArgument(f"{path} must hold a JSON object")
    return value


def _hyperparameters(path: Path, env: Mapping[str, str]) -> dict[str, str]:
    # hyperparameters.json is SageMaker's source of truth; SM_HPS (typed JSON) stands in when a
    # caller sets only the environment.
    if path.is_file():
        raw = _json_object(path, default={})
    else:
        raw = _json_value(env.get("SM_HPS") or "{}", "environment variable SM_HPS")
        if not isinstance(raw, dict):
            raise InvalidArgument("SM_HPS must be a JSON object")
    return {
        str(k): v if isinstance(v, str) else json.dumps(v)
        for k, v in raw.items()  # json.dumps: true -> "true", 5 -> "5", as SageMaker writes them
    }


def _cpus(text: str | None) -> int:
    try:
        return max(1, int(float(text))) if text else max(1, os.cpu_count() or 1)
    except ValueError:
        return max(1, os.cpu_count() or 1)


def write_failure(output_dir: Path, reason: str) -> None:
    """Write SageMaker's ``failure`` file, whose text becomes the job's failure reason."""
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "failure").write_text(reason.strip() + "\n", encoding="utf-8")


def run(
    train: Callable[[TrainingEnv], None],
    *,
    algorithm: str,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> int:
    """Read the contract, call ``train`` and return the process exit status.

    On error, the reason is written to ``output/failure`` and to stderr.
    """
    env = os.environ if environ is None else environ
    root = Path.cwd() if cwd is None else cwd
    output = root / env["SM_OUTPUT_DIR"] if env.get("SM_OUTPUT_DIR") else root / "output"
    try:
        train(TrainingEnv.from_environ(env, root))
    except DockyardError as exc:
        reason, status = str(exc), 1
    except MemoryError:
        reason, status = f"the {algorithm} algorithm ran out of memory", 2
    except Exception as exc:
        traceback.print_exc()
        reason = f"the {algorithm} algorithm failed: {type(exc).__name__}: {exc}"
        status = 2
    else:
        return 0
    print(f"ERROR: {reason}", file=sys.stderr, flush=True)
    write_failure(output, reason)
    return status
