"""A custom model whose loads fail by number: each load in any process takes the next ticket.

Tickets are files created with ``O_EXCL`` in the model's folder, so the n-th load across all
worker processes gets ticket n whatever the timing; loads whose numbers are listed in the
folder's ``fail`` file raise.
"""

import os
from pathlib import Path

import numpy as np

from dockyard.models.flavors.python_model import PythonModel


class Flaky(PythonModel):
    def __init__(self, folder: str) -> None:
        self.folder = folder

    def load_context(self, context):  # type: ignore[no-untyped-def]
        folder = Path(self.folder)
        ticket = 0
        while True:
            try:
                os.close(os.open(folder / f"load-{ticket}", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
                break
            except FileExistsError:
                ticket += 1
        if str(ticket) in (folder / "fail").read_text().split():
            raise RuntimeError(f"load {ticket} fails on purpose")

    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        return np.zeros(len(model_input))
