"""The Slurm launcher: its settings, and a real sweep on a real single-node Slurm (marker ``slurm``).

The real test starts Slurm with `.ci/slurm.sh up` (root and apt needed: it installs Debian's
slurm-wlm, munge and MariaDB when missing) and stops what it started. Where that cannot run it is
skipped with the reason, unless GATELAB_REQUIRE_SLURM=1 (set by `.ci/run`), which makes it fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import optuna
import pytest
from gatelab.errors import ConfigError
from gatelab.launch.slurm import SlurmConfig, load_slurm_config
from gatelab.training.config import list_tasks
from mlflow import MlflowClient
from workers_support import check_finished_sweep, fresh_database, gatelab

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "sl-s3cret"


def test_slurm_settings_come_from_the_cluster_file_with_overrides(tmp_path: Path) -> None:
    assert load_slurm_config() == SlurmConfig()
    extra = tmp_path / "mine.yaml"
    extra.write_text("partition: gpu\nadditional: {account: proj}\n")
    assert load_slurm_config(str(extra)).additional == {"account": "proj"}
    assert load_slurm_config("{partition: gpu, mem_gb: 8}").mem_gb == 8
    with pytest.raises(ConfigError, match="memory_gb"):
        load_slurm_config("{memory_gb: 8}")
    with pytest.raises(ConfigError, match="time_min"):
        load_slurm_config("{time_min: 0}")
    assert "cluster" not in list_tasks()


@pytest.fixture(scope="module")
def slurm_cluster():
    """A running single-node Slurm: the machine's own, else one that `.ci/slurm.sh up` starts (and stops)."""
    if shutil.which("sinfo") and subprocess.run(["sinfo", "-h"], capture_output=True).returncode == 0:
        yield
        return
    reason = None
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        reason = "no running Slurm, and starting one needs root and apt-get (Debian)"
    if reason:
        if os.environ.get("GATELAB_REQUIRE_SLURM") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    subprocess.run([ROOT / ".ci" / "slurm.sh", "up"], check=True)
    try:
        yield
    finally:
        subprocess.run([ROOT / ".ci" / "slurm.sh", "down"], check=True)


def wait_for_jobs(job_ids: list[str], limit: float = 600) -> dict[str, str]:
    """Poll sacct until every job (array tasks included) has ended; returns their states."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        listing = subprocess.run(["sacct", "-X", "-n", "-P", "-o", "JobID,State", "-j", ",".join(job_ids)],
                                 capture_output=True, text=True, check=True).stdout
        states = dict(line.split("|", 1) for line in listing.split())
        if states and not {"PENDING", "RUNNING", "REQUEUED", "CONFIGURING"} & set(states.values()):
            return states
        time.sleep(2)
    raise AssertionError(f"the jobs {job_ids} did not end in {limit:.0f} s")


@pytest.mark.slurm
def test_sweep_on_a_real_slurm_array_with_a_dependent_verdict_job(slurm_cluster, tmp_path: Path,
                                                                  tiny_config) -> None:
    store = tmp_path / "mlruns"
    config = tiny_config(trials=2, epochs=2)
    with fresh_database(PASSWORD) as url:
        launch = gatelab("sweep", "--task", "fraud", "--config", str(config), "--store", str(store),
                         "--launcher", "slurm", "--workers", "2", "--storage", url, "--progress", "false",
                         "--slurm", "{gpus_per_worker: 0, cpus_per_worker: 1, mem_gb: 1, time_min: 30}", cwd=tmp_path)
        out, err = launch.communicate(timeout=300)
        assert launch.returncode == 0, err[-3000:]
        array = out.split("job array ")[1].split(",")[0]
        verdict = out.split("then job ")[1].split()[0]
        states = wait_for_jobs([array, verdict])
        assert set(states.values()) == {"COMPLETED"}, states
        assert {f"{array}_0", f"{array}_1", verdict} <= set(states)

        scripts = {path.parent.name: path.read_text() for path in (store / "slurm").glob("*/*_submission.sh")}
        assert "#SBATCH --array=0-1" in scripts[array] and "#SBATCH --cpus-per-task=1" in scripts[array]
        assert f"#SBATCH --dependency=afterany:{array}" in scripts[verdict]
        files = b"".join(path.read_bytes() for path in (store / "slurm").glob("*/*"))  # scripts, logs, pickles
        assert PASSWORD.encode() not in files and PASSWORD not in out + err
        assert "**Verdict:**" in (store / "slurm" / verdict / f"{verdict}_0_log.out").read_text()

        check_finished_sweep(optuna.storages.RDBStorage(url), MlflowClient(f"sqlite:///{store / 'mlflow.db'}"), 2, [])
