"""What SageMaker training scripts import besides their frameworks, and hints when they need more.

``shims/`` holds small stand-ins, read from the training contract (``SAGEMAKER_BASE_DIR``,
``input/config/*.json``, ``SM_*``), for the parts of SageMaker's toolkits that training scripts
use:

====================================  ==========================================================
module                                provides
====================================  ==========================================================
``sagemaker_training.environment``    ``Environment()`` (``model_dir``, ``channel_input_dirs``,
                                      ``hyperparameters``, ``num_gpus``, ``num_cpus``,
                                      ``current_host``, ``hosts``, ...), ``read_hyperparameters``
``sagemaker_containers``              ``training_env()``, ``entry_point._wait_hostname_resolution``
``sagemaker_xgboost_container``       ``data_utils.get_dmatrix`` (CSV, LIBSVM, Parquet),
                                      ``distributed.rabit_run`` (one host)
====================================  ==========================================================

Why stand-ins rather than the real ``sagemaker-training``: that package brings 28 packages
(boto3, gevent, paramiko, scipy...), about 250 MB and 9 s of installing into every job
environment, for a dozen lines of path arithmetic; and ``sagemaker_xgboost_container`` is not
published at all. The folder goes on the job's path *after* its own packages: a job that lists
``sagemaker-training`` in ``requirements.txt`` gets the real one.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["SHIMS", "failure_hint"]

SHIMS = Path(__file__).resolve().with_name("shims")

_MISSING_MODULE = re.compile(r"No module named '((?:sagemaker|smdistributed)[\w.]*)'")


def failure_hint(log_tail: str, no_opt_ml: str | None) -> str:
    """A sentence to add to a failed job's reason when its log shows a SageMaker habit that
    Dockyard does not cover; empty when there is none."""
    hints = []
    if no_opt_ml and "/opt/ml" in log_tail:
        hints.append(
            "This job had no /opt/ml (see the first line of its log): read the paths from "
            "SM_MODEL_DIR, SM_CHANNEL_<NAME>, SM_OUTPUT_DATA_DIR and SM_CHECKPOINT_DIR, or "
            "build them on SAGEMAKER_BASE_DIR, instead of writing /opt/ml."
        )
    missing = _MISSING_MODULE.search(log_tail)
    if missing:
        hints.append(
            f"Dockyard provides stand-ins for parts of SageMaker's toolkits "
            "(sagemaker_training.environment, sagemaker_containers.training_env, "
            "sagemaker_xgboost_container.data_utils.get_dmatrix and .distributed.rabit_run), "
            f"not {missing.group(1)}: list the package that provides it in the job's "
            "requirements.txt, or drop the import."
        )
    return "\n".join(hints)
