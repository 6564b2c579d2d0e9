"""Folds: the runs one configuration is scored by, and their metrics pooled into one record.

A task with ``folds`` > 1 (``SequenceDataModule.folds``) is scored on each of its validation folds: a
search trial trains every fold with the trial's hyperparameters and is worth the mean of the folds'
best validation objective (k-fold cross-validation for model selection; prequential validation where
the folds are blocks of time, Le Borgne et al., *Reproducible Machine Learning for Credit Card Fraud
Detection*, Chapter 5). A selection seed trains and tests each of the task's test folds when
``test_per_fold`` (prequential evaluation), else fold 0 once. A task without folds gives one run, as if
folds did not exist.

Fold ``k``'s metrics are recorded as ``fold<k>/<metric>``, their mean as ``<metric>`` and their spread
(sample standard deviation) as ``fold_std/<metric>``. Fold 0 is the lead fold: its per-epoch metrics are
logged under their plain names and a search prunes on its epochs alone.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence

from gatelab.training.config import RunConfig
from gatelab.training.experiment import FOLD_ARG, TEST_FOLDS_ARG, Experiment

__all__ = ["FOLD_ARG", "FOLD_STD", "TEST_FOLDS_ARG", "fold_count", "fold_prefix", "fold_runs", "fold_summary",
           "unfolded"]

#: The prefix of a metric's spread over the folds.
FOLD_STD = "fold_std/"


def fold_prefix(fold: int) -> str:
    """The prefix of fold ``fold``'s metrics on a run: none for the lead fold 0, else ``fold<k>/``."""
    return f"fold{fold}/" if fold else ""


def fold_runs(experiment: Experiment, *, test: bool) -> list[RunConfig]:
    """The runs that score ``experiment``'s configuration: one per fold of its task, or one when the task has no folds.

    Args:
        experiment: a run's settings.
        test: the runs of a selection seed (scored on test): each test fold when the task has
            ``test_per_fold``, else fold 0 alone; otherwise (a search trial) each validation fold.

    Raises:
        ConfigError: the task declares folds but takes no ``fold`` init argument (``Experiment.run``).
    """
    run = experiment.run()
    folds, per_fold = run.data.folds, run.data.test_per_fold
    if folds == 1:
        return [run]
    chosen = range(1) if test and not per_fold else range(folds)
    return [experiment.run(fold, test_folds=test and per_fold) for fold in chosen]


def fold_summary(per_fold: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """One record of the folds' metrics: each metric's mean over the folds, and with several folds each
    fold's value (``fold<k>/<metric>``) and the spread (``fold_std/<metric>``, the sample standard deviation).

    Args:
        per_fold: each fold's metrics, in fold order (the metrics every fold has are pooled).
    """
    if len(per_fold) == 1:
        return dict(per_fold[0])
    keys = [key for key in per_fold[0] if all(key in metrics for metrics in per_fold)]
    summary = {key: statistics.fmean(metrics[key] for metrics in per_fold) for key in keys}
    summary |= {f"{FOLD_STD}{key}": statistics.stdev(metrics[key] for metrics in per_fold) for key in keys}
    summary |= {f"fold{fold}/{key}": value for fold, metrics in enumerate(per_fold) for key, value in metrics.items()}
    return summary


def unfolded(key: str) -> str:
    """The metric a key of ``fold_summary`` is about: ``fold1/best_val/auprc`` and ``fold_std/best_val/auprc``
    are about ``best_val/auprc``; a plain key is itself."""
    head, _, rest = key.partition("/")
    return rest if rest and head.startswith("fold") else key


def fold_count(metrics: Mapping[str, float], key: str) -> int:
    """How many folds a ``fold_summary`` record pooled for metric ``key`` (1 when it holds no fold's value)."""
    return sum(1 for name in metrics if name.startswith("fold") and not name.startswith(FOLD_STD)
               and unfolded(name) == key and name != key) or 1
