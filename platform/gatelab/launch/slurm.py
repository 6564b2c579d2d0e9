"""Slurm launch through submitit: the workers as one job array, then a job that writes the verdict.

Each array task runs ``gatelab worker`` on the sweep's config (written under ``store/sweeps/``);
the last job, which depends on the whole array (``afterany``), runs ``gatelab sweep`` with one
worker: it finishes whatever budget the array left (tasks may have been preempted or killed) and
writes the verdict. The study storage URL reaches the jobs in the environment (``GATELAB_STORAGE``),
never on a command line. Jobs run in the submitting folder, with its Python and environment, so
the store must be on a file system the nodes share.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import submitit
import yaml
from jsonargparse import ArgumentParser
from jsonargparse.typing import NonNegativeInt, PositiveInt
from submitit.helpers import CommandFunction

from gatelab.errors import ConfigError
from gatelab.launch.commands import sweep_command, write_sweep_config
from gatelab.search.storage import STORAGE_ENV, open_store
from gatelab.training.config import configs_dir

if TYPE_CHECKING:
    from gatelab.pipeline import Sweep

__all__ = ["SlurmConfig", "SlurmSubmission", "load_slurm_config", "slurm_executor", "submit"]


@dataclass
class SlurmConfig:
    """Resources of each Slurm job (see ``configs/cluster/slurm.yaml``).

    Args:
        partition: the partition; None: the cluster's default.
        time_min: wall-clock limit per job, in minutes.
        mem_gb: memory per job, in GB.
        cpus_per_worker: CPU cores per job.
        gpus_per_worker: GPUs per job (raised to the devices per trial when those are more).
        max_parallel: at most this many array tasks running at once; None: no limit.
        additional: more sbatch options, e.g. ``{account: my-project}``.
    """

    partition: str | None = None
    time_min: PositiveInt = 240
    mem_gb: PositiveInt = 32
    cpus_per_worker: PositiveInt = 4
    gpus_per_worker: NonNegativeInt = 1
    max_parallel: PositiveInt | None = None
    additional: dict[str, Any] = field(default_factory=dict)


def load_slurm_config(overrides: str | None = None) -> SlurmConfig:
    """``configs/cluster/slurm.yaml`` with ``overrides`` (a YAML file, or an inline YAML mapping) layered over it.

    Raises:
        ConfigError: a missing file, an unknown key or a bad value, named.
    """
    parser = ArgumentParser(exit_on_error=False, default_env=False)
    parser.add_class_arguments(SlurmConfig)
    base = configs_dir() / "cluster" / "slurm.yaml"
    try:
        values = yaml.safe_load(base.read_text()) or {}
        if overrides:
            extra = yaml.safe_load(Path(overrides).read_text() if Path(overrides).is_file() else overrides)
            if not isinstance(extra, dict):
                raise ConfigError(f"--slurm '{overrides}': give a YAML file or a mapping such as '{{partition: gpu}}'.")
            values |= extra
        return SlurmConfig(**parser.parse_object(values).as_dict())
    except (OSError, yaml.YAMLError, argparse.ArgumentError, ValueError, TypeError) as error:
        raise ConfigError(f"Slurm settings ({base}, --slurm): {' '.join(str(error).split())}") from None


@dataclass
class SlurmSubmission:
    """The submitted jobs: the workers' array and the verdict job that waits for it."""

    workers: list[submitit.Job]
    verdict: submitit.Job
    folder: Path


def slurm_executor(name: str, devices: int, settings: SlurmConfig, folder: Path) -> submitit.AutoExecutor:
    """A submitit executor whose jobs get ``settings`` as sbatch options (GPUs raised to ``devices``), named
    ``name``, with their logs under ``folder/<job id>/``. Needs Slurm's ``srun`` on the PATH (submitit checks)."""
    executor = submitit.AutoExecutor(folder=folder / "%j", cluster="slurm")
    gpus = max(settings.gpus_per_worker, devices) if settings.gpus_per_worker else 0
    executor.update_parameters(
        name=name, timeout_min=settings.time_min, mem_gb=settings.mem_gb,
        cpus_per_task=settings.cpus_per_worker, tasks_per_node=1, nodes=1,
        **({"gpus_per_node": gpus} if gpus else {}),
        **({"slurm_partition": settings.partition} if settings.partition else {}),
        **({"slurm_array_parallelism": settings.max_parallel} if settings.max_parallel else {}),
        **({"slurm_additional_parameters": settings.additional} if settings.additional else {}),
    )
    return executor


def submit(sweep: Sweep, workers: int, devices: int, settings: SlurmConfig) -> SlurmSubmission:
    """Submit ``workers`` array tasks and the dependent verdict job; returns without waiting.

    Args:
        sweep: the sweep (not opened: the jobs open it).
        workers: array tasks, one worker each.
        devices: devices per trial.
        settings: the jobs' resources.
    """
    open_store(sweep.storage, sweep.store, sweep.heartbeat)  # a bad URL fails here, not in every job
    if sweep.storage is None and not os.environ.get(STORAGE_ENV):
        print("gatelab: note: the studies go to a journal file in the store, which every node must share; "
              "--storage postgresql://... is safer on a cluster.", file=sys.stderr)
    config = write_sweep_config(sweep)
    folder = sweep.store.resolve() / "slurm"
    executor = slurm_executor(f"gatelab-{sweep.experiment.task}-{sweep.id}", devices, settings, folder)
    if sweep.storage:  # sbatch passes the submitting environment on to the jobs
        os.environ[STORAGE_ENV] = sweep.storage
    worker = CommandFunction(sweep_command(sweep, config, "worker", settings.cpus_per_worker), cwd=os.getcwd())
    with executor.batch():
        jobs = [executor.submit(worker) for _ in range(workers)]
    dependency = {"dependency": f"afterany:{jobs[0].job_id.split('_')[0]}"}
    executor.update_parameters(slurm_additional_parameters=dependency | settings.additional,
                               name=f"gatelab-{sweep.experiment.task}-verdict")
    verdict = executor.submit(CommandFunction(sweep_command(sweep, config, "sweep"), cwd=os.getcwd()))
    return SlurmSubmission(jobs, verdict, folder)
