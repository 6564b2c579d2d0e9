"""Measurements that are not sweeps: training steps timed side by side (R3), training time to a target
validation value (R3) and streaming latency (R5).

All interleave the models round by round, every other round in reverse order, in one process, so that a
change of the machine's load falls on every model alike and round ``i``'s values pair up: the timing loop is
``gatelab.training.costs.interleaved``, the one ``side_by_side`` times inference with.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
from gatelab.models import ModelConfig, SequenceModel
from gatelab.training.costs import interleaved, peak_memory
from gatelab.training.module import SequenceClassifier
from gatelab.training.streaming import StreamingScorer
from torch import Tensor, nn

__all__ = ["Reach", "equal_parameter_size", "parameters", "seconds_to_target", "streaming_rounds",
           "training_rounds"]


def parameters(model: nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())


def equal_parameter_size(cell: str, target: int, input_size: int, output_size: int) -> int:
    """The hidden size at which ``cell``'s ``SequenceModel`` has the parameter count closest to ``target``."""
    def count(hidden: int) -> int:
        return parameters(SequenceModel(input_size, output_size, ModelConfig(cell=cell, hidden_size=hidden)))

    hidden = 1
    while count(hidden + 1) <= target:
        hidden += 1
    return min((hidden, hidden + 1), key=lambda size: abs(count(size) - target))


def _training_step(model: SequenceModel, optimizer: torch.optim.Optimizer, x: Tensor, y: Tensor) -> None:
    optimizer.zero_grad(set_to_none=True)
    logits, _ = model(x)
    loss = nn.functional.binary_cross_entropy_with_logits(logits[:, -1, 0], y)
    loss.backward()
    optimizer.step()


def training_rounds(configs: Mapping[str, ModelConfig], input_size: int, length: int, batch: int, steps: int,
                    rounds: int, seed: int = 0) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Seconds per training step (forward, binary cross-entropy on the last step, backward, Adam step) of each
    model, and its peak memory per round, side by side on the CPU on the same random batch.

    Args:
        configs: the models' backbones by name.
        input_size: features per step.
        length: time steps per sequence.
        batch: sequences per step.
        steps: training steps per timed measurement.
        rounds: timed rounds (at least 6 for a 95% interval of a median).
        seed: the batch's and the weights' seed.

    Returns:
        Per model, each round's seconds per step, and each round's peak memory in MiB (the process's peak
        resident set on a CPU, ``gatelab.training.costs.peak_memory``).
    """
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, length, input_size, generator=generator)
    y = torch.randint(0, 2, (batch,), generator=generator).float()
    torch.manual_seed(seed)
    models = {name: SequenceModel(input_size, 1, cfg) for name, cfg in configs.items()}
    optimizers = {name: torch.optim.Adam(model.parameters()) for name, model in models.items()}
    memory: dict[str, list[float]] = {name: [] for name in models}

    def timed(name: str) -> float:
        with peak_memory(torch.device("cpu")) as peak:
            start = time.perf_counter()
            for _ in range(steps):
                _training_step(models[name], optimizers[name], x, y)
            seconds = (time.perf_counter() - start) / steps
        memory[name].append(peak.mib)
        return seconds

    seconds = interleaved({name: partial(timed, name) for name in models}, rounds, warmup=1)
    return seconds, {name: values[-rounds:] for name, values in memory.items()}


@dataclass(frozen=True)
class Reach:
    """How a model got to a target: training seconds (validation not counted), training steps, and whether it
    reached the target (False: stopped at the cap, its seconds and steps the cap's)."""

    seconds: float
    steps: int
    reached: bool


def seconds_to_target(modules: Mapping[str, SequenceClassifier], optimizers: Mapping[str, torch.optim.Optimizer],
                      x: Tensor, y: Tensor, score: Callable[[SequenceClassifier], float],
                      reached: Callable[[float], bool],
                      batch: int, chunk: int, max_steps: int, seed: int) -> dict[str, Reach]:
    """Train the models side by side, ``chunk`` steps of each in turn (every other round in reverse order), each
    scored after its chunk, until each reaches the target or has trained ``max_steps`` steps.

    Every model draws the same batches in the same order (a generator seeded ``seed`` each), after one untimed
    forward and backward pass on a copy of it (the first call's set-up is not a cell's training time).

    Args:
        modules: the models by name, freshly initialised.
        optimizers: each model's optimiser.
        x: (sequences, steps, features) the training sequences.
        y: (sequences,) their targets.
        score: a model's validation value (untimed).
        reached: whether a validation value meets the target.
        batch: sequences per training step.
        chunk: training steps between two validations.
        max_steps: the cap on training steps.
        seed: the batch order's seed.

    Returns:
        Per model, its ``Reach``.
    """
    orders = {name: torch.Generator().manual_seed(seed) for name in modules}
    queues: dict[str, list[Tensor]] = {name: [] for name in modules}
    seconds, steps = dict.fromkeys(modules, 0.0), dict.fromkeys(modules, 0)
    done: dict[str, bool] = {}

    def next_batch(name: str) -> Tensor:
        if not queues[name]:
            queues[name] = list(torch.randperm(len(x), generator=orders[name]).split(batch))
        return queues[name].pop(0)

    def train_chunk(name: str) -> None:
        module, optimizer = modules[name], optimizers[name]
        module.train()
        rows = [next_batch(name) for _ in range(min(chunk, max_steps - steps[name]))]
        start = time.perf_counter()
        for row in rows:
            optimizer.zero_grad(set_to_none=True)
            logits = module(x[row])
            loss = module.loss_fn(logits, y[row].to(logits.dtype) if logits.dim() == 1 else y[row])
            loss.backward()
            optimizer.step()
        seconds[name] += time.perf_counter() - start
        steps[name] += len(rows)
        module.eval()
        if reached(score(module)):
            done[name] = True
        elif steps[name] >= max_steps:
            done[name] = False

    for module in modules.values():  # warm the kernels up, untimed, on a copy: the models stay untouched
        copy.deepcopy(module)(x[:batch]).sum().backward()
    names, index = list(modules), 0
    while len(done) < len(names):
        for name in names if index % 2 == 0 else reversed(names):
            if name not in done:
                train_chunk(name)
        index += 1
    return {name: Reach(seconds[name], steps[name], done[name]) for name in names}


def streaming_rounds(scorers: Mapping[str, StreamingScorer], events: Tensor, per_round: int,
                     rounds: int) -> dict[str, list[list[float]]]:
    """Per-event latency of each scorer at batch 1: one key, one event per call, its state carried.

    Args:
        scorers: the streaming scorers by name.
        events: (n, input_size) real events, cycled.
        per_round: events each scorer scores per round.
        rounds: timed rounds.

    Returns:
        Per scorer, each round's per-event latencies in milliseconds.
    """
    latencies: dict[str, list[list[float]]] = {name: [] for name in scorers}
    position = {name: 0 for name in scorers}

    def one_round(name: str) -> float:
        scorer, times = scorers[name], []
        for _ in range(per_round):
            index = position[name] % len(events)
            position[name] += 1
            start = time.perf_counter()
            scorer.score(["key"], events[index : index + 1])
            times.append((time.perf_counter() - start) * 1e3)
        latencies[name].append(times)
        return float(np.median(times))

    interleaved({name: partial(one_round, name) for name in scorers}, rounds, warmup=1)
    return {name: rounds_[-rounds:] for name, rounds_ in latencies.items()}
