"""Slurm launch without a cluster: the settings of configs/cluster/slurm.yaml with overrides, their refusals, and
the sbatch script submitit renders from them (never submitted: tests/e2e/test_slurm.py runs a real Slurm)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from gatelab.errors import ConfigError
from gatelab.launch.slurm import SlurmConfig, load_slurm_config, slurm_executor


def test_the_cluster_file_gives_the_documented_defaults() -> None:
    assert load_slurm_config() == SlurmConfig(partition=None, time_min=240, mem_gb=32, cpus_per_worker=4,
                                              gpus_per_worker=1, max_parallel=None, additional={})


def test_overrides_inline_or_from_a_file_replace_only_their_keys(tmp_path: Path) -> None:
    inline = load_slurm_config("{partition: gpu, time_min: 90, additional: {account: lab}}")
    assert inline == dataclasses.replace(SlurmConfig(), partition="gpu", time_min=90, additional={"account": "lab"})
    (tmp_path / "cluster.yaml").write_text("mem_gb: 8\ngpus_per_worker: 0\n")
    assert load_slurm_config(str(tmp_path / "cluster.yaml")) == dataclasses.replace(SlurmConfig(), mem_gb=8,
                                                                                    gpus_per_worker=0)


@pytest.mark.parametrize(("overrides", "problem"), [
    ("{time_mins: 5}", "time_mins"),
    ("{time_min: 0}", "time_min"),
    ("{cpus_per_worker: many}", "cpus_per_worker"),
    ("[partition, gpu]", "give a YAML file or a mapping such as '{partition: gpu}'"),
])
def test_a_bad_setting_is_one_line_naming_the_key(overrides: str, problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_slurm_config(overrides)
    message = str(raised.value)
    assert problem in message and "\n" not in message


def sbatch_lines(script: str) -> dict[str, str]:
    """The ``#SBATCH --key=value`` lines of a batch script, as ``{key: value}``."""
    options = (line.removeprefix("#SBATCH --").split("=", 1) for line in script.splitlines()
               if line.startswith("#SBATCH --"))
    return {key: value for key, value in options}


@pytest.fixture
def srun_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """submitit's Slurm executor refuses to start where ``srun`` is not on the PATH; nothing here runs it."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "srun").write_text("#!/bin/sh\nexit 1\n")
    (tmp_path / "bin" / "srun").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{Path('/usr/bin')}")


@pytest.mark.usefixtures("srun_on_path")
def test_the_batch_script_carries_the_settings_and_raises_gpus_to_the_devices(tmp_path: Path) -> None:
    settings = load_slurm_config("{partition: gpu, time_min: 90, mem_gb: 16, cpus_per_worker: 2, "
                                 "additional: {account: lab, qos: normal}}")
    executor = slurm_executor("gatelab-fraud-abc", 2, settings, tmp_path / "slurm")
    script = executor._executor._make_submission_file_text("echo worker", "unused")  # what sbatch would be given
    lines = sbatch_lines(script)
    assert {key: lines[key] for key in ("job-name", "partition", "time", "mem", "cpus-per-task", "gpus-per-node",
                                        "account", "qos", "nodes", "ntasks-per-node")} == {
        "job-name": "gatelab-fraud-abc", "partition": "gpu", "time": "90", "mem": "16GB", "cpus-per-task": "2",
        "gpus-per-node": "2", "account": "lab", "qos": "normal", "nodes": "1", "ntasks-per-node": "1"}
    assert lines["output"].startswith(str(tmp_path / "slurm" / "%j") + "/")
    assert script.rstrip().endswith("echo worker")


@pytest.mark.usefixtures("srun_on_path")
def test_a_cpu_cluster_asks_for_no_gpus_and_the_default_partition(tmp_path: Path) -> None:
    executor = slurm_executor("gatelab-fraud-abc", 1, load_slurm_config("{gpus_per_worker: 0}"), tmp_path)
    lines = sbatch_lines(executor._executor._make_submission_file_text("echo worker", "unused"))
    assert "gpus-per-node" not in lines and "partition" not in lines
    assert (lines["time"], lines["mem"], lines["cpus-per-task"]) == ("240", "32GB", "4")
