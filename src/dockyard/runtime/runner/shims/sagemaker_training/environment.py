"""Dockyard's stand-in for ``sagemaker_training.environment``: the training environment, read
from SageMaker's training contract as a Dockyard job has it.

The folder is ``SAGEMAKER_BASE_DIR`` (the job's folder; ``/opt/ml`` when unset, as in the
real module), with the ``input/config/*.json`` files in it; CPUs and GPUs come from
``SM_NUM_CPUS`` and ``SM_NUM_GPUS`` (what the job was given, not what the machine has). The
paths are module constants computed at import, as the real module's are.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

SAGEMAKER_BASE_PATH = "/opt/ml"
BASE_PATH_ENV = "SAGEMAKER_BASE_DIR"
HYPERPARAMETERS_FILE = "hyperparameters.json"
RESOURCE_CONFIG_FILE = "resourceconfig.json"
INPUT_DATA_CONFIG_FILE = "inputdataconfig.json"

base_dir = os.environ.get(BASE_PATH_ENV, SAGEMAKER_BASE_PATH)
code_dir = os.path.join(base_dir, "code")
model_dir = os.path.join(base_dir, "model")
input_dir = os.path.join(base_dir, "input")
input_config_dir = os.path.join(input_dir, "config")
output_dir = os.path.join(base_dir, "output")
output_data_dir = os.path.join(output_dir, "data")
output_intermediate_dir = os.path.join(output_dir, "intermediate")
hyperparameters_file_dir = os.path.join(input_config_dir, HYPERPARAMETERS_FILE)
input_data_config_file_dir = os.path.join(input_config_dir, INPUT_DATA_CONFIG_FILE)
resource_config_file_dir = os.path.join(input_config_dir, RESOURCE_CONFIG_FILE)

_SAGEMAKER_PREFIX = "sagemaker_"


def _read_json(path: str) -> Any:
    with open(path) as handle:
        return json.load(handle)


def read_hyperparameters() -> dict[str, Any]:
    """``hyperparameters.json``, each value decoded as JSON where it is JSON (``"3"`` -> 3)."""
    decoded: dict[str, Any] = {}
    for key, value in _read_json(hyperparameters_file_dir).items():
        try:
            decoded[key] = json.loads(value)
        except (TypeError, ValueError):
            decoded[key] = value
    return decoded


def read_resource_config() -> dict[str, Any]:
    """``resourceconfig.json``: ``current_host``, ``hosts``, ``current_instance_type``..."""
    config: dict[str, Any] = _read_json(resource_config_file_dir)
    return config


def read_input_data_config() -> dict[str, Any]:
    """``inputdataconfig.json``: one entry per channel."""
    config: dict[str, Any] = _read_json(input_data_config_file_dir)
    return config


def channel_path(channel: str) -> str:
    """The folder of a channel's files: ``<base>/input/data/<channel>``."""
    return os.path.join(input_dir, "data", channel)


def num_gpus() -> int:
    """GPUs given to the job."""
    return int(os.environ.get("SM_NUM_GPUS", "0"))


def num_cpus() -> int:
    """CPUs given to the job."""
    return int(os.environ.get("SM_NUM_CPUS", "0")) or os.cpu_count() or 1


class Environment(Mapping[str, Any]):
    """A read-only snapshot of the training environment; also a mapping of its properties."""

    def __init__(
        self,
        resource_config: dict[str, Any] | None = None,
        input_data_config: dict[str, Any] | None = None,
        hyperparameters: dict[str, Any] | None = None,
    ) -> None:
        self.resource_config = resource_config or read_resource_config()
        self.input_data_config = input_data_config or read_input_data_config()
        every = hyperparameters or read_hyperparameters()
        # The SDK passes its own settings as sagemaker_* hyperparameters; scripts see the rest.
        self.hyperparameters = {
            k: v for k, v in every.items() if not k.startswith(_SAGEMAKER_PREFIX)
        }
        self.additional_framework_parameters = {
            k: v for k, v in every.items() if k.startswith(_SAGEMAKER_PREFIX)
        }
        self.current_host: str = self.resource_config["current_host"]
        self.hosts: list[str] = list(self.resource_config["hosts"])
        self.current_instance_type: str = self.resource_config.get("current_instance_type", "local")
        self.network_interface_name: str = self.resource_config.get(
            "network_interface_name", "eth0"
        )
        self.master_hostname = sorted(self.hosts)[0]
        self.is_master = self.current_host == self.master_hostname
        self.distribution_hosts = list(self.hosts)
        self.channel_input_dirs = {c: channel_path(c) for c in self.input_data_config}
        self.model_dir = model_dir
        self.input_dir = input_dir
        self.input_config_dir = input_config_dir
        self.output_dir = output_dir
        self.output_data_dir = output_data_dir
        self.output_intermediate_dir = output_intermediate_dir
        self.num_gpus = num_gpus()
        self.num_cpus = num_cpus()
        self.user_entry_point = os.environ.get("SM_USER_ENTRY_POINT") or None
        self.module_dir = os.environ.get("SM_MODULE_DIR", code_dir)
        self.log_level = int(os.environ.get("SM_LOG_LEVEL", "20"))
        self.job_name = os.environ.get("TRAINING_JOB_NAME") or None
        self.framework_module = os.environ.get("SAGEMAKER_TRAINING_MODULE") or None

    @property
    def module_name(self) -> str | None:
        entry = self.user_entry_point
        return entry[:-3] if entry and entry.endswith(".py") else entry

    def properties(self) -> list[str]:
        """The names this mapping holds."""
        names = [k for k in vars(self) if not k.startswith("_")]
        return sorted([*names, "module_name"])

    def __getitem__(self, key: str) -> Any:
        if key not in self.properties():
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.properties())

    def __len__(self) -> int:
        return len(self.properties())

    def __str__(self) -> str:
        return str(dict(self))
