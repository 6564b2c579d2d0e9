"""The report's plots, as PNG bytes: curves of the best trials, seeds, metric versus latency, budget curves,
Optuna's views."""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping
from typing import cast

import matplotlib

matplotlib.use("Agg")  # files only, no display; must precede pyplot (which Optuna's plots use)

import numpy as np  # noqa: E402
import optuna  # noqa: E402
from matplotlib import pyplot  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
from optuna.trial import TrialState  # noqa: E402
from optuna.visualization import matplotlib as optuna_plots  # noqa: E402

from gatelab.search.objective import MLFLOW_RUN_ATTR  # noqa: E402
from gatelab.stats import Interval  # noqa: E402
from gatelab.tracking.client import Tracker  # noqa: E402
from gatelab.verdict import Verdict  # noqa: E402

__all__ = ["report_plots"]

COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple")


def png(figure: Figure) -> bytes:
    """The figure as PNG bytes (110 dpi); the figure is closed."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    pyplot.close(figure)
    return buffer.getvalue()


def _error(interval: Interval) -> list[list[float]]:
    """An interval as matplotlib's asymmetric error bar."""
    return [[interval.mean - interval.low], [interval.high - interval.mean]]


def validation_curves(tracker: Tracker, studies: Mapping[str, optuna.Study], objective: str, top: int = 3) -> bytes:
    """Per-epoch validation objective of each cell's ``top`` best trials, overlaid (the best one bold)."""
    figure, axes = pyplot.subplots(figsize=(7, 4.2))
    for color, (cell, study) in zip(COLORS, studies.items()):
        complete = [trial for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
        reverse = study.direction == optuna.study.StudyDirection.MAXIMIZE
        ranked = sorted(complete, key=lambda trial: float(cast(float, trial.value)), reverse=reverse)  # completed
        for rank, trial in enumerate(ranked[:top]):
            history = tracker.client.get_metric_history(trial.user_attrs[MLFLOW_RUN_ATTR], objective)
            points = sorted((point.step + 1, point.value) for point in history)
            axes.plot(*zip(*points), color=color, marker="o", linewidth=2.2 if rank == 0 else 1.0,
                      alpha=1.0 if rank == 0 else 0.45, label=f"{cell.upper()} #{trial.number}")
    axes.set(xlabel="epoch", ylabel=objective, title=f"Validation {objective} of each cell's best trials")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.legend(fontsize="small")
    axes.grid(alpha=0.3)
    return png(figure)


def seed_metric(verdict: Verdict) -> bytes:
    """The test metric of every selection seed per cell, with each cell's mean and confidence interval."""
    figure, axes = pyplot.subplots(figsize=(6, 4))
    for index, (color, result) in enumerate(zip(COLORS, verdict.cells)):
        values, interval = result.test[verdict.metric], result.intervals[verdict.metric]
        axes.scatter([index] * len(values), values, color=color, alpha=0.7, label=f"{result.cell.upper()} seeds")
        axes.errorbar(index + 0.15, interval.mean, yerr=_error(interval), color="black", capsize=5, marker="D")
    axes.set_xticks(range(len(verdict.cells)), [result.cell.upper() for result in verdict.cells])
    axes.set(ylabel=verdict.metric, title=f"{verdict.metric} per seed (diamond: mean, 95% interval)")
    axes.grid(alpha=0.3, axis="y")
    return png(figure)


def metric_vs_latency(verdict: Verdict) -> bytes:
    """Each cell's mean test metric against the cost that breaks ties (both with their intervals)."""
    figure, axes = pyplot.subplots(figsize=(6, 4))
    for color, result in zip(COLORS, verdict.cells):
        interval, cost = result.intervals[verdict.metric], result.costs[verdict.cost]
        timed = result.cost_intervals.get(verdict.cost)
        axes.errorbar(cost, interval.mean, yerr=_error(interval),
                      xerr=[[cost - timed.low], [timed.high - cost]] if timed else None, color=color, capsize=5,
                      marker="o", markersize=8, label=result.cell.upper())
    axes.set(xlabel=f"{verdict.cost.replace('_', ' ')} (lower is cheaper)", ylabel=verdict.metric,
             title=f"{verdict.metric} versus {verdict.cost.replace('_', ' ')} (95% intervals)")
    axes.legend()
    axes.grid(alpha=0.3)
    return png(figure)


def budget_curves(verdict: Verdict) -> bytes:
    """Each cell's expected best validation objective against the number of trials, with a band of one
    standard deviation (Dodge et al. 2019; pruned trials count with their best reported value)."""
    objective = "val/" + verdict.metric.removeprefix("test/")
    figure, axes = pyplot.subplots(figsize=(6, 4))
    for color, result in zip(COLORS, verdict.cells):
        if result.budget is None:
            continue
        expected, spread = np.asarray(result.budget.expected), np.asarray(result.budget.spread)
        axes.plot(result.budget.n, expected, color=color, marker="o", label=result.cell.upper())
        axes.fill_between(result.budget.n, expected - spread, expected + spread, color=color, alpha=0.2)
    axes.set(xlabel="trials", ylabel=f"expected best {objective}",
             title="Budget curves: expected best of n trials (+- 1 sd)\npruned trials at their best reported value "
                   "(an underestimate)")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.legend()
    axes.grid(alpha=0.3)
    return png(figure)


def _optuna_plot(draw: object, study: optuna.Study) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna marks its matplotlib plots experimental
        axes = draw(study)  # type: ignore[operator]
    return png(axes.figure)


def report_plots(verdict: Verdict, tracker: Tracker, studies: Mapping[str, optuna.Study],
                 objective: str) -> dict[str, bytes]:
    """Every plot of the report, by file name."""
    plots = {
        "validation_curves.png": validation_curves(tracker, studies, objective),
        "test_metric_per_seed.png": seed_metric(verdict),
        "metric_vs_latency.png": metric_vs_latency(verdict),
        "budget_curves.png": budget_curves(verdict),
    }
    for cell, study in studies.items():
        plots[f"optuna_history_{cell}.png"] = _optuna_plot(optuna_plots.plot_optimization_history, study)
        plots[f"optuna_importances_{cell}.png"] = _optuna_plot(optuna_plots.plot_param_importances, study)
    return plots
