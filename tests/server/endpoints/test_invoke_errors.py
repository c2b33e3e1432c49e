"""What callers see when an invocation cannot be answered: one line naming the problem from
``dockyard endpoints invoke``, and at once (not after the request timeout) from an endpoint
that nothing serves, through boto3 and the CLI alike, on the server's URL and the endpoint's own."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner
from tests.server.endpoints.conftest import runtime_client, wait_status
from tests.services.server_process import ServerProcess

from dockyard.client.cli import cli
from dockyard.client.http import Client
from dockyard.client.sdk import reset_context

pytestmark = pytest.mark.slow


def _serving(
    server: ServerProcess, client: Client, monkeypatch: pytest.MonkeyPatch, name: str, model: str
) -> None:
    """Endpoint ``name`` serving ``model``, and the CLI and SDK pointed at ``server``."""
    monkeypatch.setenv("DOCKYARD_URI", server.url)
    reset_context()
    variants = [{"name": "primary", "model_uri": model}]
    client.request("POST", "/api/v1/endpoints", json={"name": name, "variants": variants})
    wait_status(client, name, "InService")


def test_cli_invoke_errors_are_one_line_naming_the_option(
    server: ServerProcess,
    client: Client,
    models: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _serving(server, client, monkeypatch, "said", models["one"])
    runner = CliRunner()
    # CSV sent as the default JSON: the answer's JSON body was printed as the output.
    csv = runner.invoke(cli, ["endpoints", "invoke", "said", "-d", "1,2,3"])
    assert csv.exit_code == 2
    assert csv.stdout == ""
    (line,) = [x for x in csv.stderr.splitlines() if x.startswith("error:")]
    assert line.startswith("error: the request body is not valid JSON: ")
    assert "give --content-type for another format" in line
    # The variant is the option's, not the header the CLI sends it in.
    body = json.dumps({"dataframe_split": {"columns": ["a", "b", "c"], "data": [[1, 2, 3]]}})
    pinned = runner.invoke(cli, ["endpoints", "invoke", "said", "-d", body, "--variant", "nope"])
    assert pinned.exit_code == 2
    assert pinned.stdout == ""
    assert "error: --variant names unknown variant 'nope' (production variants: primary)" in (
        pinned.stderr
    )
    assert "X-Dockyard-Target-Variant" not in pinned.stderr


def test_a_failed_endpoint_is_refused_at_once(
    server: ServerProcess,
    client: Client,
    models: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    variants = [{"name": "primary", "model_uri": models["broken"]}]
    client.request("POST", "/api/v1/endpoints", json={"name": "unserved", "variants": variants})
    deadline = time.monotonic() + 120
    while client.request("GET", "/api/v1/endpoints/unserved")["status"] != "Failed":
        assert time.monotonic() < deadline, "the endpoint did not fail"
        time.sleep(0.2)
    # Nothing accepts on its port: boto3 waited the request timeout (65 s through the server)
    # for a 503, and retried it; the CLI waited 60 s and printed a traceback.
    runtime = runtime_client(server.url, read_timeout=20)
    with pytest.raises(ClientError) as refused:
        runtime.invoke_endpoint(EndpointName="unserved", Body=b"1,2,3", ContentType="text/csv")
    error = refused.value.response["Error"]
    assert error["Code"] == "ValidationError"
    assert error["Message"].startswith("endpoint unserved is Failed, nothing serves it: ")
    assert "cannot load on purpose" in error["Message"]
    monkeypatch.setenv("DOCKYARD_URI", server.url)
    reset_context()
    invoked = CliRunner().invoke(cli, ["endpoints", "invoke", "unserved", "-d", "{}"])
    assert invoked.exit_code == 1
    assert "error: endpoint unserved is Failed, nothing serves it: " in invoked.stderr
    # Its own port says the same at once (it accepted connections and never answered).
    own = client.request("GET", "/api/v1/endpoints/unserved")["url"]
    direct = runtime_client(own, read_timeout=20)
    with pytest.raises(ClientError) as refused:
        direct.invoke_endpoint(EndpointName="unserved", Body=b"1,2,3", ContentType="text/csv")
    assert refused.value.response["Error"]["Code"] == "ValidationError"
    said = refused.value.response["Error"]["Message"]
    assert said.startswith("endpoint unserved is Failed, nothing serves it")
    assert "cannot load on purpose" not in said  # the reason stays behind authentication
    runtime.close()
    direct.close()
    import tritonclient.http as triton
    from tritonclient.utils import InferenceServerException

    oip = triton.InferenceServerClient(own.removeprefix("http://"), network_timeout=20)
    try:
        assert not oip.is_server_ready()  # 503: a health check sees it is not serving
        tensor = triton.InferInput("input", [1, 3], "FP64")
        tensor.set_data_from_numpy(np.ones((1, 3)))
        with pytest.raises(InferenceServerException) as failed:
            oip.infer("unserved", [tensor])
        assert "endpoint unserved is Failed" in str(failed.value)
        assert "endpoints describe unserved" in str(failed.value)
    finally:
        oip.close()


def test_an_endpoint_deployed_earlier_is_reached_by_its_name(
    server: ServerProcess,
    client: Client,
    models: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import dockyard as dy

    _serving(server, client, monkeypatch, "earlier", models["one"])
    # dy.EndpointHandle("earlier") was a TypeError (a client was required): a notebook could
    # not update or scale an endpoint it had not just deployed.
    handle = dy.EndpointHandle("earlier")
    # An update names what changes: the variants left out stay as they are, as the README says.
    scaled = handle.update({"scaling": {"min_workers": 2, "max_workers": 2}})
    assert scaled.status == "InService"
    assert scaled.config.scaling.min_workers == 2
    assert [(v.name, v.model_uri) for v in scaled.config.variants] == [("primary", models["one"])]
    client.request("PUT", "/api/v1/endpoints/earlier", json={"request_timeout_s": 30})
    wait_status(client, "earlier", "InService")
    config = client.request("GET", "/api/v1/endpoints/earlier")["config"]
    assert config["request_timeout_s"] == 30 and config["scaling"]["min_workers"] == 2
    assert [v["name"] for v in config["variants"]] == ["primary"]
