"""A custom model that takes a while per call (to build up in-flight requests)."""

import time

import numpy as np

from dockyard.models.flavors.python_model import PythonModel


class Slow(PythonModel):
    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        time.sleep(0.05)
        return np.zeros(len(model_input))
