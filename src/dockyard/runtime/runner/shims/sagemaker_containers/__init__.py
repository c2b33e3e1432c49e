"""Dockyard's stand-in for ``sagemaker_containers`` (the training toolkit's former name).

Provides :func:`training_env` and :mod:`sagemaker_containers.entry_point`, the parts training
scripts call; list ``sagemaker-containers`` in ``requirements.txt`` for the real package.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["training_env"]


def training_env() -> Any:
    """The training environment (model_dir, channel_input_dirs, hyperparameters, hosts...):
    a ``sagemaker_training.environment.Environment``."""
    # A sibling top-level package in the job, not a subpackage of this one.
    return importlib.import_module("sagemaker_training.environment").Environment()
