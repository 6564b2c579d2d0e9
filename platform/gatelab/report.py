"""The sweep's report: the verdict as terminal/Markdown tables, JSON and a self-contained HTML page, with
plots, all logged on the sweep's parent run; the chosen models registered in the Model Registry."""

from __future__ import annotations

import base64
import html
import json
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import optuna

from gatelab.costs import LARGE_BATCH
from gatelab.registry import CHAMPION, RUNNER_UP, register, registered_name
from gatelab.tracking import FIGURES, Tracker
from gatelab.verdict import COST_MARGIN, CellResult, Verdict

if TYPE_CHECKING:
    from gatelab.sweep import Sweep

__all__ = ["Report", "publish"]

RULE = ("Rule: cells are ranked by their mean test metric over the selection seeds; each other cell is compared "
        "with the best by a paired t-test over the same seeds. A difference within the seed noise (p >= 0.05) or "
        "below the tie tolerance is a tie, and a tie goes to the cheaper cell (lower inference latency per "
        f"sequence at batch {LARGE_BATCH}, or fewer parameters where latencies are within {COST_MARGIN:.0%}); "
        "otherwise the better cell is picked and its price stated.")

_COSTS = (("params", "params", ",.0f"), ("seconds_per_epoch", "s/epoch", ".2f"),
          ("seconds_to_best_epoch", "s to best epoch", ".2f"), ("latency_ms_batch1", "ms/seq @1", ".3f"),
          (f"latency_ms_batch{LARGE_BATCH}", f"ms/seq @{LARGE_BATCH}", ".4f"),
          ("throughput_per_s", f"seq/s @{LARGE_BATCH}", ",.0f"), ("peak_train_memory_mib", "peak train MiB", ",.0f"),
          ("peak_inference_memory_mib", "peak inference MiB", ",.0f"))


@dataclass
class Report:
    """A verdict with the search's and the selection's wall time, the registered versions, and the plots."""

    verdict: Verdict
    search_seconds: float
    search_trials: int
    selection_seconds: float
    versions: dict[str, str]
    plots: dict[str, bytes] = field(default_factory=dict, repr=False)

    def tables(self) -> list[tuple[str, list[str], list[list[str]]]]:
        """The report's tables: (title, header, rows)."""
        verdict = self.verdict
        metrics = [verdict.metric, *sorted(key for key in verdict.cells[0].intervals if key != verdict.metric)]
        quality = [["cell", "trials (pruned, failed)", f"best trial: val {verdict.metric.removeprefix('test/')}",
                    *(f"{key} mean [95% CI]" for key in metrics)]]
        cost = [["cell", *(label for _, label, _ in _COSTS)]]
        for result in verdict.cells:
            name = result.cell.upper() + (" (chosen)" if result.cell == verdict.choice else "")
            quality.append([name, f"{result.finished} ({result.pruned}, {result.failed})",
                            f"#{result.best_trial}: {result.best_val:.4f}",
                            *(str(result.intervals[key]) for key in metrics)])
            cost.append([name, *(format(result.costs[key], spec) for key, _, spec in _COSTS)])
        seeds = len(verdict.cells[0].seeds)
        paired = [["cell vs best", "difference (best - cell) [95% CI]", "t", "p", "within seed noise"]]
        for comparison in verdict.comparisons:
            test = comparison.paired
            paired.append([f"{comparison.cell.upper()} vs {comparison.against.upper()}", str(test.difference),
                           f"{test.statistic:.3g}", f"{test.p_value:.3g}", "yes" if not test.distinguishable else "no"])
        return [(f"Quality: test metrics over {seeds} seeds", quality[0], quality[1:]),
                (f"Measured costs (median over seeds, on {verdict.cells[0].device})", cost[0], cost[1:]),
                (f"Paired comparison over {seeds} seeds ({verdict.comparisons[0].paired.test})", paired[0], paired[1:])]

    def notes(self) -> list[str]:
        """The lines under the tables: the rule, time, registry and memory notes."""
        ratio = self.selection_seconds / self.search_seconds if self.search_seconds else float("nan")
        name = registered_name(self.verdict.task)
        return [
            RULE,
            f"Time: search {self.search_seconds:.0f} s over {self.search_trials} trials; selection "
            f"{self.selection_seconds:.0f} s over {sum(len(cell.seeds) for cell in self.verdict.cells)} retrainings "
            f"({ratio:.2f}x the search).",
            f"Registered: `{name}` version {self.versions[CHAMPION]} ({self.verdict.choice.upper()}, alias "
            f"`{CHAMPION}`), version {self.versions[RUNNER_UP]} ({self.verdict.runner_up.upper()}, tag "
            f"`gatelab.role={RUNNER_UP}`). Load: `mlflow.pytorch.load_model(\"models:/{name}@{CHAMPION}\")`.",
            "Peak memory on a CPU is the process's peak resident set (interpreter, libraries and data included); "
            "on a GPU it is the peak GPU allocation.",
        ]

    def to_markdown(self) -> str:
        verdict = self.verdict
        parts = [f"### {verdict.task} sweep {verdict.sweep}: {' vs '.join(c.cell.upper() for c in verdict.cells)}"]
        for title, header, rows in self.tables():
            lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            lines += ["| " + " | ".join(row) + " |" for row in rows]
            parts.append(f"**{title}**\n\n" + "\n".join(lines))
        parts.append(f"**Verdict:** {verdict.sentence}")
        parts += self.notes()
        return "\n\n".join(parts) + "\n"

    def to_dict(self) -> dict:
        return {"verdict": self.verdict.to_dict(), "search_seconds": self.search_seconds,
                "search_trials": self.search_trials, "selection_seconds": self.selection_seconds,
                "registered_model": registered_name(self.verdict.task), "versions": self.versions,
                "plots": sorted(self.plots)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_html(self) -> str:
        """One HTML file with everything inline (plots as data URIs): it opens anywhere, offline."""
        verdict = self.verdict
        body = [f"<h1>gatelab: {html.escape(verdict.task)} sweep {html.escape(verdict.sweep)}</h1>",
                f"<p class='verdict'><b>Verdict:</b> {html.escape(verdict.sentence)}</p>"]
        for title, header, rows in self.tables():
            cells = "".join(f"<th>{html.escape(item)}</th>" for item in header)
            lines = "".join("<tr>" + "".join(f"<td>{html.escape(item)}</td>" for item in row) + "</tr>" for row in rows)
            body.append(f"<h2>{html.escape(title)}</h2><table><tr>{cells}</tr>{lines}</table>")
        body += [f"<p>{html.escape(note)}</p>" for note in self.notes()]
        for name, png in sorted(self.plots.items()):
            data = base64.b64encode(png).decode()
            body.append(f"<figure><img alt='{name}' src='data:image/png;base64,{data}'>"
                        f"<figcaption>{html.escape(name)}</figcaption></figure>")
        style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse}"
                 "td,th{border:1px solid #bbb;padding:4px 8px;text-align:right}.verdict{font-size:1.15em}"
                 "img{max-width:100%}")
        return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>gatelab {html.escape(verdict.sweep)}"
                f"</title><style>{style}</style></head><body>{''.join(body)}</body></html>\n")


def _search_time(studies: Mapping[str, optuna.Study]) -> tuple[float, int]:
    """Wall seconds of every trial that ran to an end, and their count."""
    trials = [trial for study in studies.values() for trial in study.get_trials(deepcopy=False)
              if trial.datetime_start and trial.datetime_complete]
    return sum((trial.datetime_complete - trial.datetime_start).total_seconds() for trial in trials), len(trials)


def _selection_time(tracker: Tracker, cells: Sequence[CellResult]) -> float:
    """Wall seconds of the selection runs (training, testing, cost measurement and model saving)."""
    runs = [tracker.client.get_run(run_id).info for cell in cells for run_id in cell.seed_runs]
    return sum((run.end_time - run.start_time) / 1000 for run in runs)


def publish(sweep: Sweep, verdict: Verdict, studies: Mapping[str, optuna.Study]) -> Report:
    """Register the chosen models and log the report (Markdown, JSON, HTML, plots, metrics, tags) on the parent run."""
    from gatelab.plots import report_plots  # matplotlib only when a report is made

    tracker, parent = sweep.tracker, sweep.parent
    compared = {result.cell: studies[result.cell] for result in verdict.cells}
    versions = register(tracker, verdict.task, verdict.sweep, {CHAMPION: verdict.cell(verdict.choice).model_run,
                                                                RUNNER_UP: verdict.cell(verdict.runner_up).model_run})
    report = Report(verdict, *_search_time(compared), _selection_time(tracker, verdict.cells), versions,
                    report_plots(verdict, tracker, compared, sweep.objective))
    client = tracker.client
    client.log_text(parent, report.to_markdown(), "verdict.md")
    client.log_text(parent, report.to_json(), "verdict.json")
    client.log_text(parent, report.to_html(), "report.html")
    with tempfile.TemporaryDirectory() as folder:
        for name, png in report.plots.items():
            (Path(folder) / name).write_bytes(png)
        client.log_artifacts(parent, folder, "plots")
    for result in verdict.cells:
        tracker.copy_artifacts(result.model_run, parent, FIGURES, f"{FIGURES}/{result.cell}")
    metrics = {"search_seconds": report.search_seconds, "selection_seconds": report.selection_seconds}
    for result in verdict.cells:
        metrics[f"{result.cell}.best_{sweep.objective}"] = result.best_val
        for key, interval in result.intervals.items():
            metrics |= {f"{result.cell}.{key}.mean": interval.mean, f"{result.cell}.{key}.low": interval.low,
                        f"{result.cell}.{key}.high": interval.high}
        metrics |= {f"{result.cell}.{key}": value for key, value in result.costs.items()}
    tracker.log_metrics(parent, metrics)
    tracker.set_tags(parent, {"gatelab.verdict": verdict.choice, "gatelab.champion_version": versions[CHAMPION]})
    return report
