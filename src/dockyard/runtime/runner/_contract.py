"""SageMaker's training contract: the config files and ``SM_*`` variables a script sees.

An existing SageMaker script-mode script (argparse defaults from ``SM_MODEL_DIR``,
``SM_CHANNEL_TRAIN``, ...) runs unchanged. Dockyard adds ``DOCKYARD_URI`` and ``DOCKYARD_RUN_ID``
so ``dy.log_metric`` inside the script logs to the job's run with no configuration, and
``MLFLOW_TRACKING_URI`` and ``MLFLOW_RUN_ID`` so the mlflow client's ``start_run`` does too.

The script's environment is built from nothing, not copied from the server's: the server holds
the artifact store's credentials and whatever else its operator exported, and a job is someone
else's code. It gets an allowlist (``PATH``, ``LANG``, ``LANGUAGE``, ``LC_*``, ``TZ``), ``HOME``
and ``TMPDIR`` inside its own folder, the contract's variables, what ``DOCKYARD_JOB_ENV`` passes
on, and last the spec's ``environment``. Dockyard's own transform process also gets the store's
credentials (:func:`store_environment`); it passes them to none of its workers.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from dockyard.api.jobs import JobDir
from dockyard.runtime.runner._compat import SHIMS

__all__ = [
    "HOST",
    "SHARDS_ON_RAY",
    "STORE_ENV",
    "environment",
    "store_environment",
    "write_config",
]

HOST = "algo-1"
#: Names the store's variables in a transform process, which keeps them from its workers.
STORE_ENV = "DOCKYARD_STORE_ENV"
# The CUDA variables are the executor's: the devices it gave the job (resources.gpus).
_ALLOWED = frozenset(
    {"PATH", "LANG", "LANGUAGE", "TZ", "CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER"}
)
#: The Ray cluster a transform's shards may spread over (set by the Ray executor).
SHARDS_ON_RAY = "DOCKYARD_RAY_SHARDS"
# What a process joining that cluster as a driver needs of the node's Ray settings.
_RAY_SETTINGS = ("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "RAY_AUTH_MODE", "RAY_USAGE_STATS_ENABLED")


def _channel_env(name: str) -> str:
    return "SM_CHANNEL_" + name.upper().replace("-", "_").replace(".", "_")


def write_config(jd: JobDir, spec: dict[str, Any], job: dict[str, Any]) -> None:
    """Write ``input/config/*.json`` as SageMaker does (hyperparameter values as strings)."""
    jd.config.mkdir(parents=True, exist_ok=True)
    (jd.config / "hyperparameters.json").write_text(json.dumps(spec["hyperparameters"]))
    data_config = {
        name: {
            "ContentType": channel.get("content_type") or "",
            "TrainingInputMode": "File",
            "S3DistributionType": "FullyReplicated",
            "RecordWrapperType": "None",
        }
        for name, channel in spec["inputs"].items()
    }
    (jd.config / "inputdataconfig.json").write_text(json.dumps(data_config))
    resource = {
        "current_host": HOST,
        "hosts": [HOST],
        "network_interface_name": "lo",
        "current_instance_type": _instance_type(spec),
        "instance_groups": [],
    }
    (jd.config / "resourceconfig.json").write_text(json.dumps(resource))


def _instance_type(spec: dict[str, Any]) -> str:
    return str((spec.get("resources") or {}).get("instance_type") or "local")


def _passed(job: dict[str, Any]) -> dict[str, str]:
    """The allowlist and ``DOCKYARD_JOB_ENV`` (``NAME`` passes the server's value on,
    ``NAME=value`` sets one), read from the runner's environment, which is the server's."""
    env = {k: v for k, v in os.environ.items() if k in _ALLOWED or k.startswith("LC_")}
    for entry in job.get("job_env") or []:
        name, sep, value = str(entry).partition("=")
        if sep:
            env[name] = value
        elif name in os.environ:
            env[name] = os.environ[name]
    return env


def environment(jd: JobDir, spec: dict[str, Any], job: dict[str, Any]) -> dict[str, str]:
    """The user process's environment (see the module docstring for what is in it)."""
    # Transform jobs share the runner but have no hyperparameters or channels.
    hps = spec.get("hyperparameters", {})
    channels = sorted(spec.get("inputs", {}))
    cpus = max(1, int(float((spec.get("resources") or {}).get("cpus", 1))))
    gpus = int((spec.get("resources") or {}).get("gpus", 0))
    env = _passed(job)
    env["HOME"] = str(jd.home)
    env["TMPDIR"] = str(jd.tmp)
    user = job.get("user")
    if user:
        env["USER"] = env["LOGNAME"] = str(user["name"])
    training_env = {
        "model_dir": str(jd.model),
        "channel_input_dirs": {c: str(jd.data / c) for c in channels},
        "hyperparameters": hps,
        "output_data_dir": str(jd.output_data),
        "output_dir": str(jd.output),
        "input_dir": str(jd.root / "input"),
        "input_config_dir": str(jd.config),
        "current_host": HOST,
        "hosts": [HOST],
        "num_cpus": cpus,
        "num_gpus": gpus,
        "job_name": job["name"],
        "module_dir": str(jd.code),
        "user_entry_point": spec.get("entry_point") or spec.get("module") or "",
        "log_level": 20,
    }
    env.update(
        {
            "SM_MODEL_DIR": str(jd.model),
            "SM_CHANNELS": json.dumps(channels),
            "SM_HPS": json.dumps(hps),
            "SM_OUTPUT_DATA_DIR": str(jd.output_data),
            "SM_OUTPUT_DIR": str(jd.output),
            "SM_INPUT_DIR": str(jd.root / "input"),
            "SM_INPUT_CONFIG_DIR": str(jd.config),
            "SM_NUM_CPUS": str(cpus),
            "SM_NUM_GPUS": str(gpus),
            "SM_CURRENT_HOST": HOST,
            "SM_HOSTS": json.dumps([HOST]),
            "SM_MODULE_DIR": str(jd.code),
            "SM_USER_ENTRY_POINT": training_env["user_entry_point"],
            "SM_USER_ARGS": json.dumps([x for k, v in hps.items() for x in (f"--{k}", v)]),
            "SM_LOG_LEVEL": "20",
            "SM_TRAINING_ENV": json.dumps(training_env),
            "SM_CHECKPOINT_DIR": str(jd.checkpoints),
            "SM_CURRENT_INSTANCE_TYPE": _instance_type(spec),
            # What SageMaker's own toolkit (and Dockyard's stand-in for it) builds paths on
            # where /opt/ml is not the job's folder.
            "SAGEMAKER_BASE_DIR": str(jd.root),
            "TRAINING_JOB_NAME": job["name"],
            "PYTHONUNBUFFERED": "1",
            "OMP_NUM_THREADS": str(cpus),
        }
    )
    for name in channels:
        env[_channel_env(name)] = str(jd.data / name)
    for key, value in hps.items():
        env["SM_HP_" + key.upper().replace("-", "_")] = value
    # The same for the mlflow client, as an MLflow project run sets them: mlflow.start_run()
    # resumes the job's run and log_metric logs to this server (not to a local mlruns/ or
    # mlflow.db in the job's folder, gone with it).
    if job.get("server_url"):
        env["DOCKYARD_URI"] = env["MLFLOW_TRACKING_URI"] = job["server_url"]
    if job.get("run_id"):
        env["DOCKYARD_RUN_ID"] = env["MLFLOW_RUN_ID"] = job["run_id"]
    if job.get("token"):
        # The job's own token (its run, read access), never its submitter's credentials.
        env["DOCKYARD_TOKEN"] = env["MLFLOW_TRACKING_TOKEN"] = job["token"]
    # The job can import dockyard (for dy.log_metric) even from an environment of its own.
    # On the server's interpreter the SageMaker stand-ins come next; an environment of the
    # job's own lists them after its packages instead (_env), so a real one it installs wins.
    src = str(Path(__file__).resolve().parents[3])  # src/dockyard/runtime/runner/_contract.py
    shims = "" if job.get("python") else str(SHIMS)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, shims, env.get("PYTHONPATH", "")) if p)
    env.update(spec.get("environment", {}))
    return env


def store_environment(job: dict[str, Any]) -> dict[str, str]:
    """What Dockyard's own transform process adds: the store's credentials (the ``AWS_*``
    variables the runner holds), where the runner keeps model environments, the Ray cluster
    its shards may spread over, and :data:`STORE_ENV` naming them all so its local workers,
    which run the model's code, get none."""
    env = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    if os.environ.get(SHARDS_ON_RAY):
        names = (SHARDS_ON_RAY, *_RAY_SETTINGS)
        env.update({k: os.environ[k] for k in names if k in os.environ})
    if job.get("env_cache"):
        # Settings().home in the transform process: model environments are built and reused
        # in the runner's cache, not once per job in the job's HOME.
        env["DOCKYARD_HOME"] = str(Path(job["env_cache"]).parent)
    env[STORE_ENV] = ",".join(sorted(env))
    return env
