"""`gatelab ui` serves the MLflow UI over the local store and links each experiment's runs table."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from conftest import free_port, stop_group
from gatelab.tracking.client import Tracker


def test_ui_serves_the_store_and_prints_the_runs_link(tmp_path: Path) -> None:
    store = tmp_path / "mlruns"
    experiment = Tracker(store, "fraud").experiment_id
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "gatelab.cli", "ui", "--port", str(port), "--store", str(store)],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        header = [process.stdout.readline() for _ in range(2)]
        assert f"runs of task 'fraud': http://127.0.0.1:{port}/#/experiments/{experiment}/runs" in header[1]
        deadline, health = time.monotonic() + 90, None
        while health is None and time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                    health = response.read().decode()
            except OSError:
                time.sleep(0.5)
        assert health == "OK"
    finally:  # the server and its job consumers share the command's process group
        stop_group(process)
