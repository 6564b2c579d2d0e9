"""Local launch: several ``gatelab worker`` processes on this machine, sharing one sweep's studies.

With GPUs, each worker sees its own (``CUDA_VISIBLE_DEVICES``, round-robin when workers outnumber
them, ``devices`` of them per worker for DDP); without, the CPU cores are split between workers
and each sets its torch thread count to its share. The launching process shows the overall
progress and, once every worker has ended, writes the verdict (``Sweep.run``).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gatelab.errors import GatelabError
from gatelab.launch.commands import sweep_command, write_sweep_config

if TYPE_CHECKING:
    from gatelab.pipeline import OpenSweep
# torch and the search layer are imported where they are used: a worker calls die_with_launcher() first, before
# the seconds those imports take.

__all__ = ["LocalLaunch", "die_with_launcher", "gpu_ids"]

#: Set in each worker's environment: the pid of the process that launched it.
LAUNCHER_ENV = "GATELAB_LAUNCHER_PID"
_PR_SET_PDEATHSIG = 1


def gpu_ids() -> list[str]:
    """The GPUs this process may use: ``CUDA_VISIBLE_DEVICES`` if set, else all that torch sees."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [gpu for gpu in visible.split(",") if gpu.strip()]
    import torch

    return [str(index) for index in range(torch.cuda.device_count())]


def die_with_launcher() -> None:
    """In a worker a launcher started: exit with it, even when it is killed with SIGKILL (Linux)."""
    launcher = os.environ.get(LAUNCHER_ENV)
    if not launcher or not sys.platform.startswith("linux"):
        return
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != int(launcher):  # the launcher died before the line above took effect
        os._exit(1)


@dataclass
class LocalLaunch:
    """Runs ``workers`` worker processes for a sweep and waits for all of them.

    Args:
        workers: the number of worker processes.
        devices: devices per trial (GPUs per worker when there are GPUs).
        poll: seconds between progress updates.
    """

    workers: int
    devices: int = 1
    poll: float = 2.0

    def environments(self) -> list[dict[str, str]]:
        """Each worker's environment changes: its GPUs, or its share of the CPU cores."""
        gpus = gpu_ids()
        if gpus:
            return [{"CUDA_VISIBLE_DEVICES": ",".join(gpus[(index * self.devices + offset) % len(gpus)]
                                                      for offset in range(self.devices))}
                    for index in range(self.workers)]
        threads = max(1, len(os.sched_getaffinity(0)) // (self.workers * self.devices))
        return [{"CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": str(threads)}] * self.workers

    def start(self, command: Callable[[int | None], list[str]],
              extra_env: dict[str, str] | None = None) -> list[subprocess.Popen[bytes]]:
        """Start the workers: ``command(threads)`` each (``threads``: its share of the CPU cores, None with GPUs),
        in this environment with its ``environments()`` changes, ``extra_env`` and ``LAUNCHER_ENV`` (this pid)."""
        processes = []
        for changes in self.environments():
            env = os.environ | changes | (extra_env or {}) | {LAUNCHER_ENV: str(os.getpid())}
            threads = int(changes["OMP_NUM_THREADS"]) if "OMP_NUM_THREADS" in changes else None
            processes.append(subprocess.Popen(command(threads), env=env))
        return processes

    def __call__(self, opened: OpenSweep) -> None:
        from gatelab.search.storage import STORAGE_ENV
        from gatelab.search.studies import budget_status

        sweep = opened.sweep
        config = write_sweep_config(sweep)
        processes = self.start(lambda threads: sweep_command(sweep, config, "worker", threads),
                               {STORAGE_ENV: sweep.storage} if sweep.storage else None)
        bar = opened.progress_bar()
        try:
            while any(process.poll() is None for process in processes):
                time.sleep(self.poll)
                opened.show_progress(bar)
        finally:
            for process in processes:
                process.wait()
            bar.close()
        status = budget_status(opened.studies)
        if any(finished < sweep.budget for finished, _ in status.values()):
            codes = ", ".join(str(process.returncode) for process in processes)
            raise GatelabError(f"the workers ended (exit codes {codes}) before the budget was met "
                               f"({', '.join(f'{cell}: {n[0]}/{sweep.budget}' for cell, n in status.items())}); "
                               "see their messages above, then run the same command again to resume.")
