"""The local executor's GPUs: what the machine has (DOCKYARD_GPUS, else nvidia-smi), and each
job's devices as its CUDA_VISIBLE_DEVICES, never one another running job holds."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from tests.server.notifications._receiver import until

from dockyard.api.jobs import Handle, Launch
from dockyard.runtime.runner._gpus import machine_gpus
from dockyard.runtime.runner._local import LocalExecutor
from dockyard.settings import Settings


class Printing(LocalExecutor):
    """Runners that print the GPUs they were given and end when ``release`` exists."""

    release: Path

    def command(self, folder: Path) -> list[str]:
        script = (
            "import os, pathlib, time\n"
            "print('CUDA=' + os.environ.get('CUDA_VISIBLE_DEVICES', 'unset'), flush=True)\n"
            f"while not pathlib.Path({str(self.release)!r}).exists(): time.sleep(0.02)\n"
        )
        return [sys.executable, "-c", script]


def _launch(job: str, gpus: int) -> Launch:
    return {
        "job": job,
        "job_id": job,
        "server_url": "http://127.0.0.1:1",
        "token": None,
        "cpus": 1.0,
        "memory_mb": None,
        "gpus": gpus,
    }


def _given(executor: LocalExecutor, handle: Handle) -> str:
    line = until(lambda: executor.logs(handle).strip(), 30, "the runner printed")
    return str(line).removeprefix("CUDA=")


def test_jobs_get_free_devices_and_give_them_back(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", uri=None, gpus=["3", "5"], executor_warm=False)
    executor = Printing(settings)
    executor.release = tmp_path / "release"
    assert executor.capacity() == {
        "cpus": executor.capacity()["cpus"],
        "gpus": 2.0,
        "node_gpus": 2.0,
    }
    first = executor.submit(_launch("first", 1))
    second = executor.submit(_launch("second", 1))
    plain = executor.submit(_launch("plain", 0))
    assert {_given(executor, first), _given(executor, second)} == {"3", "5"}
    assert _given(executor, plain) == ""  # it cannot take a device another job holds
    with pytest.raises(OSError, match="0 of this machine's 2 are free"):
        executor.submit(_launch("third", 1))
    executor.release.touch()
    until(lambda: not executor.status(first)["running"], 30, "the first runner ended")
    until(lambda: not executor.status(second)["running"], 30, "the second runner ended")
    until(lambda: not executor.status(plain)["running"], 30, "the plain runner ended")
    executor.release.unlink()
    again = executor.submit(_launch("third", 2))  # both free again
    assert _given(executor, again) == "3,5"
    executor.release.touch()
    until(lambda: not executor.status(again)["running"], 30, "the third runner ended")


def test_a_machine_without_gpus_leaves_cuda_alone(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", uri=None, gpus=[], executor_warm=False)
    executor = Printing(settings)
    executor.release = tmp_path / "release"
    executor.release.touch()
    handle = executor.submit(_launch("cpu", 0))
    assert _given(executor, handle) == "unset"
    until(lambda: not executor.status(handle)["running"], 30, "the runner ended")
    assert executor.capacity()["gpus"] == 0


def test_the_gpus_are_dockyard_gpus_else_what_nvidia_smi_lists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert machine_gpus(["1", "1", "0"]) == (["1", "0"], False)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert machine_gpus(None) == ([], False)  # no nvidia-smi: no GPUs
    smi = tmp_path / "nvidia-smi"
    smi.write_text("#!/bin/sh\nprintf '0\\n1\\n'\n")
    smi.chmod(0o755)
    assert machine_gpus(None) == (["0", "1"], True)
    smi.write_text("#!/bin/sh\necho 'NVIDIA-SMI has failed' >&2\nexit 9\n")
    assert machine_gpus(None) == ([], False)
