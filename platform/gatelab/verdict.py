"""The verdict: which cell to pick, from each cell's best trial, with its costs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

__all__ = ["CellResult", "Verdict", "decide"]


@dataclass
class CellResult:
    """One cell's outcome in a sweep.

    Args:
        cell: the cell's name.
        finished: trials that count towards the budget (completed, pruned, diverged).
        pruned: trials stopped early by the pruner.
        failed: trials that diverged or crashed.
        best_trial: number of the best trial, or None when no trial completed.
        best_val: the best trial's validation objective.
        test: the best trial's test metrics.
        params: parameter count of the best trial's model.
        seconds_per_epoch: median training seconds per epoch of the best trial.
        run_id: the best trial's MLflow run.
    """

    cell: str
    finished: int
    pruned: int
    failed: int
    best_trial: int | None = None
    best_val: float | None = None
    test: dict[str, float] = field(default_factory=dict)
    params: int | None = None
    seconds_per_epoch: float | None = None
    run_id: str | None = None


@dataclass
class Verdict:
    """The table and the one-sentence recommendation of a sweep."""

    task: str
    sweep: str
    objective: str
    direction: str
    cells: list[CellResult]
    choice: str | None
    sentence: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    def to_markdown(self) -> str:
        """A Markdown table, one row per cell, then the recommendation."""
        tests = sorted({key for cell in self.cells for key in cell.test})
        header = ["cell", f"best {self.objective}", *tests, "params", "s/epoch", "trials (pruned, failed)"]
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for cell in self.cells:
            row = [cell.cell.upper(), _fmt(cell.best_val), *(_fmt(cell.test.get(key)) for key in tests),
                   f"{cell.params:,}" if cell.params is not None else "-", _fmt(cell.seconds_per_epoch, 2),
                   f"{cell.finished} ({cell.pruned}, {cell.failed})"]
            lines.append("| " + " | ".join(row) + " |")
        return f"### {self.task} sweep {self.sweep}\n\n" + "\n".join(lines) + f"\n\n**Verdict:** {self.sentence}\n"


def _fmt(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def decide(cells: Sequence[CellResult], objective: str, direction: str, tolerance: float) -> tuple[str | None, str]:
    """Pick a cell: among those within ``tolerance`` of the best objective, the cheapest to train.

    A cell is cheaper when its best trial trains faster per epoch (fewer parameters breaking a tie).
    """
    scored = [cell for cell in cells if cell.best_val is not None]
    missing = [cell.cell.upper() for cell in cells if cell.best_val is None]
    note = f" ({', '.join(missing)} had no completed trial.)" if missing else ""
    if not scored:
        return None, "No cell has a completed trial yet, so there is nothing to compare: run more trials."
    sign = 1.0 if direction == "maximize" else -1.0
    best = max(scored, key=lambda cell: sign * cell.best_val)
    if len(scored) == 1:
        return best.cell, f"Only {best.cell.upper()} completed a trial ({objective} {best.best_val:.4f}); nothing to compare yet.{note}"
    close = [cell for cell in scored if sign * (best.best_val - cell.best_val) <= tolerance]
    choice = min(close, key=lambda cell: (cell.seconds_per_epoch or 0.0, cell.params or 0))
    runner = max((cell for cell in scored if cell is not best), key=lambda cell: sign * cell.best_val)
    gap = abs(best.best_val - runner.best_val)
    if choice is not best:
        reason = (f"it is within the tie tolerance {tolerance} of {best.cell.upper()} on {objective} "
                  f"({choice.best_val:.4f} vs {best.best_val:.4f}), so the cheaper cell wins")
        other = best
    elif gap > tolerance:
        reason = (f"its {objective} {best.best_val:.4f} beats {runner.cell.upper()}'s {runner.best_val:.4f} by "
                  f"{gap:.4f}, more than the tie tolerance {tolerance}")
        other = runner
    else:
        reason = (f"it is best on {objective} ({best.best_val:.4f} vs {runner.cell.upper()}'s {runner.best_val:.4f}, "
                  f"within the tie tolerance {tolerance}) and no more expensive to train")
        other = runner
    return choice.cell, f"Pick {choice.cell.upper()}: {reason}. {_cost(choice, other)}{note}"


def _cost(cell: CellResult, other: CellResult) -> str:
    """What the chosen cell and the one it is compared with cost to train."""
    def one(result: CellResult) -> str:
        params = f"{result.params:,}" if result.params is not None else "?"
        return f"{result.cell.upper()} {_fmt(result.seconds_per_epoch, 2)} s/epoch with {params} parameters"
    return f"Cost: {one(cell)}, {one(other)}."
