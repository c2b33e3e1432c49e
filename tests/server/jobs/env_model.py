"""A custom model that reports whether it can see any AWS credential in its environment."""

import os

import numpy as np

from dockyard.models.flavors.python_model import PythonModel


class CredentialProbe(PythonModel):
    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        seen = any(k.startswith("AWS_") for k in os.environ)
        return np.full(len(model_input), 1.0 if seen else 0.0)
