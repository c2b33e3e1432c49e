"""Dockyard's stand-in for ``sagemaker_xgboost_container.distributed``: one host, no Rabit."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


def wait_hostname_resolution(sm_hosts: Sequence[str]) -> None:
    """Nothing to wait for: a Dockyard training job runs on one host."""


def rabit_run(
    exec_fun: Callable[..., Any],
    args: dict[str, Any],
    include_in_training: bool,
    hosts: Sequence[str],
    current_host: str,
    first_port: int | None = None,
    second_port: int | None = None,
    update_rabit_args: bool = False,
    **_: Any,
) -> None:
    """Run ``exec_fun(**args)`` as the only (so the master) host.

    Raises:
        RuntimeError: More than one host, or this host has no training data.
    """
    if len(hosts) > 1:
        raise RuntimeError(
            f"distributed XGBoost over {len(hosts)} hosts is not available: a Dockyard training "
            "job runs on one host"
        )
    if not include_in_training:
        raise RuntimeError("No hosts received training data.")
    if update_rabit_args:
        args.update({"is_master": True})
    exec_fun(**args)
