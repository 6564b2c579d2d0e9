"""A sweep's conclusion: select, decide and report, on one sweep's search or pooled over a group's repeats.

The stages are the layers': ``gatelab.selection`` retrains each cell's best configuration (and ``seeds=auto``'s
rounds) and times the cells' models side by side, ``gatelab.verdict`` decides, ``gatelab.report`` publishes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, cast

import optuna

from gatelab.baselines import fit_baselines
from gatelab.errors import MissingResultsError
from gatelab.report.publish import publish
from gatelab.report.tables import Report
from gatelab.search.context import SweepContext
from gatelab.selection import Search, measure_side_by_side, select, test_metric
from gatelab.settings import Seeds
from gatelab.tracking import tags as tag
from gatelab.verdict import COSTS, Verdict, best_trials, cell_result, cost_ratios, decide, representative, sign

__all__ = ["Searched", "conclude", "conclude_unless_skipped"]


class Searched(Protocol):
    """A search whose results a verdict pools (``gatelab.pipeline.sweep.OpenSweep``)."""

    @property
    def context(self) -> SweepContext: ...

    @property
    def studies(self) -> dict[str, optuna.Study]: ...

    @property
    def sampler_seed(self) -> int: ...


def conclude_unless_skipped(context: SweepContext, searches: Sequence[Searched], seeds: Seeds, register: bool,
                             plots: bool) -> Report | None:
    """``conclude``, or with ``seeds`` 0 only a ``pending`` verdict tag on the parent run (no report)."""
    if seeds == 0:
        context.tracker.set_tags(context.parent, {tag.VERDICT: "pending"})
        return None
    return conclude(context, searches, seeds, register, plots)


def conclude(context: SweepContext, searches: Sequence[Searched], seeds: Seeds, register: bool,
             plots: bool) -> Report:
    """Select, decide and report on ``context``'s parent run; a sweep whose results are missing says so there, and
    raises."""
    try:
        verdict = _select_and_decide(context, searches, seeds)
    except MissingResultsError as error:
        context.tracker.set_tags(context.parent, {tag.VERDICT: "none", tag.MISSING: str(error)})
        raise
    return publish(context.tracker, context.parent, verdict, [search.studies for search in searches],
                   context.objective, register, plots)


def _select_and_decide(context: SweepContext, searches: Sequence[Searched], seeds: Seeds,
                       confidence: float = 0.95) -> Verdict:
    """Retrain each cell's best trial (of every search) on ``seeds`` seeds, time the cells' models side by side,
    and decide."""
    task, direction, objective = context.experiment.task, context.direction, context.objective
    found = [Search(search.context, best_trials(search.studies, task, search.context.sweep)) for search in searches]
    runs, seeding = select(found, seeds, confidence)
    if len(searches) > 1:
        samplers = ", ".join(str(search.sampler_seed) for search in searches)
        seeding += (f"; pooled over {len(searches)} search repeats (TPE sampler seeds {samplers}): each cell's best "
                    "configuration of every repeat retrained on the same seeds, so the intervals hold the "
                    "search's luck and the seeds'")
    best = {cell: max((search.best[cell] for search in found),
                      key=lambda trial: sign(direction) * cast(float, trial.value)) for cell in found[0].best}
    models = {cell: representative(cell_runs, objective, direction).run_id for cell, cell_runs in runs.items()}
    baselines = fit_baselines(searches[0].context, context.parent, [run.seed for run in next(iter(runs.values()))],
                              confidence)
    timed = measure_side_by_side(context, models)
    results = [cell_result(cell=cell, trials=[trial for search in searches
                                              for trial in search.studies[cell].get_trials(deepcopy=False)],
                           trial=best[cell], runs=runs[cell], objective=objective, direction=direction,
                           timings=timed.rounds[cell], inference_memory_mib=timed.memory_mib[cell],
                           confidence=confidence)
               for cell in best]
    ratios = cost_ratios(timings=timed.rounds, confidence=confidence,
                         macs={result.cell: result.costs["macs"] for result in results if "macs" in result.costs})
    settings = context.experiment.sweep
    decision = decide(cells=results, metric=test_metric(objective), direction=direction, cost=COSTS[settings.cost],
                      tolerance=settings.tie_tolerance, ratios=ratios, confidence=confidence, baselines=baselines)
    timing = {"device": timed.device, "rounds": len(next(iter(timed.rounds[results[0].cell].values()))),
              "large_batch": timed.large_batch, "memory": timed.memory_kind, "batch1_calls": timed.calls,
              "form": "exported program (torch.export), as registered"}
    return Verdict(task=task, sweep=context.sweep, direction=direction, cells=results, decision=decision,
                   timing=timing, seeding=seeding, baselines=baselines)
