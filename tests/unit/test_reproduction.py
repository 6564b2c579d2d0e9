"""The reproduction mode with real tiny training: ``gatelab train`` with ``reproduce.seeds`` trains every test fold with
every seed (one child run each, under one parent run) and reports the mean over seeds of each seed's fold mean, its
interval and the fold spread, beside the published row."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest
from fraud_support import PREQUENTIAL
from gatelab.cli import train_command
from gatelab.errors import ConfigError
from gatelab.reproduction import reproduce
from gatelab.stats import bounded_interval
from gatelab.tracking import tags as tag
from gatelab.tracking.client import Tracker
from gatelab.training.experiment import load_experiment

TINY = PREQUENTIAL + """    history: 3
    top_k: 5
    imbalance: none
    inputs: {sequences: split, padding: mean, presence_flag: false, time_since_previous: false, scaling: standard}
model: {hidden_size: 6, head_hidden_size: 8}
trainer: {max_epochs: 1, weights: last, gradient_clip_val: 0.0}
reproduce:
  seeds: 2
  metric: test/auprc
  published: {test/auprc: 0.5, test/auroc: 0.9}
  published_std: {test/auprc: 0.05}
  tolerance: 0.02
  source: a made-up row
"""


def test_train_reproduces_over_folds_and_seeds_and_reports_the_aggregate(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY)
    train_command(task="fraud", config=str(config), store=tmp_path / "mlruns")
    printed = capsys.readouterr().out

    tracker = Tracker(tmp_path / "mlruns", "fraud")
    (parent,) = [run for run in tracker.client.search_runs([tracker.experiment_id])
                 if run.data.tags.get(tag.ROLE) == tag.ROLE_REPRODUCTION and tag.PARENT not in run.data.tags]
    children = tracker.children(parent.info.run_id)
    assert sorted((run.data.tags[tag.FOLD], run.data.tags[tag.SEED]) for run in children) == [
        ("0", "0"), ("0", "1"), ("1", "0"), ("1", "1")]  # 2 test folds x 2 seeds, each its own run
    assert all(run.info.status == "FINISHED" for run in [parent, *children])
    auprc = {(run.data.tags[tag.SEED], run.data.tags[tag.FOLD]): run.data.metrics["test/auprc"] for run in children}
    assert auprc[("0", "0")] != auprc[("0", "1")]  # the folds are different test weeks
    seed_means = [statistics.fmean([auprc[(seed, "0")], auprc[(seed, "1")]]) for seed in ("0", "1")]
    expected = bounded_interval(seed_means)
    metrics = parent.data.metrics
    assert metrics["test/auprc"] == pytest.approx(expected.mean)
    assert (metrics["test/auprc_low"], metrics["test/auprc_high"]) == pytest.approx((expected.low, expected.high))
    fold_std = statistics.fmean(statistics.stdev([auprc[(seed, "0")], auprc[(seed, "1")]]) for seed in ("0", "1"))
    assert metrics["fold_std/test/auprc"] == pytest.approx(fold_std)
    reproduced = abs(expected.mean - 0.5) <= 0.02 and expected.low <= 0.5 <= expected.high
    assert parent.data.tags[tag.REPRODUCED] == str(reproduced).lower()
    assert f"| test/auprc | {expected.mean:.3f} [{expected.low:.3f}, {expected.high:.3f}] | {fold_std:.3f} | " \
           "0.500 +- 0.050 |" in printed
    assert ("reproduced: " if reproduced else "not reproduced: ") in printed and "a made-up row" in printed


def test_the_book_configurations_validate_and_ask_for_five_seeds() -> None:
    for name, metric in (("book-lstm-ap", "test/auprc"), ("book-lstm-auc", "test/auroc")):
        cfg = load_experiment("fraud", ["handbook-prequential", name]).config
        assert cfg.reproduce.seeds == 5 and cfg.reproduce.metric == metric
        assert cfg.trainer.weights == "last" and cfg.data.init_args.imbalance == "none"
        assert cfg.model.head_hidden_size == 500 and cfg.data.init_args.history == 5


def test_one_seed_or_an_unpublished_metric_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY)
    tracker = Tracker(tmp_path / "mlruns", "fraud")
    with pytest.raises(ConfigError, match="reproduce.seeds: 1 seed gives no interval"):
        reproduce(load_experiment("fraud", [config], {"reproduce.seeds": 1}), tracker, progress=False)
    with pytest.raises(ConfigError, match="reproduce.metric: 'test/loss' has no published value"):
        reproduce(load_experiment("fraud", [config], {"reproduce.metric": "test/loss"}), tracker, progress=False)
    experiment = load_experiment("fraud", [config], {"reproduce.metric": "test/nope",
                                                     "reproduce.published": {"test/nope": 0.5},
                                                     "trainer.limit_train_batches": 1})
    with pytest.raises(ConfigError, match="reproduce.published: test/nope not a test metric of this task"):
        reproduce(experiment, tracker, progress=False)
    (parent,) = [run for run in tracker.client.search_runs([tracker.experiment_id]) if tag.PARENT not in run.data.tags]
    assert parent.info.status == "FAILED"  # nothing half-recorded as a success
