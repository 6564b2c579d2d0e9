"""The report published: the chosen models registered, the report logged on the sweep's parent run."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import optuna

from gatelab.report.html import report_html
from gatelab.report.tables import Report
from gatelab.tracking import tags as tag
from gatelab.tracking.client import Tracker
from gatelab.tracking.loggers import FIGURES
from gatelab.tracking.model_registry import CHAMPION, RUNNER_UP, register
from gatelab.verdict import CellResult, Verdict

__all__ = ["publish"]


def _search_time(studies: Sequence[optuna.Study]) -> tuple[float, int]:
    """Wall seconds of every trial that ran to an end, and their count."""
    spans = [(trial.datetime_start, trial.datetime_complete) for study in studies
             for trial in study.get_trials(deepcopy=False)]
    ended = [(start, end) for start, end in spans if start is not None and end is not None]
    return sum((end - start).total_seconds() for start, end in ended), len(ended)


def _selection_time(tracker: Tracker, cells: Sequence[CellResult]) -> float:
    """Wall seconds of the selection runs (training, testing, cost measurement and model saving)."""
    runs = [tracker.client.get_run(run_id).info for cell in cells for run_id in cell.seed_runs]
    return sum((run.end_time - run.start_time) / 1000 for run in runs)


def publish(tracker: Tracker, parent: str, verdict: Verdict, searches: Sequence[Mapping[str, optuna.Study]],
            objective: str, register_models: bool = True, plots: bool = True) -> Report:
    """Register the chosen models (where ``register_models``) and log the report (Markdown, JSON, HTML, plots,
    metrics, tags) on ``parent``.

    Args:
        tracker: the task's MLflow experiment.
        parent: the sweep's parent run.
        verdict: the decision and the numbers behind it.
        searches: each search repeat's studies by cell (for the search's time; the first for Optuna's plots).
        objective: the validation metric the search optimised.
        register_models: register the chosen cell's and the runner-up's models; without, none is registered.
        plots: draw the plots (and copy each cell's figures); without, the report has none.
    """
    from gatelab.report.gate_plots import gate_figures  # matplotlib only when a report is made
    from gatelab.report.plots import report_plots

    compared = {result.cell: searches[0][result.cell] for result in verdict.cells}
    versions = register(tracker, verdict.task, verdict.sweep, {CHAMPION: verdict.cell(verdict.choice).model_run,
                                                                RUNNER_UP: verdict.cell(verdict.runner_up).model_run}) \
        if register_models else {}
    searched = [studies[result.cell] for studies in searches for result in verdict.cells]
    figures = (report_plots(verdict, tracker, compared, objective) | gate_figures(tracker, verdict.cells)
               if plots else {})
    report = Report(verdict, *_search_time(searched), _selection_time(tracker, verdict.cells), versions, figures)
    client = tracker.client
    client.log_text(parent, report.to_markdown(), "verdict.md")
    client.log_text(parent, report.to_json(), "verdict.json")
    client.log_text(parent, report_html(report), "report.html")
    with tempfile.TemporaryDirectory() as folder:
        for name, png in report.plots.items():
            (Path(folder) / name).write_bytes(png)
        client.log_artifacts(parent, folder, "plots")
    for result in verdict.cells if plots else ():
        tracker.copy_artifacts(result.model_run, parent, FIGURES, f"{FIGURES}/{result.cell}")
    metrics = {"search_seconds": report.search_seconds, "selection_seconds": report.selection_seconds}
    for result in verdict.cells:
        metrics[f"{result.cell}.best_{objective}"] = result.best_val
        for key, interval in result.intervals.items():
            metrics |= {f"{result.cell}.{key}.mean": interval.mean, f"{result.cell}.{key}.low": interval.low,
                        f"{result.cell}.{key}.high": interval.high}
        metrics |= {f"{result.cell}.{key}": value for key, value in result.costs.items()}
    for baseline in verdict.baselines:
        name = "baseline." + re.sub(r"[^A-Za-z0-9]+", "_", baseline.name).strip("_")
        metrics |= {f"{name}.{key}.{end}": getattr(interval, end) for key, interval in baseline.intervals.items()
                    for end in ("mean", "low", "high")}
    tracker.log_metrics(parent, metrics)
    tracker.set_tags(parent, {tag.VERDICT: verdict.choice}
                     | ({tag.CHAMPION_VERSION: versions[CHAMPION]} if versions else {}))
    return report
