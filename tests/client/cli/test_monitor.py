"""``dockyard monitor baseline|check`` on local files: click's runner, and the real script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from tests.monitor.conftest import frame, write_csv

from dockyard.client.cli import cli


@pytest.fixture
def data(tmp_path: Path) -> tuple[Path, Path]:
    baseline = write_csv(
        tmp_path / "train.csv", frame(np.random.default_rng(1), 3000), header=False
    )
    current = write_csv(
        tmp_path / "today.csv", frame(np.random.default_rng(2), 3000, mean=1.0), header=False
    )
    return baseline, current


def test_baseline_then_check_write_the_files_and_say_what_drifted(
    tmp_path: Path, data: tuple[Path, Path]
) -> None:
    runner = CliRunner()
    train, today = data
    done = runner.invoke(cli, ["monitor", "baseline", str(train), "--output", str(tmp_path / "bl")])
    assert done.exit_code == 0, done.output
    assert "3000 rows" in done.output
    assert "_c0" in done.output  # headerless: generated names
    assert sorted(p.name for p in (tmp_path / "bl").iterdir()) == [
        "constraints.json",
        "statistics.json",
    ]
    args = ["monitor", "check", str(today), "--baseline", str(tmp_path / "bl")]
    done = runner.invoke(cli, [*args, "--output", str(tmp_path / "out"), "--json"])
    assert done.exit_code == 0, done.output
    summary = json.loads(done.output)
    assert summary["rows"] == 3000
    assert summary["violations_by_type"] == {"baseline_drift_check": 1}
    assert [d["feature"] for d in summary["drifted_features"]] == ["_c0"]
    assert (tmp_path / "out" / "report.html").exists()
    done = runner.invoke(cli, [*args, "--output", str(tmp_path / "o2"), "--fail-on-violation"])
    assert done.exit_code == 3
    assert "_c0  baseline_drift_check: Baseline drift distance" in done.output
    assert "DRIFT" in done.output


def test_thresholds_and_metric_change_the_decision(tmp_path: Path, data: tuple[Path, Path]) -> None:
    runner = CliRunner()
    train, today = data
    runner.invoke(cli, ["monitor", "baseline", str(train), "--output", str(tmp_path / "bl")])
    args = ["monitor", "check", str(today), "--baseline", str(tmp_path / "bl")]
    args += ["--output", str(tmp_path / "out"), "--json", "--drift-metric", "psi"]
    done = runner.invoke(cli, [*args, "--threshold", "psi=50"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["violations"] == 0
    done = runner.invoke(cli, [*args, "--threshold", "psi"])
    assert done.exit_code == 2
    assert "--threshold takes METRIC=NUMBER" in done.output


def test_bad_inputs_exit_2_with_one_clear_line(tmp_path: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(cli, ["monitor", "baseline", str(tmp_path / "no.csv"), "--output", "x"])
    assert done.exit_code == 2
    assert "no.csv: no such file or folder" in done.output
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("1,2\n3\n")
    done = runner.invoke(cli, ["monitor", "baseline", str(ragged), "--output", str(tmp_path / "o")])
    assert done.exit_code == 2
    # The command's argument is named, not the field the dataset's reader knows it by.
    assert done.output.rstrip().endswith("ragged.csv, line 2: expected 2 columns, got 1 (DATA)")
    (tmp_path / "bl").mkdir()
    (tmp_path / "bl" / "statistics.json").write_text('{"features": []}')
    (tmp_path / "bl" / "constraints.json").write_text('{"features": [{"name": 3}]}')
    args = ["monitor", "check", str(ragged), "--baseline", str(tmp_path / "bl"), "--output", "o"]
    done = runner.invoke(cli, args)
    assert done.exit_code == 2
    assert "constraints.json: features.0.name must be a string" in done.output


def _one_error_line(output: str) -> str:
    lines = output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in output, output
    return lines[0]


def test_malformed_files_exit_2_naming_the_file_and_the_problem(
    tmp_path: Path, data: tuple[Path, Path]
) -> None:
    runner = CliRunner()
    train, _ = data
    baseline = tmp_path / "bl"
    assert (
        runner.invoke(cli, ["monitor", "baseline", str(train), "--output", str(baseline)]).exit_code
        == 0
    )
    rng = np.random.default_rng(3)
    files = {
        "binary.csv": (bytes(rng.integers(0, 256, 2048, dtype=np.uint8)), "binary.csv, line "),
        "latin.csv": ("a,b\n1,caf\xe9\n".encode("latin-1"), "latin.csv, line 2: not UTF-8"),
        "empty.csv": (b"", "empty.csv: "),
        "header.csv": (b"a,b,c\n", "header.csv: no rows to read"),
    }
    for name, (content, expected) in files.items():
        path = tmp_path / name
        path.write_bytes(content)
        for args in (
            ["monitor", "baseline", str(path), "--output", str(tmp_path / "o")],
            ["monitor", "check", str(path), "--baseline", str(baseline), "--output", "o"],
        ):
            done = runner.invoke(cli, args)
            assert done.exit_code == 2, (name, done.output)
            assert f"{tmp_path}/{expected}" in _one_error_line(done.output)


def test_old_mac_line_endings_are_read_as_lines(tmp_path: Path, data: tuple[Path, Path]) -> None:
    train, _ = data
    mac = tmp_path / "mac.csv"
    mac.write_bytes(train.read_bytes().replace(b"\n", b"\r"))
    runner = CliRunner()
    for source, out in ((train, "unix"), (mac, "mac")):
        done = runner.invoke(
            cli, ["monitor", "baseline", str(source), "--output", str(tmp_path / out)]
        )
        assert done.exit_code == 0, done.output
        assert "3000 rows" in done.output
    assert (tmp_path / "unix" / "statistics.json").read_text() == (
        tmp_path / "mac" / "statistics.json"
    ).read_text()


def test_the_script_runs_and_help_does_not_load_the_data_stack(
    tmp_path: Path, data: tuple[Path, Path]
) -> None:
    train, _ = data
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dockyard",
            "monitor",
            "baseline",
            str(train),
            "--output",
            str(tmp_path / "bl"),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["rows"] == 3000
    probe = (
        "import sys\nfrom dockyard.client.cli import cli\n"
        "try:\n    cli(['monitor', '--help'], prog_name='dockyard')\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('numpy', 'pyarrow', 'httpx') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert "baseline" in done.stdout and "check" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "[]"
