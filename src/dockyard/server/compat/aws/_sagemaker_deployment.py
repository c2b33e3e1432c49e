"""An endpoint's ``DeploymentConfig`` as Dockyard's rollout policy (blue/green traffic shifting
with automatic rollback, :class:`dockyard.api.endpoints.Rollout`).

``BlueGreenUpdatePolicy.TrafficRoutingConfiguration``:

- ``ALL_AT_ONCE``: every request moves to the new fleet, which is then baked
  ``WaitIntervalInSeconds`` (Dockyard's ``final_bake_s``) before the old one goes;
- ``CANARY``: ``CanarySize`` (``CAPACITY_PERCENT``, or ``INSTANCE_COUNT`` of the new fleet's
  instances) first, held ``WaitIntervalInSeconds`` (``bake_s``), then the rest;
- ``LINEAR``: steps of ``LinearStepSize`` (so ``ceil(100 / percent)`` steps, 2 to 20), each
  held ``WaitIntervalInSeconds``.

``TerminationWaitInSeconds`` adds to the final bake (the old models stay loaded meanwhile, so a
breach still rolls back); ``MaximumExecutionTimeoutInSeconds`` is accepted and ignored.

``AutoRollbackConfiguration.Alarms`` names CloudWatch alarms, which Dockyard does not have: a
step rolls back on Dockyard's own thresholds (the new fleet's error rate and p99 latency, the
endpoint's ``rollout.thresholds``). With alarms, a baked step also needs the new fleet to have
answered ``thresholds.min_requests`` (evidence, as an alarm needs data); without them an idle
step passes, as it does on SageMaker.

``RollingUpdatePolicy``: the new fleet takes traffic in batches of ``MaximumBatchSize``
(``INSTANCE_COUNT`` or ``CAPACITY_PERCENT`` of the fleet), each baked
``WaitIntervalInSeconds``, the last one too: Dockyard's linear traffic shifting with a step per
batch (2 to 20), or all at once when one batch is the whole fleet. The old models stay loaded
until the last batch is baked, so a breach rolls every batch back at once (SageMaker's
``RollbackMaximumBatchSize`` and ``MaximumExecutionTimeoutInSeconds`` are accepted and
ignored). A config gives one policy or the other, not both.

Unlike SageMaker, where a DeploymentConfig applies to the one update it comes with, the policy
stays the endpoint's for later updates that give none; DescribeEndpoint's
``LastDeploymentConfig`` is the last one given (:func:`shown`), in SageMaker's shape.
"""

from __future__ import annotations

import math
from typing import Any

from dockyard.errors import InvalidArgument

__all__ = ["FIELD", "rollout", "shown"]

FIELD = "DeploymentConfig"
_POLICY = f"{FIELD}.BlueGreenUpdatePolicy"
_ROUTING = f"{_POLICY}.TrafficRoutingConfiguration"
_ROLLING = f"{FIELD}.RollingUpdatePolicy"

_SIZE: dict[str, Any] = {"Type": None, "Value": None}
#: SageMaker's DeploymentConfig, as the fields it has (None: a value kept as it is).
_SHAPE: dict[str, Any] = {
    "BlueGreenUpdatePolicy": {
        "TrafficRoutingConfiguration": {
            "Type": None,
            "WaitIntervalInSeconds": None,
            "CanarySize": _SIZE,
            "LinearStepSize": _SIZE,
        },
        "TerminationWaitInSeconds": None,
        "MaximumExecutionTimeoutInSeconds": None,
    },
    "RollingUpdatePolicy": {
        "MaximumBatchSize": _SIZE,
        "WaitIntervalInSeconds": None,
        "MaximumExecutionTimeoutInSeconds": None,
        "RollbackMaximumBatchSize": _SIZE,
    },
    "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": None}]},
}


def shown(deployment: Any, shape: Any = _SHAPE) -> Any:
    """``deployment`` (a config :func:`rollout` accepted) with only the fields SageMaker's
    DeploymentConfig has, as DescribeEndpoint's ``LastDeploymentConfig`` shows it."""
    if shape is None:
        return deployment
    if isinstance(shape, list):
        return (
            [shown(item, shape[0]) for item in deployment] if isinstance(deployment, list) else None
        )
    if not isinstance(deployment, dict):
        return None
    kept = {
        k: shown(deployment[k], sub) for k, sub in shape.items() if deployment.get(k) is not None
    }
    return {k: v for k, v in kept.items() if v is not None}


def _seconds(value: Any, field: str, default: float = 0.0) -> float:
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 3600:
        raise InvalidArgument(f"{field} must be a whole number of seconds, 0 to 3600", field=field)
    return float(value)


def _share(size: Any, field: str, workers: int) -> float:
    """A CanarySize or LinearStepSize as a percentage of the new fleet."""
    if not isinstance(size, dict):
        raise InvalidArgument(f"{field} must be given: {{Type, Value}}", field=field)
    kind, value = size.get("Type"), size.get("Value")
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidArgument(f"{field}.Value must be a whole number above 0", field=field)
    if kind == "CAPACITY_PERCENT":
        if value > 100:
            raise InvalidArgument(f"{field}.Value is a percentage: 1 to 100", field=field)
        return float(value)
    if kind == "INSTANCE_COUNT":
        return 100.0 * value / max(workers, 1)
    raise InvalidArgument(f"{field}.Type must be INSTANCE_COUNT or CAPACITY_PERCENT", field=field)


def rollout(deployment: Any, workers: int) -> dict[str, Any]:
    """The rollout section of a Dockyard endpoint config that ``deployment`` asks for;
    ``workers``: the new fleet's size (for sizes given as instance counts)."""
    if not isinstance(deployment, dict):
        raise InvalidArgument(f"{FIELD} must be an object", field=FIELD)
    rolling = deployment.get("RollingUpdatePolicy")
    if rolling is not None and deployment.get("BlueGreenUpdatePolicy") is not None:
        raise InvalidArgument(
            f"{FIELD} takes a BlueGreenUpdatePolicy or a RollingUpdatePolicy, not both",
            field=_ROLLING,
        )
    rollback = deployment.get("AutoRollbackConfiguration") or {}
    alarms = rollback.get("Alarms") if isinstance(rollback, dict) else None
    if alarms is not None and not isinstance(alarms, list):
        raise InvalidArgument(
            f"{FIELD}.AutoRollbackConfiguration.Alarms must be a list",
            field=f"{FIELD}.AutoRollbackConfiguration.Alarms",
        )
    section: dict[str, Any] = {
        "thresholds": {"min_requests": 10 if alarms else 0},
        "max_bake_s": None,
    }
    if rolling is not None:
        return {**section, **_rolling(rolling, workers)}
    policy = deployment.get("BlueGreenUpdatePolicy")
    if not isinstance(policy, dict):
        # Only auto-rollback given: SageMaker's default blue/green, all at once.
        policy = {"TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE"}}
    routing = policy.get("TrafficRoutingConfiguration")
    if not isinstance(routing, dict):
        raise InvalidArgument(f"{_ROUTING} must be given", field=_ROUTING)
    wait = _seconds(routing.get("WaitIntervalInSeconds"), f"{_ROUTING}.WaitIntervalInSeconds")
    termination = _seconds(
        policy.get("TerminationWaitInSeconds"), f"{_POLICY}.TerminationWaitInSeconds"
    )
    kind = routing.get("Type")
    if kind == "ALL_AT_ONCE":
        return {**section, "strategy": "all-at-once", "final_bake_s": wait + termination}
    if kind == "CANARY":
        pct = _share(routing.get("CanarySize"), f"{_ROUTING}.CanarySize", workers)
        if pct >= 100:
            raise InvalidArgument(
                f"{_ROUTING}.CanarySize must be less than the whole new fleet",
                field=f"{_ROUTING}.CanarySize",
            )
        return {
            **section,
            "strategy": "canary",
            "canary_pct": pct,
            "bake_s": wait,
            "final_bake_s": termination,
        }
    if kind == "LINEAR":
        pct = _share(routing.get("LinearStepSize"), f"{_ROUTING}.LinearStepSize", workers)
        return {
            **section,
            "strategy": "linear",
            "linear_steps": min(max(math.ceil(100 / pct), 2), 20),
            "bake_s": wait,
            "final_bake_s": termination,
        }
    raise InvalidArgument(
        f"{_ROUTING}.Type must be ALL_AT_ONCE, CANARY or LINEAR", field=f"{_ROUTING}.Type"
    )


def _rolling(policy: Any, workers: int) -> dict[str, Any]:
    """A RollingUpdatePolicy as traffic shifted a batch at a time (see the module's notes)."""
    if not isinstance(policy, dict):
        raise InvalidArgument(f"{_ROLLING} must be an object", field=_ROLLING)
    wait = policy.get("WaitIntervalInSeconds")
    if wait is None:
        raise InvalidArgument(
            f"{_ROLLING}.WaitIntervalInSeconds must be given",
            field=f"{_ROLLING}.WaitIntervalInSeconds",
        )
    bake = _seconds(wait, f"{_ROLLING}.WaitIntervalInSeconds")
    pct = _share(policy.get("MaximumBatchSize"), f"{_ROLLING}.MaximumBatchSize", workers)
    if policy.get("RollbackMaximumBatchSize") is not None:
        _share(policy["RollbackMaximumBatchSize"], f"{_ROLLING}.RollbackMaximumBatchSize", workers)
    if pct >= 100:
        return {"strategy": "all-at-once", "final_bake_s": bake}
    return {
        "strategy": "linear",
        "linear_steps": min(max(math.ceil(100 / pct), 2), 20),
        "bake_s": bake,
        "final_bake_s": bake,
    }
