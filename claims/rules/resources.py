"""R3, GRU for constrained resources: training step time and memory side by side, counted parameters and
multiply-accumulates, seconds to a target."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from gatelab.models import ModelConfig, SequenceModel
from gatelab.training.costs import macs_per_sequence
from gatelab.training.module import SequenceClassifier, make_optimizer
from gatelab.training.task import ClassificationDataModule
from torchmetrics import MetricCollection

from claims.evidence import (
    Finding,
    exact_ratio,
    log_ratio_effect,
    round_ratio_effect,
)
from claims.lab import SweepSpec
from claims.measure import (
    equal_parameter_size,
    parameters,
    seconds_to_target,
    training_rounds,
)
from claims.rules.context import CELLS, RuleContext


def plan_resources(**settings: Any) -> list[SweepSpec]:
    return []


def _tensors(loader: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """A loader's whole split as one tensor of sequences and one of targets."""
    batches = list(loader)
    return torch.cat([batch["x"] for batch in batches]), torch.cat([batch["y"] for batch in batches])


def _time_to_target(ctx: RuleContext, hidden_size: int, length: int, value: float, lr: float, batch: int, chunk: int,
                    max_steps: int, seeds: int) -> Finding:
    """Training seconds until the validation objective reaches ``value`` on delayed recall (the budget's synthetic
    data at ``length``), GRU / LSTM at equal hidden size, trained side by side (``seconds_to_target``) once per seed."""
    run_cfg = ctx.config(SweepSpec.of("synthetic", {"data.init_args.length": length})).run()
    data = run_cfg.data
    if not isinstance(data, ClassificationDataModule):
        raise TypeError(f"the synthetic task's {type(data).__name__} is no ClassificationDataModule")
    data.prepare_data()
    data.setup("fit")
    x, y = _tensors(data.train_dataloader())
    val_x, val_y = _tensors(data.val_dataloader())
    metrics, key = data.make_metrics(), data.objective.removeprefix("val/")

    def score(module: SequenceClassifier) -> float:
        metrics.reset()
        with torch.inference_mode():
            metrics.update(module.score(val_x), val_y)
        return float(metrics.compute()[key])

    def reached(found: float) -> bool:
        return found >= value if data.direction == "maximize" else found <= value

    optim = replace(run_cfg.optim, lr=lr)
    reaches = []
    for seed in range(seeds):
        torch.manual_seed(seed)
        modules = {cell: SequenceClassifier(data.input_size, data.output_size,
                                            replace(run_cfg.model, cell=cell, hidden_size=hidden_size), optim,
                                            data.make_loss(), MetricCollection({})) for cell in CELLS}
        optimizers = {cell: make_optimizer(module.parameters(), optim) for cell, module in modules.items()}
        reaches.append(seconds_to_target(modules, optimizers, x, y, score, reached, batch, chunk, max_steps, seed))
        ctx.log({f"{cell}.seconds_to_target": found.seconds for cell, found in reaches[-1].items()}, seed)
    capped = ", ".join(f"{cell.upper()} {sum(not found[cell].reached for found in reaches)} of {seeds}"
                       for cell in CELLS)
    per_seed = ", ".join(f"{found['lstm'].seconds:.3g}/{found['gru'].seconds:.3g} ({found['lstm'].steps}/"
                         f"{found['gru'].steps} steps)" for found in reaches)
    return ctx.finding("R3", f"synthetic delayed recall (length {length}, hidden {hidden_size}, lr {lr:g}, batch "
                             f"{batch}): training seconds until {data.objective} reaches {value:g}, GRU / LSTM",
                       log_ratio_effect([found["gru"].seconds / found["lstm"].seconds for found in reaches],
                                        ctx.confidence, ctx.power, "seeds"), [],
                       f"seconds (steps) per seed LSTM/GRU: {per_seed}; validated every {chunk} steps, untimed; not "
                       f"reached within {max_steps:,} steps (counted at the cap, so its time is a lower bound): "
                       f"{capped}")


def gru_for_constrained_resources(ctx: RuleContext, input_size: int, hidden_size: int, length: int,
                                  batch_sizes: Sequence[int], steps: int, rounds: int, target_length: int,
                                  target_value: float, target_lr: float, target_batch: int, target_chunk: int,
                                  target_max_steps: int, target_seeds: int) -> list[Finding]:
    """Training step time and peak memory, GRU over LSTM, at equal hidden size and at equal parameters;
    parameters and multiply-accumulates counted; training seconds to a target validation value (``target_*``,
    ``_time_to_target``) at ``hidden_size``."""
    lstm = ModelConfig(cell="lstm", hidden_size=hidden_size)
    target = parameters(SequenceModel(input_size, 1, lstm))
    matched = equal_parameter_size("gru", target, input_size, 1)
    configs = {"lstm": lstm, "gru": ModelConfig(cell="gru", hidden_size=hidden_size),
               "gru_equal_params": ModelConfig(cell="gru", hidden_size=matched)}
    sequence = torch.zeros(1, length, input_size)
    counts = {name: (parameters(SequenceModel(input_size, 1, cfg)),
                     macs_per_sequence(SequenceModel(input_size, 1, cfg), sequence)) for name, cfg in configs.items()}
    for name, (params, macs) in counts.items():
        ctx.log({f"{name}.params": params, f"{name}.macs_per_sequence": macs})
    size = f"hidden {hidden_size}, {length} steps of {input_size} features"
    findings: list[Finding] = []
    memory_rounds: dict[str, list[float]] = {}
    for batch in batch_sizes:
        seconds, memory_rounds = training_rounds(configs, input_size, length, batch, steps, rounds)
        for name, values in seconds.items():
            ctx.log({f"{name}.train_step_ms.batch{batch}": 1e3 * float(np.median(values))})
        findings.append(ctx.finding("R3", f"batch {batch}, equal hidden size: training step time GRU / LSTM ({size})",
                                    round_ratio_effect(seconds["gru"], seconds["lstm"], ctx.confidence), [],
                                    f"median ms/step LSTM {1e3 * np.median(seconds['lstm']):.3g}, GRU "
                                    f"{1e3 * np.median(seconds['gru']):.3g}"))
        findings.append(ctx.finding("R3", f"batch {batch}, equal parameters (GRU hidden {matched}: "
                                          f"{counts['gru_equal_params'][0]:,} vs {target:,}): training step time "
                                          "GRU / LSTM",
                                    round_ratio_effect(seconds["gru_equal_params"], seconds["lstm"], ctx.confidence),
                                    []))
    findings.append(_time_to_target(ctx, hidden_size, target_length, target_value, target_lr, target_batch,
                                    target_chunk, target_max_steps, target_seeds))
    findings.append(ctx.finding("R3", f"batch {batch_sizes[-1]}, equal hidden size: peak memory of training GRU / LSTM "
                                      "(CPU: process resident set, interpreter included)",
                                round_ratio_effect(memory_rounds["gru"], memory_rounds["lstm"], ctx.confidence), []))
    numbers = {"LSTM params": counts["lstm"][0], "GRU params": counts["gru"][0],
               "LSTM MACs/seq": counts["lstm"][1], "GRU MACs/seq": counts["gru"][1]}
    findings.append(ctx.finding("R3", f"parameters GRU / LSTM, equal hidden size ({size})",
                                exact_ratio(counts["gru"][0], counts["lstm"][0], "parameters"), [], numbers=numbers))
    findings.append(ctx.finding("R3", f"multiply-accumulates per sequence GRU / LSTM, equal hidden size ({size})",
                                exact_ratio(counts["gru"][1], counts["lstm"][1], "multiply-accumulates"), [],
                                numbers=numbers))
    return findings
