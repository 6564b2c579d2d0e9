"""One trial on two CPU processes (Lightning DDP over gloo), with Optuna's pruning working across them."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from gatelab.training.experiment import load_experiment
from gatelab.training.train import train
from optuna_integration import PyTorchLightningPruningCallback
from workers_support import fresh_database


def ddp_run(config: Path):
    cfg = load_experiment("fraud", [str(config)], {"trainer.devices": 2, "trainer.accelerator": "cpu"})
    return cfg.run()


def test_ddp_trial_reports_every_epoch_and_is_pruned_across_both_processes(tiny_config) -> None:
    run = ddp_run(tiny_config(epochs=3))
    with fresh_database() as url:
        storage = optuna.storages.RDBStorage(url)
        kept = optuna.create_study(storage=storage, direction="maximize", pruner=optuna.pruners.NopPruner())
        trial = kept.ask()
        metrics = train(run, pruning=PyTorchLightningPruningCallback(trial, monitor="val/auprc"), test=False)
        assert metrics["epochs"] == 3 and 0 <= metrics["best_val/auprc"] <= 1
        assert not any(key.startswith("test/") for key in metrics), "a trial scored the test split"
        reported = kept.trials[0].system_attrs["ddp_pl:intermediate_value"]
        assert sorted(map(int, reported)) == [0, 1, 2]

        # A pruner that prunes every trial at its first epoch: both processes stop, the caller sees TrialPruned.
        doomed = optuna.create_study(storage=storage, direction="maximize",
                                     pruner=optuna.pruners.ThresholdPruner(lower=2.0))
        trial = doomed.ask()
        with pytest.raises(optuna.TrialPruned, match="epoch 0"):
            train(run, pruning=PyTorchLightningPruningCallback(trial, monitor="val/auprc"), test=False)
        attrs = doomed.trials[0].system_attrs
        assert attrs["ddp_pl:pruned"] is True and list(attrs["ddp_pl:intermediate_value"]) == ["0"]
