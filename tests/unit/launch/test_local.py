"""Local launch: each worker's GPUs or CPU share, real worker processes started with them, and a worker that
exits with its launcher."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gatelab.launch.local import LAUNCHER_ENV, LocalLaunch, gpu_ids

ROOT = Path(__file__).resolve().parents[3]


def test_workers_get_their_own_gpus_round_robin_or_a_share_of_the_cpu_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    assert gpu_ids() == ["3", "5"]
    assert [env["CUDA_VISIBLE_DEVICES"] for env in LocalLaunch(workers=3).environments()] == ["3", "5", "3"]
    assert [env["CUDA_VISIBLE_DEVICES"] for env in LocalLaunch(workers=2, devices=2).environments()] == ["3,5", "3,5"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2")
    assert [env["CUDA_VISIBLE_DEVICES"] for env in LocalLaunch(4, devices=2).environments()] == \
        ["0,1", "2,0", "1,2", "0,1"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert gpu_ids() == []
    cores = len(os.sched_getaffinity(0))
    environments = LocalLaunch(workers=2).environments()
    assert all(env == {"CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": str(max(1, cores // 2))} for env in environments)


def test_start_runs_each_worker_with_its_environment_and_keeps_its_exit_code(
        monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    """Real processes: each prints what it was given and exits with a code of its own."""
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    program = ("import os, sys; print(sys.argv[1], os.environ['OMP_NUM_THREADS'], os.environ['GATELAB_STORAGE'], "
               f"os.environ['{LAUNCHER_ENV}'], flush=True); sys.exit(int(sys.argv[1]))")
    threads = []

    def command(share: int | None) -> list[str]:
        threads.append(share)
        return [sys.executable, "-c", program, str(len(threads) + 2)]

    processes = LocalLaunch(2).start(command, {"GATELAB_STORAGE": "journal.log"})
    assert [process.wait(timeout=30) for process in processes] == [3, 4]
    share = max(1, len(os.sched_getaffinity(0)) // 2)
    assert threads == [share, share]
    assert sorted(capfd.readouterr().out.splitlines()) == [f"{code} {share} journal.log {os.getpid()}"
                                                           for code in (3, 4)]


BOUND_WORKER = ("from gatelab.launch.local import die_with_launcher; die_with_launcher(); print('bound', flush=True); "
                "import time; time.sleep(120)")


def test_a_worker_whose_launcher_is_gone_exits_1_at_once() -> None:
    """``LAUNCHER_ENV`` names a process that is not the worker's parent: the launcher died before the worker bound
    itself to it."""
    done = subprocess.run([sys.executable, "-c", BOUND_WORKER], env=os.environ | {LAUNCHER_ENV: "1"},
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert (done.returncode, done.stdout) == (1, "")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_a_worker_dies_with_its_launcher_even_on_sigkill() -> None:
    launcher = ("import os, subprocess, sys, time\n"
                f"child = subprocess.Popen([sys.executable, '-c', {BOUND_WORKER!r}], "
                f"env=os.environ | {{'{LAUNCHER_ENV}': str(os.getpid())}})\n"
                "print(child.pid, flush=True)\ntime.sleep(120)\n")
    process = subprocess.Popen([sys.executable, "-c", launcher], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert process.stdout is not None
    worker = int(process.stdout.readline())
    assert process.stdout.readline() == "bound\n"  # the worker bound itself to the launcher
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    for _ in range(300):  # the kernel signals the worker at once; wait until it is gone (or a zombie)
        if not _alive(worker):
            break
        time.sleep(0.1)
    assert not _alive(worker)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped by its new parent, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
