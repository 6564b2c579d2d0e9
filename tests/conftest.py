"""Shared test set-up: CPU only, tiny configs, the full-data switch."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

os.environ["CUDA_VISIBLE_DEVICES"] = ""
os.environ.pop("MLFLOW_TRACKING_URI", None)
os.environ.pop("GATELAB_CONFIGS", None)

FIXTURES = Path(__file__).parent / "fixtures"
E2E = Path(__file__).parent / "e2e"

TINY = """
data:
  init_args:
    source:
      class_path: tasks.fraud.SimulatedSource
      init_args: {{n_customers: 150, n_terminals: 300, n_days: 52, seed: 1}}
    split: {{warmup_days: 31, train_days: 7, delay_days: 7, val_days: 3, test_days: 3}}
    history: 4
    top_k: 10
trainer: {{max_epochs: {epochs}}}
sweep: {{trials: {trials}, startup_trials: 1, pruner_startup_trials: 1{sweep}}}
search_space:
  - {{name: model.hidden_size, type: int, low: 4, high: 8}}
  - {{name: optim.lr, type: float, low: 0.001, high: 0.01, log: true}}
"""


def copy_records(dest: Path, *records: str) -> Path:
    """Copy MIT-BIH fixture records (``.hea``, ``.dat``, ``.atr``) into ``dest`` (created); returns ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for record in records:
        for ext in ("hea", "dat", "atr"):
            shutil.copy(FIXTURES / "mitdb" / f"{record}.{ext}", dest / f"{record}.{ext}")
    return dest


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_group(process: subprocess.Popen, timeout: float = 60) -> None:
    """Stop a server started with ``start_new_session=True`` and every process of its group (its workers):
    SIGTERM, then SIGKILL if it has not ended within ``timeout`` seconds."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the `gatelab` command in this process (as its console script does); returns exit code, stdout, stderr."""
    from gatelab.cli import main

    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under ``tests/e2e/`` runs the real command line: mark it ``e2e`` (``pytest -m e2e`` selects them).
    The tests of the shared ``tiny_sweep`` go to one xdist worker (``--dist loadgroup``), so it is built once."""
    for item in items:
        if E2E in item.path.parents:
            item.add_marker(pytest.mark.e2e)
        if "tiny_sweep" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("tiny_sweep"))


def data_root() -> Path:
    """The full data sets' folder from GATELAB_DATA; skips the test, saying why, when unset."""
    root = os.environ.get("GATELAB_DATA")
    if not root:
        pytest.skip("GATELAB_DATA is unset: set it to the data folder (CI uses ../shared/data) to run full-data tests")
    return Path(root)


@pytest.fixture
def tiny_config(tmp_path: Path):
    """Write a tiny fraud sweep config (small simulated data, small models) and return its path."""

    def write(trials: int = 2, epochs: int = 1, sweep: str = "") -> Path:
        """``sweep``: more settings of the sweep mapping, e.g. ``prune: false``."""
        path = tmp_path / f"tiny-{trials}-{epochs}-{len(list(tmp_path.glob('tiny-*')))}.yaml"
        path.write_text(TINY.format(trials=trials, epochs=epochs, sweep=f", {sweep}" if sweep else ""))
        return path

    return write


@pytest.fixture(scope="session")
def tiny_sweep(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """One tiny finished sweep with its selection (2 seeds) and report, shared by the report and UI tests.

    Returns the store and the finished `gatelab sweep` process (run in the store's parent folder).
    """
    folder = tmp_path_factory.mktemp("tiny-sweep")
    config = folder / "tiny.yaml"
    config.write_text(TINY.format(trials=2, epochs=2, sweep=""))
    command = [sys.executable, "-m", "gatelab.cli", "sweep", "--task", "fraud", "--config", str(config),
               "--store", str(folder / "mlruns"), "--seeds", "2", "--progress", "false"]
    result = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return folder / "mlruns", result
