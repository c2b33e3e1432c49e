"""Reading SageMaker's training contract, and failing the way it expects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dockyard.algorithms._contract import TrainingEnv, run
from dockyard.errors import InvalidArgument


def _config(root: Path, **files: object) -> None:
    config = root / "input" / "config"
    config.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (config / f"{name}.json").write_text(json.dumps(content))


def test_reads_the_runner_environment(tmp_path: Path) -> None:
    _config(
        tmp_path,
        hyperparameters={"num_round": "10", "eta": "0.2"},
        inputdataconfig={
            "train": {"ContentType": "text/csv", "TrainingInputMode": "File"},
            "validation": {"ContentType": ""},
        },
    )
    data = tmp_path / "elsewhere"
    environ = {
        "SM_MODEL_DIR": str(tmp_path / "m"),
        "SM_OUTPUT_DIR": str(tmp_path / "o"),
        "SM_CHANNELS": '["train", "validation", "extra"]',
        "SM_CHANNEL_TRAIN": str(data),
        "SM_NUM_CPUS": "3",
        "SM_CURRENT_HOST": "algo-2",
        "SM_CHECKPOINT_DIR": "ckpt",  # relative: under the job directory
        "SM_HPS": '{"ignored": "because hyperparameters.json exists"}',
    }
    env = TrainingEnv.from_environ(environ, tmp_path)
    assert env.hyperparameters == {"num_round": "10", "eta": "0.2"}
    assert env.channels["train"].path == data
    assert env.channels["train"].content_type == "text/csv"
    assert env.channels["validation"].content_type is None  # "" means not declared
    assert env.channels["validation"].path == tmp_path / "input" / "data" / "validation"
    assert env.channels["extra"].content_type is None
    assert env.model_dir == tmp_path / "m"
    assert env.output_dir == tmp_path / "o"
    assert env.output_data_dir == tmp_path / "o" / "data"
    assert env.checkpoint_dir == tmp_path / "ckpt"
    assert (env.num_cpus, env.current_host) == (3, "algo-2")


def test_defaults_to_the_job_directory_layout(tmp_path: Path) -> None:
    _config(tmp_path, checkpointconfig={"LocalPath": "/opt/ml/checkpoints"})
    env = TrainingEnv.from_environ({"SM_HPS": '{"num_round": 5, "flag": true}'}, tmp_path)
    # Without hyperparameters.json, SM_HPS's typed values are read as SageMaker writes them.
    assert env.hyperparameters == {"num_round": "5", "flag": "true"}
    assert env.channels == {}
    assert env.model_dir == tmp_path / "model"
    assert env.output_dir == tmp_path / "output"
    assert env.checkpoint_dir == Path("/opt/ml/checkpoints")
    assert env.num_cpus >= 1 and env.current_host == "algo-1"


def test_channel_lookup(tmp_path: Path) -> None:
    _config(tmp_path, inputdataconfig={"train": {}})
    env = TrainingEnv.from_environ({}, tmp_path)
    with pytest.raises(InvalidArgument, match=r"its folder .* does not exist") as caught:
        env.channel("train")
    assert caught.value.field == "inputs.train"
    assert env.channel("validation") is None
    with pytest.raises(InvalidArgument, match=r"'validation' channel is required .*'train'"):
        env.channel("validation", required=True)


@pytest.mark.parametrize(
    ("files", "environ", "message"),
    [
        ({"inputdataconfig": {"train": {"TrainingInputMode": "Pipe"}}}, {}, "Pipe input mode"),
        ({"hyperparameters": ["not", "an", "object"]}, {}, "must hold a JSON object"),
        ({}, {"SM_CHANNELS": "train"}, "SM_CHANNELS is not valid JSON"),
        ({}, {"SM_HPS": "[1]"}, "SM_HPS must be a JSON object"),
    ],
    ids=["pipe", "hyperparameters", "channels", "hps"],
)
def test_bad_contract(
    tmp_path: Path, files: dict[str, object], environ: dict[str, str], message: str
) -> None:
    _config(tmp_path, **files)
    with pytest.raises(InvalidArgument, match=message):
        TrainingEnv.from_environ(environ, tmp_path)


def test_input_errors_fail_with_their_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def train(env: TrainingEnv) -> None:
        raise InvalidArgument("hyperparameter 'eta' must be a number in [0, 1], got '2'")

    assert run(train, algorithm="demo", environ={}, cwd=tmp_path) == 1
    failure = (tmp_path / "output" / "failure").read_text()
    assert failure == "hyperparameter 'eta' must be a number in [0, 1], got '2'\n"
    assert "ERROR: hyperparameter 'eta'" in capsys.readouterr().err


def test_contract_errors_fail_too(tmp_path: Path) -> None:
    _config(tmp_path, inputdataconfig={"train": {"TrainingInputMode": "Pipe"}})
    environ = {"SM_OUTPUT_DIR": "out"}
    assert run(lambda env: None, algorithm="demo", environ=environ, cwd=tmp_path) == 1
    assert "Pipe input mode" in (tmp_path / "out" / "failure").read_text()


def test_algorithm_faults_say_so_and_log_the_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def train(env: TrainingEnv) -> None:
        raise KeyError("oops")

    assert run(train, algorithm="demo", environ={}, cwd=tmp_path) == 2
    failure = (tmp_path / "output" / "failure").read_text()
    assert failure == "the demo algorithm failed: KeyError: 'oops'\n"
    assert "Traceback" in capsys.readouterr().err


def test_success_writes_no_failure(tmp_path: Path) -> None:
    seen: list[TrainingEnv] = []
    assert run(seen.append, algorithm="demo", environ={}, cwd=tmp_path) == 0
    assert seen[0].model_dir == tmp_path / "model"
    assert not (tmp_path / "output" / "failure").exists()
