"""The GPUs of this machine the local executor gives jobs, and which job holds which.

What the machine has is what ``DOCKYARD_GPUS`` lists (CUDA device ids, ``0,1``; empty for
none), else what ``nvidia-smi`` lists, else none: no guessing from drivers or libraries. A job
asking for ``resources.gpus`` gets that many devices no running job holds, as its
``CUDA_VISIBLE_DEVICES``; a job asking for none gets an empty ``CUDA_VISIBLE_DEVICES`` on a
machine with GPUs, so it cannot take a device another job holds. Devices found by
``nvidia-smi`` are numbered as it numbers them, so jobs also get
``CUDA_DEVICE_ORDER=PCI_BUS_ID`` (CUDA's own default order may differ).

The holdings live in the executor's memory: a restarted server learns them again from the
handles of the runners it reattaches (each handle names its devices).
"""

from __future__ import annotations

import shutil
import subprocess
import threading

__all__ = ["GpuSlots", "machine_gpus"]

_SMI_TIMEOUT_S = 10.0


def machine_gpus(setting: list[str] | None) -> tuple[list[str], bool]:
    """The device ids jobs may get, and whether they came from ``nvidia-smi``."""
    if setting is not None:
        return list(dict.fromkeys(setting)), False
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return [], False
    try:
        listed = subprocess.run(
            [smi, "--query-gpu=index", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=_SMI_TIMEOUT_S,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):  # a driver that does not answer: no GPUs
        return [], False
    return [line.strip() for line in listed.splitlines() if line.strip().isdigit()], True


class GpuSlots:
    """Which of ``devices`` each running job holds, by job name."""

    def __init__(self, devices: list[str], *, pci_order: bool) -> None:
        self.devices = devices
        self._pci_order = pci_order
        self._held: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def take(self, owner: str, count: int) -> list[str]:
        """``count`` devices no other owner holds, now held by ``owner``.

        Raises:
            OSError: Fewer than ``count`` are free (the scheduler admits no more GPU jobs than
                there are devices, so this means another program's jobs hold them).
        """
        with self._lock:
            busy = {d for job, ids in self._held.items() if job != owner for d in ids}
            free = [d for d in self.devices if d not in busy]
            if count > len(free):
                raise OSError(
                    f"the job asks for {count} GPU(s) (resources.gpus); {len(free)} of this "
                    f"machine's {len(self.devices)} are free"
                )
            chosen = free[:count]
            if chosen:
                self._held[owner] = chosen
            return chosen

    def hold(self, owner: str, devices: list[str]) -> None:
        """Record that ``owner`` holds ``devices`` (a runner found again after a restart)."""
        if devices:
            with self._lock:
                self._held[owner] = list(devices)

    def release(self, owner: str) -> None:
        """``owner`` ended: its devices are free again."""
        with self._lock:
            self._held.pop(owner, None)

    def environment(self, devices: list[str]) -> dict[str, str]:
        """The variables a job given ``devices`` gets (nothing on a machine without GPUs)."""
        if not self.devices:
            return {}
        env = {"CUDA_VISIBLE_DEVICES": ",".join(devices)}
        if self._pci_order:
            env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"
        return env
