"""What a trial or a selection run needs of its sweep: a small frozen context, never the sweep itself."""

from __future__ import annotations

from dataclasses import dataclass

from gatelab.tracking.client import Tracker, git_sha
from gatelab.tracking.tags import run_tags
from gatelab.training.experiment import Experiment

__all__ = ["SweepContext"]


@dataclass(frozen=True)
class SweepContext:
    """An opened sweep, as the runs inside it see it.

    Args:
        experiment: the sweep's settings.
        sweep: the sweep's id.
        tracker: the task's MLflow experiment.
        parent: the sweep's parent run.
        fingerprint: the data's fingerprint (tagged on every run).
        objective: the validation metric optimised, e.g. ``val/auprc``.
        direction: ``maximize`` or ``minimize``.
        progress: show per-epoch progress bars.
    """

    experiment: Experiment
    sweep: str
    tracker: Tracker
    parent: str
    fingerprint: str
    objective: str
    direction: str
    progress: bool

    def tags(self, cell: str, trial: int | str, seed: int | str) -> dict[str, str]:
        """The tags of one of the sweep's runs."""
        return run_tags(self.experiment.task, cell, seed, git_sha(), sweep=self.sweep, trial=trial,
                        fingerprint=self.fingerprint)
