"""Every ``gatelab.*`` tag name on MLflow runs and model versions, and the tags of a run.

Tags on every run of a sweep: the task, the cell, the sweep, the trial, the seed, the source's git
commit and the data's fingerprint; ``role`` tells a sweep's parent run, a selection run, a single
``train`` run and a baseline's run apart; ``state`` says how a run ended (``complete``, ``pruned``,
``diverged``, ``crashed``, ``killed``).
"""

from __future__ import annotations

__all__ = ["BASELINE", "CELL", "CHAMPION_VERSION", "DATA_FINGERPRINT", "DEVICE", "FOLD", "GIT_SHA", "MEMORY",
           "MISSING", "PARENT", "REPEAT", "REPEATS", "REPRODUCED", "ROLE", "ROLE_BASELINE", "ROLE_REPRODUCTION",
           "ROLE_SELECTION", "ROLE_SWEEP", "ROLE_TRAIN", "SEED", "STATE", "SWEEP", "TASK", "TRIAL", "VERDICT", "WORKER",
           "run_tags"]

TASK = "gatelab.task"
CELL = "gatelab.cell"
SWEEP = "gatelab.sweep"
TRIAL = "gatelab.trial"
SEED = "gatelab.seed"
GIT_SHA = "gatelab.git_sha"
DATA_FINGERPRINT = "gatelab.data_fingerprint"
ROLE = "gatelab.role"
STATE = "gatelab.state"
#: where a selection run's costs were measured, and what its peak memory means.
DEVICE = "gatelab.device"
MEMORY = "gatelab.memory"
#: on a sweep's parent run: the chosen cell (or ``pending``/``none``), why there is none, the champion's version.
VERDICT = "gatelab.verdict"
MISSING = "gatelab.missing"
CHAMPION_VERSION = "gatelab.champion_version"
#: on a search repeat's parent run: its index; on a group of repeats' parent run: their count.
REPEAT = "gatelab.repeat"
REPEATS = "gatelab.repeats"
#: on a baseline's run (role ``baseline``, never a candidate, never registered): the baseline's name.
BASELINE = "gatelab.baseline"
#: on a reproduction's runs: the test fold a child run trained; on its parent: whether it reproduced (true/false).
FOLD = "gatelab.fold"
REPRODUCED = "gatelab.reproduced"
#: The process (``host:pid:start``) that runs an Optuna trial (its user attribute) or holds an MLflow run open (a tag).
WORKER = "gatelab.worker"
#: MLflow's own tag that nests a child run under its parent.
PARENT = "mlflow.parentRunId"

ROLE_SWEEP, ROLE_SELECTION, ROLE_TRAIN = "sweep", "selection", "train"
ROLE_BASELINE, ROLE_REPRODUCTION = "baseline", "reproduction"


def run_tags(task: str, cell: str, seed: int | str, git_sha: str, *, sweep: str = "-", trial: int | str = "-",
             fingerprint: str | None = None) -> dict[str, str]:
    """The tags every run carries; ``-`` where a run has no sweep or trial (a single ``train`` run)."""
    tags = {TASK: task, CELL: cell, SWEEP: sweep, TRIAL: str(trial), SEED: str(seed), GIT_SHA: git_sha}
    return tags | ({DATA_FINGERPRINT: fingerprint} if fingerprint is not None else {})
