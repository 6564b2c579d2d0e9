"""The sweep's report as tables: the verdict in the terminal and in Markdown, and as JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from gatelab.report.sentences import budget_sentence, verdict_sentence
from gatelab.tracking.model_registry import CHAMPION, RUNNER_UP, registered_name
from gatelab.training.costs import COST_KEYS, LARGE_BATCH
from gatelab.verdict import COST_MARGIN, Verdict

__all__ = ["COST_LABELS", "RULE", "Report"]

RULE = ("Rule: cells are ranked by their mean test metric over the selection seeds; each other cell is compared "
        "with the best by a paired t-test over the same seeds. A difference within the seed noise (p >= 0.05) or "
        "below the tie tolerance is a tie. A tie goes to the cell cheaper on `sweep.cost` by a distinguishable "
        "margin (the interval of the per-round cost ratio, measured side by side, excludes 1 and the ratio exceeds "
        f"{1 + COST_MARGIN:g}), else to fewer multiply-accumulates per sequence; otherwise the better cell is "
        "picked and its price stated.")

#: Each cost's column header and number format, in ``COST_KEYS`` order.
COST_LABELS = dict(zip(COST_KEYS, (
    ("params", ",.0f"), ("MACs/seq", ",.0f"), ("s/epoch", ".2f"), ("s to best epoch", ".2f"),
    ("peak train MiB", ",.0f"), ("ms/seq @1", ".4g"), (f"ms/seq @{LARGE_BATCH}", ".4g"),
    (f"seq/s @{LARGE_BATCH}", ",.0f"), ("peak inference MiB", ",.0f")), strict=True))


def _cost(value: float | None, interval: object, spec: str) -> str:
    """A cost in the table: its interval where it has one, else the value, or ``n/a`` if not measured."""
    if value is None:
        return "n/a"
    return str(interval) if interval is not None else format(value, spec)


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
        cost = [["cell", *(label + (" [95% CI]" if key in verdict.cells[0].cost_intervals else "")
                           for key, (label, _) in COST_LABELS.items())]]
        for result in verdict.cells:
            name = result.cell.upper() + (" (chosen)" if result.cell == verdict.choice else "")
            quality.append([name, f"{result.finished} ({result.pruned}, {result.failed})",
                            f"#{result.best_trial}: {result.best_val:.4f}",
                            *(str(result.intervals[key]) for key in metrics)])
            cost.append([name, *(_cost(result.costs.get(key), result.cost_intervals.get(key), spec)
                                 for key, (_, spec) in COST_LABELS.items())])
        for baseline in verdict.baselines:
            quality.append([f"{baseline.name} (baseline)", "-", "-",
                            *(str(baseline.intervals[key]) if key in baseline.intervals else "n/a" for key in metrics)])
        seeds = len(verdict.cells[0].seeds)
        paired = [["cell vs best", "difference (best - cell) [95% CI]", "t", "p", "p (Holm)",
                   "detectable at 80% power", "seeds to resolve", "tied"]]
        for comparison in verdict.comparisons:
            test = comparison.paired
            needed = f"{comparison.seeds_needed} for {comparison.target:.3g}" if comparison.seeds_needed else "> 100"
            paired.append([f"{comparison.cell.upper()} vs {comparison.against.upper()}", str(test.difference),
                           f"{test.statistic:.3g}", f"{test.p_value:.3g}", f"{comparison.p_adjusted:.3g}",
                           f"{comparison.detectable:.3g}", needed, "yes" if comparison.tied else "no"])
        ratios = [["cells", *(COST_LABELS[key][0] for key in verdict.cells[0].cost_intervals), "MACs/seq"]]
        first = verdict.cell(verdict.choice)
        for other in verdict.cells:
            if other is not first:
                found = {ratio.cost: ratio.ratio for ratio in verdict.cost_ratios
                         if (ratio.cell, ratio.against) == (first.cell, other.cell)}
                ratios.append([f"{first.cell.upper()} / {other.cell.upper()}",
                               *(str(found[key]) if key in found else "" for key in [*first.cost_intervals, "macs"])])
        timing = verdict.timing
        folds = self.fold_table()
        return [(f"Quality: test metrics over {seeds} seeds", quality[0], quality[1:]), *folds,
                ("Costs: parameters, MACs, training time and memory are medians over the seeds; latencies are medians "
                 f"over {timing.get('rounds')} rounds timed side by side with their 95% intervals, on "
                 f"{timing.get('device', verdict.cells[0].device)}", cost[0], cost[1:]),
                ("Cost ratios: median of the per-round ratios [95% interval]", ratios[0], ratios[1:]),
                (f"Paired comparison over {seeds} seeds ({verdict.comparisons[0].paired.test})", paired[0], paired[1:])]

    def fold_table(self) -> list[tuple[str, list[str], list[list[str]]]]:
        """For a task tested on folds (prequential): each seed's mean +- standard deviation over the test folds, the
        values the quality table's intervals are computed from; none for a task with one test split."""
        verdict = self.verdict
        cells = [result for result in verdict.cells if result.fold_spread]
        if not cells:
            return []
        metrics = [verdict.metric, *sorted(key for key in cells[0].fold_spread if key != verdict.metric)]
        rows = [[result.cell.upper(), str(seed),
                 *(f"{result.test[key][index]:.4f} +- {result.fold_spread[key][index]:.4f}" for key in metrics)]
                for result in cells for index, seed in enumerate(result.seeds)]
        title = f"Per seed: mean +- standard deviation over the {cells[0].folds} test folds"
        return [(title, ["cell", "seed", *metrics], rows)]

    def notes(self) -> list[str]:
        """The lines under the tables: the rule, time, registry and memory notes."""
        ratio = self.selection_seconds / self.search_seconds if self.search_seconds else float("nan")
        name = registered_name(self.verdict.task)
        return [
            RULE,
            *([self.baseline_note()] if self.verdict.baselines else []),
            *([f"Seeds: {self.verdict.seeding}."] if self.verdict.seeding else []),
            self.budget_note(),
            "Intervals of scores in [0, 1] (AUPRC, AUROC, accuracy, F1, sensitivity, PPV) are computed on the logit "
            "scale and mapped back, so they stay in range; their centre is the mean logit mapped back. The ranking "
            "and the paired test use the plain means.",
            f"Time: search {self.search_seconds:.0f} s over {self.search_trials} trials; selection "
            f"{self.selection_seconds:.0f} s over {sum(len(cell.seeds) for cell in self.verdict.cells)} retrainings "
            f"({ratio:.2f}x the search).",
            (f"Registered: `{name}` version {self.versions[CHAMPION]} ({self.verdict.choice.upper()}, alias "
             f"`{CHAMPION}`), version {self.versions[RUNNER_UP]} ({self.verdict.runner_up.upper()}, tag "
             f"`gatelab.role={RUNNER_UP}`). Load: `mlflow.pytorch.load_model(\"models:/{name}@{CHAMPION}\")`."
             if self.versions else "Registered: no model (this sweep gathers evidence only; the task's champion "
                                   "is unchanged)."),
            "Peak memory on a CPU is the process's peak resident set (interpreter, libraries and data included); "
            "on a GPU it is the peak GPU allocation.",
        ]

    def baseline_note(self) -> str:
        """What the baselines are and how they are judged (only for a task that declares them)."""
        names = ", ".join(baseline.name for baseline in self.verdict.baselines)
        return (f"Baselines ({names}): reference models the task declares, each fitted with every selection seed on "
                "the training split a cell's seed trains on (each test fold's, for a task tested on folds) and scored "
                "by the same test metrics; each fit is a run of its own (tag `gatelab.role=baseline`), never a "
                "candidate and never registered. A cell beats the best baseline (the best mean) when the paired "
                "difference over the seeds is distinguishable (p < 0.05) and larger than the tie tolerance.")

    def budget_note(self) -> str:
        """Each cell's budget curve in words: its expected best at half and all of its trials, what the pruned
        trials contribute, and whether a curve still rose by more than the tie tolerance."""
        verdict = self.verdict
        objective = "val/" + verdict.metric.removeprefix("test/")
        maximize = verdict.direction == "maximize"
        parts = []
        for result in verdict.cells:
            curve = result.budget
            if curve is None or len(curve.n) < 2:
                parts.append(f"{result.cell.upper()} too few trials for a curve")
                continue
            half, total, gain = curve.gain(maximize)
            parts.append(f"{result.cell.upper()} {curve.expected[half - 1]:.4g} at {half} trials, "
                         f"{curve.expected[-1]:.4g} +- {curve.spread[-1]:.2g} at {total} ({gain:+.3g})")
        early = ", ".join(f"{result.cell.upper()} {result.budget_pruned}" for result in verdict.cells)
        left = [f"{result.cell.upper()} {result.budget_left_out}" for result in verdict.cells if result.budget_left_out]
        warning = budget_sentence(verdict.decision.warnings, objective)
        return (f"Budget curves (expected best {objective} of n trials drawn from the finished ones, Dodge et al. "
                f"2019, +- one standard deviation; plots/budget_curves.png): {'; '.join(parts)}. Pruned or diverged "
                f"trials count with their best reported value, an underestimate ({early})"
                + (f"; left out, having reported no value: {', '.join(left)}" if left else "") + ". "
                + (warning or f"No curve rose by more than the tie tolerance {verdict.tolerance} over its last "
                              "doubling of trials."))

    def to_markdown(self) -> str:
        verdict = self.verdict
        parts = [f"### {verdict.task} sweep {verdict.sweep}: {' vs '.join(c.cell.upper() for c in verdict.cells)}"]
        for title, header, rows in self.tables():
            lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            lines += ["| " + " | ".join(row) + " |" for row in rows]
            parts.append(f"**{title}**\n\n" + "\n".join(lines))
        parts.append(f"**Verdict:** {verdict_sentence(verdict)}")
        parts += self.notes()
        return "\n\n".join(parts) + "\n"

    def to_dict(self) -> dict:
        """The report as plain data (``verdict.json``): the verdict with its sentence, times, registry, plots."""
        return {"verdict": self.verdict.to_dict() | {"sentence": verdict_sentence(self.verdict)},
                "search_seconds": self.search_seconds,
                "search_trials": self.search_trials, "selection_seconds": self.selection_seconds,
                "registered_model": registered_name(self.verdict.task), "versions": self.versions,
                "plots": sorted(self.plots)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)
