"""The costs of trained models: deterministic counts, and timings measured side by side.

Deterministic, the same on every machine: parameters and multiply-accumulates per sequence, counted
from the layers' shapes (``macs_per_sequence``). Measured: every cell's model is timed in one
process, interleaved round by round on the same input batch (``side_by_side``), so that a change of
the machine's load falls on every cell alike; the verdict takes medians over the rounds. ``interleaved``
is that round-by-round loop, the one every side-by-side measurement of gatelab's applications and
benchmarks uses too.

Peak memory is the GPU's peak allocation on a GPU, and the process's peak resident set (Linux
``VmHWM``, reset before each measurement) on a CPU: there it includes the interpreter, the libraries
and the data, so it compares cells run by the same process, not absolute footprints.
"""

from __future__ import annotations

import os
import re
import resource
import time
from collections.abc import Callable, Hashable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import torch
from torch import Tensor, nn

__all__ = ["COST_KEYS", "LARGE_BATCH", "SEED_COSTS", "TIMED_COSTS", "PeakMemory", "SideBySide", "device_name",
           "interleaved", "macs_per_sequence", "peak_memory", "run_device", "side_by_side"]

Name = TypeVar("Name", bound=Hashable)
Value = TypeVar("Value")

#: The "large" batch of the latency measurement.
LARGE_BATCH = 1024
#: The costs each selection seed records (the verdict takes their median over the seeds).
SEED_COSTS = ("params", "macs", "seconds_per_epoch", "seconds_to_best_epoch", "peak_train_memory_mib")
#: The costs timed side by side, once per round: milliseconds per sequence at batch 1 and at the large batch.
TIMED_COSTS = ("latency_ms_batch1", f"latency_ms_batch{LARGE_BATCH}")
#: Every cost of a cell in the verdict.
COST_KEYS = (*SEED_COSTS, *TIMED_COSTS, "throughput_per_s", "peak_inference_memory_mib")
#: Gate blocks of torch's fused recurrent layers (``nn.RNNBase.mode``): weight matrices per layer and direction.
_GATE_BLOCKS = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}
_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")
_CPUINFO = Path("/proc/cpuinfo")


@dataclass
class PeakMemory:
    """The peak memory of the block measured by ``peak_memory``, in MiB, and what was measured."""

    mib: float = float("nan")
    kind: str = ""


def device_name(device: torch.device) -> str:
    """A readable name of the device: the GPU's model, or the CPU's model and core count."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    model = ""
    if _CPUINFO.exists():
        found = re.search(r"^model name\s*:\s*(.+)$", _CPUINFO.read_text(), re.MULTILINE)
        model = found.group(1).strip() + ", " if found else ""
    return f"{model}{os.cpu_count()} cores"


def run_device(accelerator: str) -> torch.device:
    """The device a run with ``trainer.accelerator`` trains on, as far as measuring costs needs it."""
    gpu = accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available()
    return torch.device("cuda", torch.cuda.current_device()) if gpu else torch.device("cpu")


def _resident_peak_kib() -> int:
    """The process's peak resident set: ``VmHWM`` where Linux has it, else the lifetime ``ru_maxrss``."""
    if _STATUS.exists():
        found = re.search(r"^VmHWM:\s+(\d+) kB", _STATUS.read_text(), re.MULTILINE)
        if found:
            return int(found.group(1))
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


@contextmanager
def peak_memory(device: torch.device) -> Iterator[PeakMemory]:
    """Measure the peak memory of a block on ``device``: GPU allocation on CUDA, else resident memory."""
    result = PeakMemory()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        yield result
        torch.cuda.synchronize(device)
        result.mib, result.kind = torch.cuda.max_memory_allocated(device) / 2**20, "gpu_allocated"
        return
    try:  # Linux: writing 5 resets the peak resident set to the current one
        _CLEAR_REFS.write_text("5")
        kind = "process_resident"
    except OSError:
        kind = "process_resident_lifetime"
    yield result
    result.mib, result.kind = _resident_peak_kib() / 1024, kind


def _rnn_macs_per_step(layer: nn.RNNBase) -> int:
    """Multiply-accumulates of one time step of a fused recurrent layer (all its layers and directions)."""
    directions = 2 if layer.bidirectional else 1
    total = 0
    for index in range(layer.num_layers):
        inputs = layer.input_size if index == 0 else layer.hidden_size * directions
        total += _GATE_BLOCKS[layer.mode] * layer.hidden_size * (inputs + layer.hidden_size) * directions
    return total


def macs_per_sequence(model: nn.Module, sequence: Tensor) -> int:
    """Multiply-accumulates of ``model``'s forward pass over one sequence, counted from the layers' shapes.

    Each call of a layer with weights counts, for every row it is applied to (a time step of a
    sequence): ``nn.Linear`` ``in * out``; torch's fused recurrent layers ``blocks * hidden * (input +
    hidden)`` per layer and direction, with 4 gate blocks for LSTM, 3 for GRU and 1 for RNN. minGRU and
    minLSTM compute their gates (2 and 3 blocks of ``hidden_size``) from the input alone with
    ``nn.Linear`` layers, counted as such; their scan is elementwise. Elementwise work, activations
    and bias additions are not multiply-accumulates and are not counted.

    torch's ``FlopCounterMode`` is not used: on a CPU it sees GRU and RNN (they decompose into
    ``addmm``) but not LSTM (one oneDNN kernel), and on a GPU none of cuDNN's fused kernels.

    Args:
        model: the model; a forward pass is run on ``sequence`` (without gradients).
        sequence: one sequence with its batch axis, e.g. ``(1, time, features)``.

    Returns:
        Multiply-accumulates per sequence.
    """
    count = 0

    def linear(layer: nn.Linear, inputs: tuple[Tensor, ...], output: object) -> None:
        nonlocal count
        count += inputs[0].numel() // layer.in_features * layer.in_features * layer.out_features

    def recurrent(layer: nn.RNNBase, inputs: tuple[Tensor, ...], output: object) -> None:
        nonlocal count
        count += inputs[0].numel() // layer.input_size * _rnn_macs_per_step(layer)

    hooks = [module.register_forward_hook(linear) for module in model.modules() if isinstance(module, nn.Linear)]
    hooks += [module.register_forward_hook(recurrent) for module in model.modules() if isinstance(module, nn.RNNBase)]
    try:
        with torch.no_grad():
            model(sequence[:1])
    finally:
        for hook in hooks:
            hook.remove()
    return count


@dataclass
class SideBySide:
    """Timings of several models measured side by side (``side_by_side``).

    Args:
        rounds: per model, each round's milliseconds per sequence at batch 1 (``latency_ms_batch1``) and at
            the large batch (``latency_ms_batch<large_batch>``).
        memory_mib: per model, the peak memory of a forward pass at the large batch, in MiB.
        memory_kind: what the peak memory measured (``gpu_allocated`` or ``process_resident``).
        device: where the models ran, in words.
        large_batch: sequences in the large batch.
        calls: calls per timed batch-1 measurement, the same for every model (short calls are timed in groups).
    """

    rounds: dict[str, dict[str, list[float]]]
    memory_mib: dict[str, float]
    memory_kind: str
    device: str
    large_batch: int
    calls: int = 1


def interleaved(calls: Mapping[Name, Callable[[], Value]], rounds: int, warmup: int = 0) -> dict[Name, list[Value]]:
    """Call every function once per round, in turn, every other round in reverse order, so that a change of the
    machine's load falls on all of them alike and round ``i``'s values pair up across functions.

    Args:
        calls: the functions by name; each returns its own measurement (e.g. its seconds).
        rounds: rounds whose values are kept.
        warmup: untimed rounds before (their values are dropped).

    Returns:
        Each function's values of the kept rounds, in round order.
    """
    names = list(calls)
    values: dict[Name, list[Value]] = {name: [] for name in calls}
    for index in range(warmup + rounds):
        for name in names if index % 2 == 0 else reversed(names):
            value = calls[name]()
            if index >= warmup:
                values[name].append(value)
    return values


def _seconds(run: Callable[[], object], device: torch.device, calls: int = 1) -> float:
    """Wall seconds per call of ``calls`` calls of ``run()`` (waiting for the GPU to finish)."""
    start = time.perf_counter()
    for _ in range(calls):
        run()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return (time.perf_counter() - start) / calls


def side_by_side(models: Mapping[str, nn.Module], sequences: Tensor, device: torch.device,
                 large_batch: int = LARGE_BATCH, rounds: int = 30, warmup: int = 3,
                 min_seconds: float = 0.002) -> SideBySide:
    """Time every model in this process, interleaved, on the same input: latency at batch 1 and at the large batch.

    After ``warmup`` untimed rounds, each of ``rounds`` rounds (``interleaved``) times every model at
    batch 1, then every model at ``large_batch``, every other round in reverse order, so that the
    machine's changing load falls on all models alike and round ``i``'s values of two models pair up.
    Batch-1 calls are timed in groups, the same count for every model (fixed in the warm-up so that
    the cheapest model's group lasts ``min_seconds``), so that the clock's resolution and the loop's
    overhead stay small beside them and weigh alike on every model. The models run
    without gradients, in eval mode; an exported program (``torch.export``, the form gatelab registers)
    was traced in eval mode already. Then each model's peak memory at the large batch is measured,
    one model after another.

    Args:
        models: the models by name; each takes a batch of sequences.
        sequences: real input sequences (batch, ...); rows are reused to fill the large batch.
        device: where to run them.
        large_batch: sequences in the large batch.
        rounds: timed rounds (at least 6 for a 95% interval of a median).
        warmup: untimed rounds before.
        min_seconds: shortest timed measurement at batch 1.

    Returns:
        Each round's milliseconds per sequence per model, and each model's peak inference memory.
    """
    models = {name: model.to(device) for name, model in models.items()}
    for model in models.values():
        if not isinstance(model, torch.fx.GraphModule):  # an exported program's module refuses .eval()
            model.eval()
    single = sequences[:1].to(device)
    large = sequences[torch.arange(large_batch) % len(sequences)].to(device)
    batches = {"latency_ms_batch1": single, f"latency_ms_batch{large_batch}": large}

    calls = 1

    def timer(model: nn.Module, batch: Tensor) -> Callable[[], float]:
        """Seconds per call of ``model`` on ``batch``; a batch-1 timer's first ``warmup`` calls set ``calls``."""
        made = 0

        def seconds() -> float:
            nonlocal calls, made
            taken = _seconds(lambda: model(batch), device, calls if batch is single else 1)
            made += 1
            if batch is single and made <= warmup:
                calls = max(calls, min(1000, int(min_seconds / max(taken, 1e-9)) + 1))
            return taken
        return seconds

    with torch.inference_mode():
        timed = interleaved({(key, name): timer(model, batch) for key, batch in batches.items()
                             for name, model in models.items()}, rounds, warmup)
        samples = {name: {key: [seconds * 1e3 / len(batch) for seconds in timed[(key, name)]]
                          for key, batch in batches.items()} for name in models}
        memory, kind = {}, ""
        for name, model in models.items():
            with peak_memory(device) as peak:
                model(large)
            memory[name], kind = peak.mib, peak.kind
    return SideBySide(samples, memory, kind, f"{device.type}: {device_name(device)}", large_batch, calls)
