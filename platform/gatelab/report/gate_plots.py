"""The report's gate figures, as PNG bytes, drawn from ``gatelab.models.gates.gate_summary`` dicts (as logged)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display; must precede pyplot

from matplotlib import pyplot  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from gatelab.models.gates import CANDIDATE, GATES  # noqa: E402
from gatelab.report.plots import COLORS, png  # noqa: E402
from gatelab.tracking.client import Tracker  # noqa: E402
from gatelab.tracking.loggers import GATES_FOLDER  # noqa: E402
from gatelab.verdict import CellResult  # noqa: E402

__all__ = ["gate_figures", "gate_means", "gate_saturation"]

#: One colour per gate name, the same in every figure (LSTM's forget gate and GRU's update gate share one:
#: each decides how much of the previous state is kept).
_GATECOLORS = dict(zip(["input", "forget", "output", "reset"], COLORS)) | {"update": COLORS[1]}


def _panels(layers: list[dict[str, Any]]) -> tuple[Figure, list[Axes]]:
    """One panel per layer (and direction), side by side, sharing the y axis."""
    figure, axes = pyplot.subplots(1, len(layers), figsize=(4.2 * len(layers) + 1.5, 4), sharey=True, squeeze=False)
    for panel, layer in zip(axes[0], layers):
        direction = ", backward" if layer["direction"] == "backward" else ""
        panel.set_title(f"layer {layer['layer'] + 1}{direction}", fontsize="medium")
        panel.grid(alpha=0.3)
    return figure, list(axes[0])


def gate_means(summary: Mapping[str, Any], cell: str, epoch: int) -> bytes:
    """Each gate's mean activation at each time step, one panel per layer, with the saturation thresholds.

    Args:
        summary: one epoch's ``gate_summary``.
        cell: the cell's name (``GATES``), for the title.
        epoch: the summary's epoch, counted from 0 (shown from 1).
    """
    figure, panels = _panels(summary["layers"])
    steps = range(1, summary["steps"] + 1)
    for panel, layer in zip(panels, summary["layers"]):
        for name, gate in layer["gates"].items():
            panel.plot(steps, gate["per_step"]["mean"], marker="o", markersize=3, color=_GATECOLORS[name], label=name)
        for threshold in (summary["low"], summary["high"]):
            panel.axhline(threshold, color="grey", linestyle=":", linewidth=1)
        panel.set(xlabel="time step (last = the step scored)", ylim=(0, 1))
        panel.xaxis.set_major_locator(MaxNLocator(integer=True))
    panels[0].set_ylabel(f"mean activation ({summary['sequences']} validation sequences)")
    panels[-1].legend(fontsize="small")
    figure.suptitle(f"{cell.upper()} gates per time step, epoch {epoch + 1} (dotted: saturation thresholds)")
    return png(figure)


def gate_saturation(summaries: Mapping[int, Mapping[str, Any]], cell: str) -> bytes:
    """How the fraction of saturated gate activations changed over the epochs, one panel per layer.

    Solid: above ``high`` (open); dashed: below ``low`` (shut); over all steps and units of the sample.

    Args:
        summaries: epoch (from 0) -> that epoch's ``gate_summary``.
        cell: the cell's name (``GATES``), for the title.
    """
    epochs = sorted(summaries)
    first = summaries[epochs[0]]
    figure, panels = _panels(first["layers"])
    for position, panel in enumerate(panels):
        for name in (name for name in GATES[cell] if name != CANDIDATE):
            gates = [summaries[epoch]["layers"][position]["gates"][name] for epoch in epochs]
            shown = [epoch + 1 for epoch in epochs]
            panel.plot(shown, [gate["saturated_high"] for gate in gates], marker="o", color=_GATECOLORS[name],
                       label=f"{name} > {first['high']:g}")
            panel.plot(shown, [gate["saturated_low"] for gate in gates], marker="s", linestyle="--",
                       color=_GATECOLORS[name], label=f"{name} < {first['low']:g}")
        panel.set(xlabel="epoch")
        panel.set_ylim(bottom=0)
        panel.xaxis.set_major_locator(MaxNLocator(integer=True))
    panels[0].set_ylabel("fraction of activations saturated")
    panels[-1].legend(fontsize="small")
    figure.suptitle(f"{cell.upper()} gate saturation over epochs")
    return png(figure)


def gate_figures(tracker: Tracker, cells: Sequence[CellResult]) -> dict[str, bytes]:
    """Each gated cell's figures from its representative selection run's logged summaries (``gates/epoch-<n>.json``):
    the gates' mean per time step at the run's best epoch (the weights it keeps and registers), and saturation
    over the epochs. Cells without gates (``rnn``) or without summaries get none."""
    figures = {}
    for result in cells:
        if result.cell not in GATES:
            continue
        with tempfile.TemporaryDirectory() as folder:
            if not tracker.client.list_artifacts(result.model_run, GATES_FOLDER):
                continue
            local = Path(tracker.client.download_artifacts(result.model_run, GATES_FOLDER, folder))
            summaries = {int(path.stem.removeprefix("epoch-")): json.loads(path.read_text())
                         for path in local.glob("epoch-*.json")}
        best = int(tracker.client.get_run(result.model_run).data.metrics["best_epoch"])
        figures[f"gates_{result.cell}_means.png"] = gate_means(summaries[best], result.cell, best)
        figures[f"gates_{result.cell}_saturation.png"] = gate_saturation(summaries, result.cell)
    return figures
