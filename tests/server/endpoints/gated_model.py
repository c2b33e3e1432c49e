"""A custom model whose loading waits for a gate: ``GATE_DIR/open`` (a worker caught loading).

Each load notes its worker in ``GATE_DIR/loading-<pid>``; each answer is the worker's pid.
Without ``GATE_DIR`` (saving the model) it loads at once.
"""

import os
import time
from pathlib import Path

import numpy as np

from dockyard.models.flavors.python_model import PythonModel


class Gated(PythonModel):
    def load_context(self, context):  # type: ignore[no-untyped-def]
        if "GATE_DIR" not in os.environ:
            return
        gate = Path(os.environ["GATE_DIR"])
        (gate / f"loading-{os.getpid()}").touch()
        while not (gate / "open").exists():
            time.sleep(0.05)

    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        return np.full(len(model_input), float(os.getpid()))
