"""A custom model whose answer to one row is millions of numbers (an answer a client can
leave unread with most of it still to send)."""

import numpy as np

from dockyard.models.flavors.python_model import PythonModel


class Big(PythonModel):
    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        return np.zeros((len(model_input), 2_000_000))
