"""R2, LSTM for precision-critical work: precision at a fixed recall, card precision@k and calibration (fraud), +P
at a fixed Se (ECG)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from gatelab.errors import ConfigError
from gatelab.tracking.model_registry import load_saved_model
from torchmetrics.functional.classification import (
    binary_calibration_error,
    binary_precision_at_fixed_recall,
    multiclass_precision_at_fixed_recall,
)

from claims.evidence import (
    Finding,
)
from claims.lab import Outcome, SweepSpec
from claims.rules.context import CELLS, RuleContext, interval_text

R2_TASKS = ("fraud", "physio")


def plan_precision(recall: float, bins: int, tasks: Sequence[str], ecg_classes: Sequence[str]) -> list[SweepSpec]:
    unknown = sorted(set(tasks) - set(R2_TASKS))
    if unknown:
        raise ConfigError(f"R2 tasks: {unknown} have no R2 experiment; give some of {list(R2_TASKS)} in "
                          "configs/claims.yaml.")
    return [SweepSpec.of(task) for task in tasks]


def _test_scores(ctx: RuleContext, outcome: Outcome) -> tuple[dict[str, list[torch.Tensor]], torch.Tensor, Any]:
    """Each cell's saved models' test probabilities (per selection seed: (examples,) for a binary task, else
    (examples, classes)), the test labels, and the sweep's DataModule."""
    run_cfg = outcome.experiment.run()
    run_cfg.data.prepare_data()
    run_cfg.data.setup("test")
    batches = list(run_cfg.data.test_dataloader())
    scores: dict[str, list[torch.Tensor]] = {}
    for cell in CELLS:
        scores[cell] = []
        for run_id in outcome.cell(cell)["seed_runs"]:
            model, _ = load_saved_model(ctx.tracker, run_id)
            with torch.inference_mode():
                scores[cell].append(torch.cat([model(batch["x"]) for batch in batches]))
    return scores, torch.cat([batch["y"] for batch in batches]), run_cfg.data


def _ecg_precision(ctx: RuleContext, sensitivity: float, classes: Sequence[str]) -> list[Finding]:
    """Per class, one-vs-rest positive predictivity (+P) at ``sensitivity`` (Se) on the physio sweep's test
    records (DS2), LSTM minus GRU per selection seed."""
    outcome = ctx.sweep(SweepSpec.of("physio"))
    scores, labels, data = _test_scores(ctx, outcome)
    missing = [name for name in classes if name not in data.classes]
    if missing:
        raise ConfigError(f"R2 ecg_classes: {missing} are not classes of the physio sweep ({list(data.classes)}); "
                          "name some of them in configs/claims.yaml.")
    findings = []
    for name in classes:
        index = data.classes.index(name)
        found = {cell: [float(multiclass_precision_at_fixed_recall(p, labels, len(data.classes), sensitivity)[0][index])
                        for p in values] for cell, values in scores.items()}
        for cell in CELLS:
            for step, value in enumerate(found[cell]):
                ctx.log({f"{cell}.test_ppv_{name}_at_se_{sensitivity:g}": value}, step)
        findings.append(ctx.finding(
            "R2", f"physio: {name} +P at {sensitivity:.0%} Se (one-vs-rest, DS2 test records), LSTM minus GRU",
            ctx.paired(np.subtract(found["lstm"], found["gru"]).tolist()), outcome.runs,
            f"LSTM {interval_text(found['lstm'], ctx.confidence)}, GRU {interval_text(found['gru'], ctx.confidence)}; "
            f"{int((labels == index).sum()):,} {name} beats of {len(labels):,}"))
    return findings


def _fraud_precision(ctx: RuleContext, recall: float, bins: int) -> list[Finding]:
    """Precision at a fixed recall, card precision@k and calibration error on fraud's test split, per seed."""
    outcome = ctx.sweep(SweepSpec.of("fraud"))
    scores, labels, _ = _test_scores(ctx, outcome)
    precision = {cell: [float(binary_precision_at_fixed_recall(p, labels, min_recall=recall)[0]) for p in values]
                 for cell, values in scores.items()}
    calibration = {cell: [float(binary_calibration_error(p, labels, n_bins=bins)) for p in values]
                   for cell, values in scores.items()}
    for cell in CELLS:
        for step, (found, error) in enumerate(zip(precision[cell], calibration[cell], strict=True)):
            ctx.log({f"{cell}.test_precision_at_recall_{recall:g}": found, f"{cell}.test_ece_{bins}_bins": error}, step)
    card = next(key for key in outcome.cell("lstm")["test"] if key.startswith("test/card_precision_at_"))
    runs = outcome.runs
    return [
        ctx.finding("R2", f"fraud: precision at {recall:.0%} recall, LSTM minus GRU",
                    ctx.paired(np.subtract(precision["lstm"], precision["gru"]).tolist()), runs,
                    f"LSTM {interval_text(precision['lstm'], ctx.confidence)}, GRU "
                    f"{interval_text(precision['gru'], ctx.confidence)}"),
        ctx.finding("R2", f"fraud: {card.removeprefix('test/')}, LSTM minus GRU", ctx.paired(outcome.advantage(card)),
                    runs),
        ctx.finding("R2", f"fraud: expected calibration error ({bins} bins), GRU minus LSTM (positive: LSTM "
                          "better calibrated)",
                    ctx.paired(np.subtract(calibration["gru"], calibration["lstm"]).tolist()),
                    runs, f"LSTM {interval_text(calibration['lstm'], ctx.confidence)}, GRU "
                          f"{interval_text(calibration['gru'], ctx.confidence)}"),
    ]


def lstm_for_precision(ctx: RuleContext, recall: float, bins: int, tasks: Sequence[str],
                       ecg_classes: Sequence[str]) -> list[Finding]:
    """Fraud (in ``tasks``): precision at a fixed recall, card precision@k and calibration error on the test split;
    physio (in ``tasks``): each of ``ecg_classes``' +P at Se = ``recall``; LSTM minus GRU per seed."""
    plan_precision(recall, bins, tasks, ecg_classes)
    return ((_fraud_precision(ctx, recall, bins) if "fraud" in tasks else [])
            + (_ecg_precision(ctx, recall, ecg_classes) if "physio" in tasks else []))
