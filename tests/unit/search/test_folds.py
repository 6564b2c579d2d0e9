"""Fold-aware selection with real tiny training: a trial is worth the mean of its validation folds, a selection
seed is tested on every test fold (prequential fraud folds on small simulated data)."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest
from fraud_support import PREQUENTIAL
from gatelab.pipeline import Sweep
from gatelab.selection import retrain, selection_seeds
from gatelab.training.experiment import load_experiment
from gatelab.training.folds import FOLD_STD

FOLDS = PREQUENTIAL + """    history: 4
    top_k: 10
trainer: {max_epochs: 1}
sweep: {cells: [lstm], trials: 1, startup_trials: 1, pruner_startup_trials: 1}
search_space:
  - {name: model.hidden_size, type: int, low: 4, high: 8}
"""


def test_a_trial_is_the_mean_of_its_folds_and_a_seed_is_tested_on_every_test_fold(tmp_path: Path) -> None:
    config = tmp_path / "folds.yaml"
    config.write_text(FOLDS)
    sweep = Sweep(load_experiment("fraud", [config]), tmp_path / "mlruns", progress=False).open()
    sweep.work()
    (trial,) = sweep.studies["lstm"].trials
    run = sweep.tracker.client.get_run(trial.user_attrs["mlflow_run_id"]).data.metrics
    folds = [run["fold0/best_val/auprc"], run["fold1/best_val/auprc"]]
    assert folds[0] != folds[1]  # two different validation folds were trained and scored
    assert trial.value == pytest.approx(statistics.fmean(folds)) == pytest.approx(run["best_val/auprc"])
    assert run[f"{FOLD_STD}best_val/auprc"] == pytest.approx(statistics.stdev(folds))
    assert "fold1/val/auprc" in run and "val/auprc" in run  # each fold's epochs; fold 0's under the plain names
    assert not any(key.startswith(("test/", "fold0/test/")) for key in run)  # a trial never scores a test split

    (seed_run,) = retrain(sweep.context, "lstm", trial, selection_seeds(0, 2)[:1])
    metrics = seed_run.metrics
    for name in ("test/auprc", "test/auroc", "test/card_precision_at_10"):
        tested = [metrics[f"fold{fold}/{name}"] for fold in range(2)]
        assert metrics[name] == pytest.approx(statistics.fmean(tested))
        assert metrics[FOLD_STD + name] == pytest.approx(statistics.stdev(tested))
    stored = sweep.tracker.client.get_run(seed_run.run_id).data.metrics
    assert stored["test/auprc"] == pytest.approx(metrics["test/auprc"])
    assert "fold1/test/auprc" in stored


def test_record_folds_select_by_their_mean_and_a_seed_scores_the_one_test_split_once(tmp_path: Path) -> None:
    """Inter-patient ECG folds (``test_per_fold`` false): a trial is the mean over the folds, a seed trains fold 0."""
    mitdb = Path(__file__).resolve().parents[2] / "fixtures" / "mitdb"
    config = tmp_path / "ecg.yaml"
    config.write_text(f"""
data:
  init_args:
    path: {mitdb}
    cache_dir: {tmp_path / "cache"}
    split: {{train_records: [114, 200, 208, 210, 232], val_folds: [[200], [114, 210]], test_records: [233]}}
    preprocess: {{downsample: 6, lowpass_hz: 25.0}}
    context_beats: 1
trainer: {{max_epochs: 1}}
sweep: {{cells: [gru], trials: 1, startup_trials: 1, pruner_startup_trials: 1}}
search_space:
  - {{name: model.hidden_size, type: int, low: 4, high: 8}}
""")
    sweep = Sweep(load_experiment("physio", [config]), tmp_path / "mlruns", progress=False).open()
    sweep.work()
    (trial,) = sweep.studies["gru"].trials
    run = sweep.tracker.client.get_run(trial.user_attrs["mlflow_run_id"]).data.metrics
    folds = [run["fold0/best_val/macro_f1"], run["fold1/best_val/macro_f1"]]
    assert trial.value == pytest.approx(statistics.fmean(folds))

    (seed_run,) = retrain(sweep.context, "gru", trial, selection_seeds(0, 2)[:1])
    assert "test/macro_f1" in seed_run.metrics
    assert not any(key.startswith(("fold1/", FOLD_STD)) for key in seed_run.metrics)  # fold 0 once, DS2 scored once
