"""Reproduction: a published configuration trained on every test fold with several seeds, beside the published row.

``gatelab train`` runs this when the config's ``reproduce.seeds`` is set (``ReproductionConfig``). Each
seed trains and tests each test fold of the task (``fold_runs``, prequential evaluation), one MLflow
child run per fold and seed under a parent run (role ``reproduction``). A seed's figure is its mean over
the folds, as the publication reports one; the reproduction's figure is the mean of the seeds' figures,
with a Student-t interval over the seeds (``gatelab.stats.bounded_interval``), beside the mean over seeds
of each seed's fold standard deviation (the spread the publication quotes as "+/-").

It counts as reproduced when that mean lies within the published value +- ``tolerance`` and the seeds'
interval holds the published value.
"""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import dataclass

from tqdm.auto import tqdm

from gatelab.errors import ConfigError
from gatelab.settings import ReproductionConfig
from gatelab.stats import Interval, bounded_interval
from gatelab.tracking import tags as tag
from gatelab.tracking.client import Tracker, git_sha, run_params
from gatelab.tracking.lifecycle import tracked_run
from gatelab.tracking.loggers import run_loggers
from gatelab.training.experiment import Experiment
from gatelab.training.folds import fold_runs
from gatelab.training.train import train

__all__ = ["Reproduction", "reproduce", "reproduction_table"]


@dataclass(frozen=True)
class Reproduction:
    """What a reproduction measured, per test metric, and whether it reproduces the published value.

    Args:
        settings: the published figures and the rule (``ReproductionConfig``).
        seeds: the seeds trained.
        folds: test folds per seed.
        per_fold: each published metric -> ``[seed][fold]`` test values.
        seconds: wall seconds of the whole reproduction.
    """

    settings: ReproductionConfig
    seeds: tuple[int, ...]
    folds: int
    per_fold: dict[str, list[list[float]]]
    seconds: float

    def seed_means(self, metric: str) -> list[float]:
        """Each seed's mean over its folds."""
        return [statistics.fmean(values) for values in self.per_fold[metric]]

    def interval(self, metric: str) -> Interval:
        """The mean of the seeds' fold means with its 95% interval over the seeds."""
        return bounded_interval(self.seed_means(metric))

    def fold_std(self, metric: str) -> float:
        """The mean over seeds of each seed's standard deviation over its folds (0 with one fold)."""
        return statistics.fmean(statistics.stdev(values) if len(values) > 1 else 0.0
                                for values in self.per_fold[metric])

    @property
    def reproduced(self) -> bool:
        """The mean lies within published +- tolerance and the seeds' interval holds the published value."""
        published, found = self.settings.published[self.settings.metric], self.interval(self.settings.metric)
        return abs(found.mean - published) <= self.settings.tolerance and found.low <= published <= found.high


def reproduce(experiment: Experiment, tracker: Tracker, *, progress: bool = True) -> Reproduction:
    """Train ``experiment`` on every test fold with its ``reproduce.seeds`` seeds and pool the test metrics.

    Runs go seed by seed, each seed's folds in turn, each its own child run (tags ``gatelab.seed``,
    ``gatelab.fold``). The parent run holds the config, each published metric's mean, interval and fold spread, and
    ``gatelab.reproduced`` (``true``/``false``).

    Args:
        experiment: the settings, with ``reproduce.seeds`` >= 2.
        tracker: the MLflow store the runs go to.
        progress: show a progress bar over the runs and each run's epochs.

    Raises:
        ConfigError: bad ``reproduce`` settings, a published metric the task does not test, or from ``fold_runs``.
        DataError: from the data.
    """
    try:
        settings = ReproductionConfig(**experiment.config.reproduce.as_dict())
    except ValueError as error:
        raise ConfigError(str(error)) from None
    seeds = tuple(experiment.seed + index for index in range(settings.seeds))
    first = fold_runs(experiment.with_overrides({"seed": seeds[0]}), test=True)
    folds, cell = len(first), experiment.model.cell
    sha, started = git_sha(), time.perf_counter()
    first[0].data.prepare_data()
    first[0].data.setup("fit")  # bad data stops here, before a run is recorded
    parent_tags = tag.run_tags(experiment.task, cell, "-", sha) | {tag.ROLE: tag.ROLE_REPRODUCTION}
    results: dict[int, list[dict[str, float]]] = {seed: [] for seed in seeds}
    with tracked_run(tracker, f"reproduce-{cell}", parent_tags, run_params(experiment)) as parent:
        tracker.client.log_text(parent, experiment.dump(), "config.yaml")
        bar = tqdm(total=folds * len(seeds), desc=f"reproduce {cell}", unit="run", position=0, file=sys.stderr,
                   dynamic_ncols=True, disable=not progress)
        for seed in seeds:  # seed by seed: a reproduction cut short leaves whole seeds in MLflow
            for fold, run_cfg in enumerate(first if seed == seeds[0] else
                                           fold_runs(experiment.with_overrides({"seed": seed}), test=True)):
                tags = tag.run_tags(experiment.task, cell, seed, sha) | {tag.ROLE: tag.ROLE_REPRODUCTION,
                                                                         tag.FOLD: str(fold)}
                with tracked_run(tracker, f"{cell}-fold-{fold}-seed-{seed}", tags, parent=parent) as run_id:
                    metrics = train(run_cfg, run_loggers(tracker, run_id),
                                    progress_name=f"fold {fold} seed {seed}" if progress else None, test=True)
                    tracker.set_tags(run_id, {tag.DATA_FINGERPRINT: run_cfg.data.fingerprint()})
                    tracker.log_metrics(run_id, metrics)
                unknown = [key for key in settings.published if key not in metrics]
                if unknown:
                    raise ConfigError(f"reproduce.published: {', '.join(unknown)} not a test metric of this task; its "
                                      f"test metrics: {', '.join(key for key in metrics if key.startswith('test/'))}.")
                results[seed].append(metrics)
                bar.update(1)
            values = [metrics[settings.metric] for metrics in results[seed]]
            bar.write(f"seed {seed}: {settings.metric} {statistics.fmean(values):.4f} "
                      f"(folds: {', '.join(f'{value:.4f}' for value in values)})")
        bar.close()
        keys = list(settings.published)
        found = Reproduction(settings, seeds, folds,
                             {key: [[metrics[key] for metrics in results[seed]] for seed in seeds] for key in keys},
                             time.perf_counter() - started)
        summary: dict[str, float] = {}
        for key in keys:
            interval = found.interval(key)
            summary |= {key: interval.mean, f"{key}_low": interval.low, f"{key}_high": interval.high,
                        f"fold_std/{key}": found.fold_std(key)}
        tracker.log_metrics(parent, summary | {"seconds": found.seconds})
        tracker.set_tags(parent, {tag.REPRODUCED: str(found.reproduced).lower()})
    return found


def reproduction_table(found: Reproduction) -> str:
    """The reproduction beside the published row, as Markdown, with the rule's outcome below it."""
    settings = found.settings
    lines = [f"| metric | gatelab: mean of {len(found.seeds)} seeds [95% interval] | fold std | published "
             "(mean +- fold std) |", "|---|---|---|---|"]
    for key in found.per_fold:
        interval = found.interval(key)
        published = settings.published.get(key)
        spread = settings.published_std.get(key)
        row = "" if published is None else f"{published:.3f}" + ("" if spread is None else f" +- {spread:.3f}")
        lines.append(f"| {key} | {interval.mean:.3f} [{interval.low:.3f}, {interval.high:.3f}] | "
                     f"{found.fold_std(key):.3f} | {row} |")
    metric, published = settings.metric, settings.published[settings.metric]
    verdict = "reproduced" if found.reproduced else "not reproduced"
    lines += ["", f"{verdict}: {metric} {found.interval(metric).mean:.3f} against the published {published:.3f} "
                  f"(rule: within +- {settings.tolerance:g} and inside the seeds' interval); "
                  f"{found.folds} test folds x {len(found.seeds)} seeds in {found.seconds / 60:.1f} min."]
    if settings.source:
        lines.append(f"published: {settings.source}")
    return "\n".join(lines)
