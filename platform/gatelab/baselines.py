"""Baselines beside the cells: each reference model a task declares, fitted once per selection seed (once in all
where it draws no random numbers).

A baseline (``gatelab.training.baselines.Baseline``) is fitted on the same splits the cells' selection seeds train
on (each test fold of a task with ``test_per_fold``, else fold 0) and scored by the same test metrics; its folds
pool as a cell seed's do (``gatelab.training.folds.fold_summary``). Each seed's fit is a child run of the sweep's
parent run, tagged ``gatelab.role=baseline`` and ``gatelab.baseline=<name>``: never a trial, never a candidate, never
registered. A seed fitted before (an earlier report) is read back, not fitted again.

The baselines see the task's config as the sweep gives it, not a cell's tuned data settings.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from gatelab.search.context import SweepContext
from gatelab.tracking import tags as tag
from gatelab.tracking.client import run_params
from gatelab.tracking.lifecycle import tracked_run
from gatelab.training.baselines import Baseline
from gatelab.training.folds import fold_runs, fold_summary
from gatelab.verdict import BaselineResult, baseline_result

__all__ = ["BaselineRun", "fit_baselines"]


@dataclass
class BaselineRun:
    """One seed's fit of a baseline: its MLflow run and its test metrics (each fold's too, for folds)."""

    seed: int
    run_id: str
    metrics: dict[str, float]
    device: str = "cpu"


def fit_baselines(context: SweepContext, parent: str, seeds: Sequence[int],
                  confidence: float = 0.95) -> list[BaselineResult]:
    """Fit every baseline the task declares once per distinct seed of ``seeds``, each as a child run of ``parent``.

    A baseline that ignores its seed (``Baseline.ignores_seed``: every fold's) is fitted once, with the first seed,
    and that run stands for every seed.

    Args:
        context: the sweep (its config, tracker, fingerprint).
        parent: the run the fits are children of (the sweep's or a group's parent run).
        seeds: the cells' seed runs' seeds, in their order; a seed listed again (search repeats) reuses its fit,
            so that each baseline's values pair with the cells' by position.
        confidence: the intervals' confidence level.

    Returns:
        Each baseline's outcome, in the order the task declares them; empty for a task without baselines.
    """
    folds = fold_runs(context.experiment, test=True)
    for run in folds:
        run.data.prepare_data()
        run.data.setup("fit")
    declared = [run.data.baselines() for run in folds]  # per fold, the same baselines on that fold's splits
    if not declared[0]:
        return []
    done = {(found.data.tags.get(tag.BASELINE), found.data.tags.get(tag.SEED)): found
            for found in context.tracker.children(parent)
            if found.data.tags.get(tag.ROLE) == tag.ROLE_BASELINE and found.info.status == "FINISHED"}
    results = []
    for index, first in enumerate(declared[0]):
        per_fold = [baselines[index] for baselines in declared]
        once = all(baseline.ignores_seed() for baseline in per_fold)
        fitted: dict[int, BaselineRun] = {}
        for seed in dict.fromkeys(seeds[:1] if once else seeds):
            stored = done.get((first.name, str(seed)))
            fitted[seed] = (BaselineRun(seed, stored.info.run_id, dict(stored.data.metrics)) if stored else
                            _fit_one(context, parent, per_fold, seed))
        runs = [replace(fitted[seeds[0]], seed=seed) if once else fitted[seed] for seed in seeds]
        results.append(baseline_result(first.name, runs, confidence))
    return results


def _fit_one(context: SweepContext, parent: str, per_fold: Sequence[Baseline], seed: int) -> BaselineRun:
    """One seed's run of a baseline: fitted and tested on every fold, the folds pooled, the wall time logged."""
    name = per_fold[0].name
    tags = context.tags("-", "-", seed) | {tag.ROLE: tag.ROLE_BASELINE, tag.BASELINE: name}
    params = run_params(context.experiment, leave_out=("search_space", "sweep", "model", "optim", "trainer"))
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    with tracked_run(context.tracker, f"baseline-{slug}-seed-{seed}", tags, params | {"seed": seed, "baseline": name},
                     parent=parent) as run_id:
        start = time.perf_counter()
        metrics = fold_summary([baseline.fit_and_test(seed) for baseline in per_fold])
        metrics["fit_seconds"] = time.perf_counter() - start
        context.tracker.log_metrics(run_id, metrics)
        context.tracker.set_tags(run_id, {tag.DEVICE: "cpu"})
    return BaselineRun(seed, run_id, metrics)
