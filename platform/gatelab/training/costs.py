"""Measured costs of a trained model: parameters, inference latency, throughput and peak memory.

Latencies are medians of repeated timed runs after warm-up runs, on the device the model was
trained on. Peak memory is the GPU's peak allocation on a GPU, and the process's peak resident
set (Linux ``VmHWM``, reset before each measurement) on a CPU: there it includes the interpreter,
the libraries and the data, so it compares cells run by the same process, not absolute footprints.
"""

from __future__ import annotations

import os
import re
import resource
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

__all__ = ["COST_KEYS", "LARGE_BATCH", "PeakMemory", "device_name", "inference_costs", "peak_memory"]

#: The "large" batch of the latency and throughput measurement.
LARGE_BATCH = 1024
#: Every cost a selection run measures: from training (``train()``), ``peak_memory`` and ``inference_costs``.
COST_KEYS = ("params", "seconds_per_epoch", "seconds_to_best_epoch", "latency_ms_batch1",
             f"latency_ms_batch{LARGE_BATCH}", "throughput_per_s", "peak_train_memory_mib", "peak_inference_memory_mib")
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


def _median_seconds(run: Callable[[], object], device: torch.device, warmup: int, repeats: int) -> float:
    """The median wall time of ``run()`` over ``repeats`` calls, after ``warmup`` untimed calls."""
    times = []
    for index in range(warmup + repeats):
        start = time.perf_counter()
        run()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if index >= warmup:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def inference_costs(model: nn.Module, sequences: Tensor, device: torch.device, large_batch: int = LARGE_BATCH,
                    warmup: int = 2, repeats: int = 9) -> dict[str, float]:
    """Latency per sequence at batch 1 and at ``large_batch``, throughput, and peak inference memory.

    Args:
        model: the trained model; its ``forward`` takes a batch of sequences.
        sequences: real input sequences (batch, time, features); rows are reused to fill the large batch.
        device: where to run (the device the model trained on).
        large_batch: sequences in the large batch.
        warmup: untimed runs before timing.
        repeats: timed runs; the median is reported.

    Returns:
        ``latency_ms_batch1`` and ``latency_ms_batch{N}`` (milliseconds per sequence), ``throughput_per_s``
        (sequences per second at the large batch) and ``peak_inference_memory_mib``.
    """
    model = model.to(device).eval()
    single = sequences[:1].to(device)
    large = sequences[torch.arange(large_batch) % len(sequences)].to(device)
    with torch.inference_mode():
        batch1 = _median_seconds(lambda: model(single), device, warmup, repeats)
        with peak_memory(device) as peak:
            batch_large = _median_seconds(lambda: model(large), device, warmup, repeats)
    return {
        "latency_ms_batch1": batch1 * 1e3,
        f"latency_ms_batch{large_batch}": batch_large / large_batch * 1e3,
        "throughput_per_s": large_batch / batch_large,
        "peak_inference_memory_mib": peak.mib,
    }
