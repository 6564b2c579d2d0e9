"""The physio and lm cases of ../shared/cases through the real `gatelab sweep`, on a tiny budget."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tasks.physio.database import read_record
from tasks.physio.preprocess import Preprocessing, cut_beats

pytestmark = pytest.mark.e2e

CASES = Path(__file__).parents[1] / "fixtures" / "cases"
PHYSIO = """
data:
  init_args:
    path: {path}
    cache_dir: {cache}
    split: {{train_records: [114, 200, 208, 232], val_records: [200], test_records: [210, 233]}}
    preprocess: {{downsample: 6, lowpass_hz: 25.0}}
sweep: {{trials: 1, startup_trials: 1, pruner_startup_trials: 1}}
search_space:
  - {{name: model.hidden_size, type: int, low: 4, high: 8}}
  - {{name: optim.lr, type: float, low: 0.003, high: 0.01, log: true}}
"""
LM = """
data:
  init_args:
    corpus:
      class_path: tasks.lm.TextFiles
      init_args: {{train: {folder}/train.txt, valid: {folder}/valid.txt, test: {folder}/test.txt, level: word}}
    batch_size: 4
    bptt: 10
    eval_batch_size: 2
trainer: {{limit_train_batches: 10}}
sweep: {{trials: 1, startup_trials: 1, pruner_startup_trials: 1}}
search_space:
  - {{name: model.hidden_size, type: int, low: 16, high: 32, log: true}}
  - {{name: optim.lr, type: float, low: 0.001, high: 0.01, log: true}}
"""


def sweep(tmp_path: Path, task: str, config: str) -> subprocess.CompletedProcess[str]:
    """`gatelab sweep` on ``config`` with 1 trial of 1 epoch per cell, the search alone; must exit 0."""
    path = tmp_path / f"{task}.yaml"
    path.write_text(config)
    command = [sys.executable, "-m", "gatelab.cli", "sweep", "--task", task, "--config", str(path), "--trials", "1",
               "--epochs", "1", "--seeds", "0", "--store", str(tmp_path / "mlruns"), "--progress", "false"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "search done" in result.stdout and "Traceback" not in result.stderr
    return result


def cached_notes(cache: Path) -> dict[str, np.ndarray]:
    (path,) = cache.glob("beats-*.npz")
    with np.load(path) as arrays:
        return {name: arrays[name] for name in arrays.files}


def test_physio_record_without_sample_count(tmp_path: Path) -> None:
    sweep(tmp_path, "physio", PHYSIO.format(path=CASES / "physio_no_siglen", cache=tmp_path / "cache"))
    arrays = cached_notes(tmp_path / "cache")
    # record 233 (no sample count in its header) gave all the beats the unaltered record gives
    cfg = Preprocessing(downsample=6, lowpass_hz=25.0)
    unaltered, _ = cut_beats(read_record(CASES.parent / "mitdb", "233", cfg.leads), cfg)
    assert np.array_equal(arrays["sample"][arrays["record"] == 233], unaltered.sample)


def test_physio_invalid_samples(tmp_path: Path) -> None:
    result = sweep(tmp_path, "physio", PHYSIO.format(path=CASES / "physio_invalid_samples", cache=tmp_path / "cache"))
    assert "gatelab: data: dropped_beats_invalid: 5\n" in result.stderr  # said once, for the whole sweep
    assert result.stderr.count("gatelab: data: invalid_by_record:") == 1
    arrays = cached_notes(tmp_path / "cache")
    dropped = dict(zip(arrays["notes.record"].tolist(), arrays["notes.dropped_invalid"].tolist()))
    assert dropped == {114: 0, 200: 0, 208: 0, 210: 5, 232: 0, 233: 0}
    assert np.isfinite(arrays["wave"]).all()


def test_lm_unicode_separators(tmp_path: Path) -> None:
    result = sweep(tmp_path, "lm", LM.format(folder=CASES / "lm_unicode_separators"))
    assert "gatelab: data: train_lines: 300\n" in result.stderr and "gatelab: data: test_lines: 60\n" in result.stderr
