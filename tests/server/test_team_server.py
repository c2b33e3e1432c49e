"""A team server with accounts, driven the way its users drive it: the CLI to set it up and sign
in, the unmodified ``mlflow`` client with a token or a password, and a job whose own token
reaches only its own run."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.services.server_process import ServerProcess

import dockyard as dy
from dockyard.client.http import Client
from dockyard.client.sdk import reset_context
from dockyard.errors import PermissionDenied, Unauthenticated
from dockyard.settings import Settings

PASSWORD = "correct horse battery"


def _clean_env() -> dict[str, str]:
    """This process's environment without MLflow's settings, which earlier tests may have
    left behind (mlflow exports MLFLOW_EXPERIMENT_ID when it sets an experiment)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}


def _cli(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dockyard", *args],
        input=stdin,
        env={**_clean_env(), **env},
        capture_output=True,
        check=False,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Path]]:
    root = tmp_path_factory.mktemp("team")
    home = root / "home"
    local = {"DOCKYARD_HOME": str(home)}
    # Set up on the server's own machine, before it starts: the embedded CLI is the owner.
    made = _cli(
        "users",
        "create",
        "root",
        "--role",
        "admin",
        "--password-stdin",
        env=local,
        stdin=PASSWORD + "\n",
    )
    assert made.returncode == 0, made.stderr
    for name in ("bob", "carol"):
        made = _cli("users", "create", name, "--password-stdin", env=local, stdin=PASSWORD + "\n")
        assert made.returncode == 0, made.stderr
    # On every interface (sign-in is required): clients may come from another machine.
    server = ServerProcess(home, host="0.0.0.0")
    server.start()
    yield server, root
    server.stop()


def _token(url: str, user: str, password: str = PASSWORD) -> str:
    import base64

    basic = base64.b64encode(f"{user}:{password}".encode()).decode()
    with Client(url, retry_for=0) as anonymous:
        made = anonymous.request(
            "POST",
            "/api/v1/tokens",
            json={"name": "t"},
            headers={"authorization": f"Basic {basic}"},
        )
    return str(made["token"])


_MLFLOW = textwrap.dedent(
    """
    import sys, mlflow
    mlflow.set_tracking_uri(sys.argv[1])
    mlflow.set_experiment(sys.argv[2])
    with mlflow.start_run() as run:
        mlflow.log_param("alpha", 0.5)
        for step in range(3):
            mlflow.log_metric("rmse", 1.0 / (step + 1), step=step)
        mlflow.log_text("hello", "notes/readme.txt")
    found = mlflow.search_runs(experiment_names=[sys.argv[2]])
    client = mlflow.MlflowClient()
    print(run.info.run_id, len(found), client.get_run(run.info.run_id).data.metrics["rmse"],
          client.download_artifacts(run.info.run_id, "notes/readme.txt", sys.argv[3]))
    """
)


@pytest.mark.parametrize("how", ["token", "password"])
def test_the_mlflow_client_signs_in_as_mlflow_users_do(
    team: tuple[ServerProcess, Path], how: str, tmp_path: Path
) -> None:
    server, _ = team
    env = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}
    if how == "token":
        env["MLFLOW_TRACKING_TOKEN"] = _token(server.url, "bob")
    else:
        env |= {"MLFLOW_TRACKING_USERNAME": "bob", "MLFLOW_TRACKING_PASSWORD": PASSWORD}
    script = tmp_path / "train.py"
    script.write_text(_MLFLOW)
    done = subprocess.run(
        [sys.executable, str(script), server.url, f"mlflow-{how}", str(tmp_path)],
        env={**_clean_env(), **env},
        capture_output=True,
        check=False,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    run_id, found, rmse, downloaded = done.stdout.strip().splitlines()[-1].split()
    assert found == "1" and float(rmse) == pytest.approx(1 / 3)
    assert Path(downloaded).read_text() == "hello"
    with Client(server.url, token=_token(server.url, "root")) as admin:
        run = admin.request("GET", f"/api/v1/runs/{run_id}")
        assert run["info"]["user_id"] == "bob"  # the author is who signed in


def test_the_mlflow_client_without_credentials_is_refused(
    team: tuple[ServerProcess, Path], tmp_path: Path
) -> None:
    server, _ = team
    script = tmp_path / "train.py"
    script.write_text(_MLFLOW)
    env = _clean_env()
    done = subprocess.run(
        [sys.executable, str(script), server.url, "nobody", str(tmp_path)],
        env={**env, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"},
        capture_output=True,
        check=False,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0 and "UNAUTHENTICATED" in done.stderr


def test_login_whoami_and_audit_from_the_cli(
    team: tuple[ServerProcess, Path], tmp_path: Path
) -> None:
    server, _ = team
    env = {"DOCKYARD_URI": server.url, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    signed = _cli("login", "--username", "root", "--password-stdin", env=env, stdin=PASSWORD)
    assert signed.returncode == 0, signed.stderr
    assert "DOCKYARD_URI" not in signed.stdout  # already names this server
    elsewhere = {"XDG_CONFIG_HOME": str(tmp_path / "other")}
    args = ("login", "--url", server.url, "-u", "root", "--password-stdin")
    hinted = _cli(*args, env=elsewhere, stdin=PASSWORD)
    # Without DOCKYARD_URI, later commands would go to the embedded default, not here.
    assert f"export DOCKYARD_URI={server.url}" in hinted.stdout, hinted.stdout + hinted.stderr
    saved = tmp_path / "config" / "dockyard" / "credentials.json"
    assert saved.stat().st_mode & 0o777 == 0o600 and "dyt_" in saved.read_text()
    who = _cli("whoami", "--json", env=env)
    assert '"name": "root"' in who.stdout and '"auth_required": true' in who.stdout
    made = _cli("experiments", "create", "from-cli", env=env)
    assert made.returncode == 0, made.stderr
    audit = _cli("audit", "--type", "experiment.*", "--json", env=env)
    assert audit.returncode == 0 and '"actor":"root"' in audit.stdout.replace(" ", "")
    table = _cli("audit", "--actor", "root", "--since", "1h", env=env)
    assert "experiment.created" in table.stdout and "ACTOR" in table.stdout
    assert _cli("logout", env=env).returncode == 0
    refused = _cli("whoami", env=env)
    assert refused.returncode == 2 and "sign in" in refused.stderr


_JOB = textwrap.dedent(
    """
    import json, os, sys
    import dockyard as dy
    from dockyard.client.sdk import Client
    dy.log_metric("accuracy", 0.9)
    client = Client(os.environ["DOCKYARD_URI"], token=os.environ["DOCKYARD_TOKEN"], retry_for=0)
    tries = {}
    for name, call in {
        "other_run": lambda: client.request(
            "POST", f"/api/v1/runs/{sys.argv[2]}/batch",
            json={"tags": [{"key": "hacked", "value": "1"}]}),
        "new_experiment": lambda: client.request(
            "POST", "/api/v1/experiments", json={"name": "job-made"}),
        "new_token": lambda: client.request("POST", "/api/v1/tokens", json={"name": "x"}),
        "read_other_run": lambda: client.request("GET", f"/api/v1/runs/{sys.argv[2]}"),
        # What only the job's runner may do: its code's token may not.
        "launch": lambda: client.request("POST", f"/api/v1/jobs/{sys.argv[4]}/launch"),
        "report": lambda: client.request(
            "POST", f"/api/v1/jobs/{sys.argv[4]}/reports",
            json={"events": [{"at": 10**9, "time": 0, "secondary_status": "Completed"}],
                  "next_offset": 10**9 + 1}),
        "append_log": lambda: client._http.post(
            f"/api/v1/jobs/{sys.argv[4]}/logs", params={"offset": 0}, content=b"forged"
        ).raise_for_status(),
    }.items():
        try:
            call()
            tries[name] = "ok"
        except Exception as exc:
            tries[name] = type(exc).__name__
    with open(os.path.join(os.environ["SM_MODEL_DIR"], "tries.json"), "w") as out:
        json.dump(tries, out)
    with open(os.path.join(os.environ["SM_MODEL_DIR"], "token.txt"), "w") as out:
        out.write(os.environ["DOCKYARD_TOKEN"])
    print("TRIES", json.dumps(tries), flush=True)
    print("TOKEN", os.environ["DOCKYARD_TOKEN"], flush=True)  # a script printing its environment
    """
)


def test_a_job_acts_with_a_token_of_its_own(team: tuple[ServerProcess, Path]) -> None:
    server, _ = team
    bob = Client(server.url, token=_token(server.url, "bob"), retry_for=5)
    carol = Client(server.url, token=_token(server.url, "carol"), retry_for=5)
    # carol's run in carol's experiment: bob (and bob's job) may read it, not change it.
    carol_exp = carol.request("POST", "/api/v1/experiments", json={"name": "carols"})
    other = carol.request(
        "POST", "/api/v1/runs", json={"experiment_id": carol_exp["experiment_id"]}
    )
    code = bob.request("PUT", "/api/v1/data/job/train.py", content=_JOB.encode())
    job = bob.request(
        "POST",
        "/api/v1/jobs/training",
        json={
            "entry_point": "train.py",
            "source_dir": code["prefix_uri"],
            "name": "bobs-job",
            "hyperparameters": {"other": other["info"]["run_id"], "name": "bobs-job"},
            "experiment": "bobs-jobs",
        },
    )
    deadline = time.monotonic() + 120
    while job["status"] not in ("Completed", "Failed", "Stopped"):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
        job = bob.request("GET", f"/api/v1/jobs/{job['name']}")
    assert job["status"] == "Completed", job["failure_reason"]
    assert job["created_by"] == "bob"
    run = bob.request("GET", f"/api/v1/runs/{job['run_id']}")
    assert run["metrics"]["accuracy"]["value"] == 0.9
    untouched = carol.request("GET", f"/api/v1/runs/{other['info']['run_id']}")
    assert "hacked" not in untouched["tags"]
    # The token the job ran with is revoked once it ended.
    with bob.stream("GET", f"/api/v1/runs/{job['run_id']}/artifacts/model-files/token.txt") as got:
        used = got.read().decode()
    assert used.startswith("dyt_")
    with Client(server.url, token=used, retry_for=0) as stale, pytest.raises(Unauthenticated):
        stale.request("GET", "/api/v1/whoami")
    with pytest.raises(PermissionDenied):
        carol.request("POST", f"/api/v1/jobs/{job['name']}/stop")
    # What the script tried with its token, as it wrote it into its model folder.
    with bob.stream("GET", f"/api/v1/runs/{job['run_id']}/artifacts/model-files/tries.json") as got:
        tries = json.loads(got.read())
    assert tries == {
        "other_run": "PermissionDenied",
        "new_experiment": "PermissionDenied",
        "new_token": "PermissionDenied",
        "read_other_run": "ok",
        "launch": "PermissionDenied",
        "report": "PermissionDenied",
        "append_log": "HTTPStatusError",
    }
    assert "forged" not in bob._http.get(f"/api/v1/jobs/{job['name']}/logs").text
    # Whoever may read the log (carol) must not find the token in it to act as the job.
    log = carol._http.get(f"/api/v1/jobs/{job['name']}/logs").text
    assert "TOKEN ******" in log and used not in log
    with carol.stream("GET", f"/api/v1/runs/{job['run_id']}/artifacts/logs/output.log") as got:
        assert used not in got.read().decode()
    bob.close()
    carol.close()


_PREDICT = textwrap.dedent(
    """
    import numpy as np
    from sklearn.linear_model import LinearRegression
    import dockyard as dy
    x = np.array([[0.0], [1.0], [2.0]])
    dy.set_experiment("remote-predictions")
    with dy.start_run():
        model = dy.log_model(LinearRegression().fit(x, x[:, 0] * 2), "model")
    dy.deploy(model.model_uri, name="remote", require_api_key=True)
    predictor = dy.Predictor("remote")
    print(round(predictor.predict([[3.0]]).tolist()[0], 6), predictor.last_variant)
    """
)


_CHECKPOINTING = textwrap.dedent(
    """
    import os, pathlib
    step = pathlib.Path(os.environ["SM_CHECKPOINT_DIR"]) / "step.txt"
    seen = int(step.read_text()) if step.exists() else 0  # restored from the checkpoint URI
    step.write_text(str(seen + 1))
    pathlib.Path(os.environ["SM_MODEL_DIR"], "seen.txt").write_text(str(seen))
    """
)


def _fit_as(server: ServerProcess, user: str, password: str, home: Path, **kw: Any) -> str:
    """As ``user`` through the SDK: upload a folder of data and train on it with checkpoints
    at ``checkpoint_s3_uri``; the upload's URI."""
    reset_context(Settings(home=home, uri=server.url, token=_token(server.url, user, password)))
    try:
        data = home / "data"
        data.mkdir(parents=True, exist_ok=True)
        (data / "train.csv").write_text("x\n1\n")
        (home / "code").mkdir(exist_ok=True)
        (home / "code" / "train.py").write_text(_CHECKPOINTING)
        uri = dy.upload_data(data, key_prefix="mine")
        estimator = dy.Estimator(
            entry_point="train.py",
            source_dir=home / "code",
            resources={"cpus": 1},
            experiment=f"{user}-{home.name}",
            **kw,
        )
        job = estimator.fit({"train": uri}, wait=False)
        described = job.wait(logs=False)
        assert described.status == "Completed", described.failure_reason
        return uri
    finally:
        reset_context(Settings(home=home))


def test_an_account_made_again_under_a_deleted_name_starts_with_empty_store_areas(
    team: tuple[ServerProcess, Path], tmp_path: Path
) -> None:
    server, _ = team
    admin = {
        "DOCKYARD_URI": server.url,
        "DOCKYARD_TOKEN": _token(server.url, "root"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    store = server.home / "artifacts"
    first = "first-ann-password"
    made = _cli("users", "create", "ann", "--password-stdin", env=admin, stdin=first + "\n")
    assert made.returncode == 0, made.stderr
    theirs = store / "checkpoints" / "ann" / "run"
    old = _fit_as(server, "ann", first, tmp_path / "first", checkpoint_s3_uri=str(theirs))
    assert Path(old).is_relative_to(store / "data" / "users" / "ann" / "mine")
    assert (theirs / "step.txt").read_text() == "1"
    assert _cli("users", "delete", "ann", "--yes", env=admin).returncode == 0
    made = _cli("users", "create", "ann", "--password-stdin", env=admin, stdin=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    # The same data uploads again, into her own area: the deleted account's copy is not hers.
    with pytest.raises(PermissionDenied) as refused:
        _fit_as(server, "ann", PASSWORD, tmp_path / "second", checkpoint_s3_uri=str(theirs))
    assert refused.value.field == "checkpoint.uri"
    assert "checkpoints/ann-2/" in refused.value.message
    mine = store / "checkpoints" / "ann-2" / "run"
    new = _fit_as(server, "ann", PASSWORD, tmp_path / "second", checkpoint_s3_uri=str(mine))
    assert Path(new).is_relative_to(store / "data" / "users" / "ann-2" / "mine")
    assert (mine / "step.txt").read_text() == "1"  # started afresh, not from the old one's
    assert (theirs / "step.txt").read_text() == "1"  # which stays as it was
    listed = _cli("users", "list", env=admin)  # where hers are
    assert "ann-2" in listed.stdout, listed.stdout + listed.stderr


def _network_address() -> str:
    """An address of this machine that is not loopback, as another machine would reach it."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks a route
        except OSError:
            pytest.skip("this machine has no network address besides loopback")
        address = str(probe.getsockname()[0])
    if address.startswith("127."):
        pytest.skip("this machine has no network address besides loopback")
    return address


def test_a_client_elsewhere_predicts_through_the_server(
    team: tuple[ServerProcess, Path], tmp_path: Path
) -> None:
    # The endpoint listens on the server machine's loopback: a client on another machine that
    # sent there would reach its own. By name, its predictions go through the server's route,
    # signed in as the client; the endpoint's API key is the server's to send.
    server, _ = team
    remote = f"http://{_network_address()}:{server.port}"
    env = {
        "DOCKYARD_URI": remote,
        "DOCKYARD_TOKEN": _token(server.url, "bob"),
        "DOCKYARD_HOME": str(tmp_path / "client"),
    }
    script = tmp_path / "predict.py"
    script.write_text(_PREDICT)
    done = subprocess.run(
        [sys.executable, str(script)],
        env={**_clean_env(), **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    try:
        assert done.returncode == 0, done.stderr[-3000:]
        assert done.stdout.split() == ["6.0", "primary"]
        invoked = _cli("endpoints", "invoke", "remote", "-d", '{"inputs": [[4.0]]}', env=env)
        assert invoked.returncode == 0, invoked.stderr
        assert json.loads(invoked.stdout)["predictions"] == [pytest.approx(8.0)]
        assert "variant: primary" in invoked.stderr
        # and the address it shows is the one this machine reaches, not the server's loopback
        route = f"{remote}/endpoints/remote/invocations"
        listed = _cli("endpoints", "list", env=env)
        assert listed.returncode == 0, listed.stderr
        assert route in listed.stdout and "127.0.0.1" not in listed.stdout
        described = _cli("endpoints", "describe", "remote", env=env)
        assert f"at {route}" in described.stdout, described.stdout
    finally:
        _cli("endpoints", "delete", "remote", "--yes", env=env)
