"""Fold-aware selection with real tiny training: a trial is worth the mean of its validation folds, a selection
seed is tested on every test fold (prequential fraud folds on small simulated data)."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from gatelab.pipeline import Sweep
from gatelab.selection import retrain, selection_seeds
from gatelab.training.config import build_parser, load_config
from gatelab.training.folds import FOLD_STD

FOLDS = """
data:
  init_args:
    source:
      class_path: tasks.fraud.SimulatedSource
      init_args: {n_customers: 200, n_terminals: 400, n_days: 44, seed: 1}
    split:
      class_path: tasks.fraud.PrequentialSplit
      init_args: {warmup_days: 14, train_days: 5, delay_days: 3, val_days: 4, test_days: 4, folds: 2}
    history: 4
    top_k: 10
trainer: {max_epochs: 1}
sweep: {cells: [lstm], trials: 1, startup_trials: 1, pruner_startup_trials: 1}
search_space:
  - {name: model.hidden_size, type: int, low: 4, high: 8}
"""


def test_a_trial_is_the_mean_of_its_folds_and_a_seed_is_tested_on_every_test_fold(tmp_path: Path) -> None:
    config = tmp_path / "folds.yaml"
    config.write_text(FOLDS)
    parser = build_parser()
    sweep = Sweep(parser, load_config("fraud", [config]), tmp_path / "mlruns", progress=False)
    sweep.run(seeds=0)
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
