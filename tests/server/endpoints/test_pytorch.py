"""A PyTorch CNN deployed as an endpoint through the server, called with the SDK's Predictor."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.services.server_process import ServerProcess

import dockyard as dy
from dockyard.client.sdk import reset_context
from dockyard.models import save_model
from dockyard.models.pyfunc import load_model
from dockyard.settings import Settings

torch = pytest.importorskip(
    "torch", reason="torch is not installed (make install-test adds it from /opt/wheels)"
)

pytestmark = pytest.mark.slow


def test_deployed_cnn_answers_json_and_flattened_csv(server: ServerProcess, tmp_path: Path) -> None:
    torch.manual_seed(0)
    cnn = torch.nn.Sequential(
        torch.nn.Conv2d(1, 3, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(3 * 6 * 6, 4),
    )
    package = tmp_path / "cnn"
    save_model(cnn, package, input_example=torch.rand(2, 1, 6, 6))
    images = np.random.default_rng(0).random((5, 1, 6, 6)).astype(np.float32)
    expected = load_model(package).predict(images)

    reset_context(Settings(home=tmp_path / "client", uri=server.url))
    try:
        endpoint = dy.deploy(str(package), name="cnn")
        as_json = dy.Predictor("cnn")
        np.testing.assert_allclose(as_json.predict(images), expected, rtol=1e-6)
        with pytest.raises(dy.InvalidArgument, match=r"expected shape \[-1, 1, 6, 6\]"):
            as_json.predict(images[:, 0])
        as_csv = dy.Predictor(endpoint.url, serializer=dy.CSVSerializer())
        np.testing.assert_allclose(as_csv.predict(images.reshape(5, -1)), expected, rtol=1e-5)
        as_json.close()
        as_csv.close()
    finally:
        reset_context(Settings(home=tmp_path / "client"))
