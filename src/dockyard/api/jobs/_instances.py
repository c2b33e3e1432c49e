"""SageMaker instance types as Dockyard resources: ``ml.<family>.<size>`` -> CPUs and memory.

A job that names an instance type gets that type's vCPUs and memory, unless its spec gives
``cpus`` or ``memory_mb`` itself; the server then caps both at what its executor has (and says
so in the job's first event). GPUs are not scheduled: a GPU type's job gets ``SM_NUM_GPUS=0``.

=================  ===========================================  ===================
size               vCPUs                                         family: GiB / vCPU
=================  ===========================================  ===================
``medium``         2 (``ml.t3.medium``: 4 GiB in all)           ``c``: 2
``large``          2                                             ``m``, ``t``: 4
``xlarge``         4                                             ``r``: 8
``<N>xlarge``      4 x N (``2xlarge`` 8, ``12xlarge`` 48...)     ``g`` (GPU): 4
=================  ===========================================  ===================

``ml.p*`` GPU types are irregular and listed one by one (:data:`_P_TYPES`). ``local``,
``local_cpu`` and ``local_gpu`` (the SageMaker SDK's local mode) leave the resources as they
are. Anything else is refused, naming the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["LOCAL_TYPES", "InstanceType", "instance_type"]

LOCAL_TYPES = frozenset({"local", "local_cpu", "local_gpu"})

_GIB_PER_VCPU = {"c": 2, "m": 4, "t": 4, "r": 8, "g": 4}
_GPU_FAMILIES = {"g", "p"}
#: (vCPUs, GiB, GPUs) of the ml.p* types SageMaker trains on.
_P_TYPES = {
    "ml.p2.xlarge": (4, 61, 1),
    "ml.p2.8xlarge": (32, 488, 8),
    "ml.p2.16xlarge": (64, 732, 16),
    "ml.p3.2xlarge": (8, 61, 1),
    "ml.p3.8xlarge": (32, 244, 4),
    "ml.p3.16xlarge": (64, 488, 8),
    "ml.p3dn.24xlarge": (96, 768, 8),
    "ml.p4d.24xlarge": (96, 1152, 8),
    "ml.p4de.24xlarge": (96, 1152, 8),
    "ml.p5.48xlarge": (192, 2048, 8),
}
_PATTERN = re.compile(r"^ml\.([a-z])(\d+)([a-z]*)\.(medium|large|xlarge|(\d+)xlarge)$")


@dataclass(frozen=True)
class InstanceType:
    """What one instance type stands for here."""

    name: str
    cpus: int
    memory_mb: int
    gpus: int


def _gpus(family: str, cpus: int) -> int:
    # g4dn / g5 / g6: four GPUs at 48 and 96 vCPUs, eight at 192, one otherwise.
    if family != "g":
        return 0
    return 8 if cpus >= 192 else 4 if cpus in (48, 96) else 1


def instance_type(name: str) -> InstanceType:
    """The CPUs, memory and GPUs of ``name`` (``ml.m5.xlarge``...).

    Raises:
        ValueError: Not an instance type this table knows.
    """
    if name in _P_TYPES:
        cpus, gib, gpus = _P_TYPES[name]
        return InstanceType(name, cpus, gib * 1024, gpus)
    match = _PATTERN.match(name)
    if match is None or match.group(1) not in _GIB_PER_VCPU:
        families = ", ".join(f"ml.{f}*" for f in sorted(_GIB_PER_VCPU)) + ", ml.p2/p3/p4d/p5"
        raise ValueError(
            f"{name!r} is not an instance type Dockyard maps to CPUs and memory (it knows "
            f"{families} types and 'local'); give resources.cpus and memory_mb instead"
        )
    family, size, multiple = match.group(1), match.group(4), match.group(5)
    if size == "medium":
        cpus, gib = 2, 4
    else:
        cpus = 2 if size == "large" else 4 * int(multiple or 1)
        gib = cpus * _GIB_PER_VCPU[family]
    gpus = _gpus(family, cpus) if family in _GPU_FAMILIES else 0
    return InstanceType(name, cpus, gib * 1024, gpus)
