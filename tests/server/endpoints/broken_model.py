"""A custom model that never loads: its ``load_context`` raises."""

import numpy as np

from dockyard.models.flavors.python_model import PythonModel


class Broken(PythonModel):
    def load_context(self, context):  # type: ignore[no-untyped-def]
        raise RuntimeError("cannot load on purpose")

    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        return np.zeros(len(model_input))
