"""What every benchmark shares: the figure it reports and medians (interleaved repeats are
``gatelab.training.costs.interleaved``)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Figure", "ratio_figure", "time_steps"]


@dataclass
class Figure:
    """One reported figure, with its goal if it has one.

    Args:
        key: name in the JSON file; ratios have ``ratio`` in their key.
        value: the median over repeats.
        unit: what ``value`` counts (``x`` for a ratio).
        at_least: the goal is ``value >= at_least``.
        below: the goal is ``value < below``.
        note: what was compared, in a few words.
        spread: the lowest and highest of the rounds' values, for a figure measured in rounds.
    """

    key: str
    value: float
    unit: str = ""
    at_least: float | None = None
    below: float | None = None
    note: str = ""
    spread: tuple[float, float] | None = None

    @property
    def goal(self) -> str:
        if self.at_least is not None:
            return f">= {self.at_least:g}"
        return f"< {self.below:g}" if self.below is not None else ""

    @property
    def met(self) -> bool | None:
        if self.at_least is not None:
            return self.value >= self.at_least
        return self.value < self.below if self.below is not None else None


def ratio_figure(key: str, numerators: Sequence[float], denominators: Sequence[float], **details: Any) -> Figure:
    """A ratio figure: the median of the per-round ratios (each round's two figures were measured back to
    back), with their spread; ``details`` are ``Figure``'s other fields."""
    ratios = [a / b for a, b in zip(numerators, denominators)]
    return Figure(key, statistics.median(ratios), "x", spread=(min(ratios), max(ratios)), **details)


def time_steps(step: Callable[[], object], steps: int, warmup: int = 1) -> float:
    """Seconds per call of ``step``, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps

