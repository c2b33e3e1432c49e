"""A runner's work folder for one job: SageMaker's ``/opt/ml`` layout plus the runner's own files.

The folder is the runner's alone (the server never reads it; see
:mod:`dockyard.runtime.runner._runner`).

::

    <job_dir>/
      input/config/hyperparameters.json   string values, as SageMaker writes them
      input/config/inputdataconfig.json
      input/config/resourceconfig.json
      input/data/<channel>/               the channel's files
      model/                              SM_MODEL_DIR: the script saves its model here
      output/data/                        SM_OUTPUT_DATA_DIR: other outputs
      output/failure                      a failing script explains itself here
      checkpoints/                        synced to the checkpoint URI, restored on retry
      code/                               a copy of source_dir; the script's working dir
      home/, tmp/                         the script's HOME and TMPDIR
      .dockyard/job.json                  the launch, for the transform process the runner starts
      .dockyard/server/events.jsonl              status outbox: appended here, sent by the uplink
      .dockyard/output.log                the job's combined stdout and stderr (sent too)
      .dockyard/runner.log                the runner's own output (the local executor's)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["JobDir"]


@dataclass(frozen=True)
class JobDir:
    """Paths inside one job directory."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "input" / "config"

    @property
    def data(self) -> Path:
        return self.root / "input" / "data"

    @property
    def model(self) -> Path:
        return self.root / "model"

    @property
    def output(self) -> Path:
        return self.root / "output"

    @property
    def output_data(self) -> Path:
        return self.root / "output" / "data"

    @property
    def failure(self) -> Path:
        return self.root / "output" / "failure"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def code(self) -> Path:
        return self.root / "code"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def control(self) -> Path:
        return self.root / ".dockyard"

    @property
    def job_file(self) -> Path:
        return self.control / "job.json"

    @property
    def events(self) -> Path:
        return self.control / "events.jsonl"

    @property
    def log(self) -> Path:
        return self.control / "output.log"

    def create(self) -> None:
        for folder in (
            self.config,
            self.data,
            self.model,
            self.output_data,
            self.checkpoints,
            self.home,
            self.tmp,
            self.control,
        ):
            folder.mkdir(parents=True, exist_ok=True)
