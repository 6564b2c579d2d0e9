"""Slurm launch without a cluster: the settings of configs/cluster/slurm.yaml with overrides, their refusals, and
the batch script submitit hands sbatch for them (a stand-in sbatch keeps it; tests/e2e/test_slurm.py runs a real
Slurm)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import submitit
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
def slurm_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Stand-ins for Slurm's commands: ``srun`` (submitit's executor refuses to start without it; never run) and an
    ``sbatch`` that keeps the batch script it is given and answers as sbatch does. Returns the script's copy."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "srun").write_text("#!/bin/sh\nexit 1\n")
    (tmp_path / "bin" / "sbatch").write_text(f"#!/bin/sh\ncp \"$1\" {tmp_path / 'script.sh'}\n"
                                             "echo 'Submitted batch job 4242'\n")
    for command in ("srun", "sbatch"):
        (tmp_path / "bin" / command).chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{Path('/usr/bin')}:{Path('/bin')}")
    return tmp_path / "script.sh"


def submitted_script(executor: submitit.AutoExecutor, script: Path) -> str:
    """The batch script ``executor`` gives sbatch for a job (through submitit's public ``submit``)."""
    job = executor.submit(print, "worker")
    assert job.job_id == "4242"
    return script.read_text()


def test_the_batch_script_carries_the_settings_and_raises_gpus_to_the_devices(tmp_path: Path,
                                                                             slurm_on_path: Path) -> None:
    settings = load_slurm_config("{partition: gpu, time_min: 90, mem_gb: 16, cpus_per_worker: 2, "
                                 "additional: {account: lab, qos: normal}}")
    executor = slurm_executor("gatelab-fraud-abc", 2, settings, tmp_path / "slurm")
    script = submitted_script(executor, slurm_on_path)
    lines = sbatch_lines(script)
    assert {key: lines[key] for key in ("job-name", "partition", "time", "mem", "cpus-per-task", "gpus-per-node",
                                        "account", "qos", "nodes", "ntasks-per-node")} == {
        "job-name": "gatelab-fraud-abc", "partition": "gpu", "time": "90", "mem": "16GB", "cpus-per-task": "2",
        "gpus-per-node": "2", "account": "lab", "qos": "normal", "nodes": "1", "ntasks-per-node": "1"}
    assert lines["output"].startswith(str(tmp_path / "slurm" / "%j") + "/")
    assert "submitit.core._submit" in script.splitlines()[-1]  # the job runs the pickled function under srun


def test_a_cpu_cluster_asks_for_no_gpus_and_the_default_partition(tmp_path: Path, slurm_on_path: Path) -> None:
    executor = slurm_executor("gatelab-fraud-abc", 1, load_slurm_config("{gpus_per_worker: 0}"), tmp_path / "slurm")
    lines = sbatch_lines(submitted_script(executor, slurm_on_path))
    assert "gpus-per-node" not in lines and "partition" not in lines
    assert (lines["time"], lines["mem"], lines["cpus-per-task"]) == ("240", "32GB", "4")
