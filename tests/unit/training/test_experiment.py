"""The experiment object: typed settings, copies with overrides, the run of a fold, and the one Trainer mapping."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest
from fraud_support import PREQUENTIAL
from gatelab.errors import ConfigError
from gatelab.settings import SearchParam, SweepConfig, TrainerConfig
from gatelab.training.experiment import load_experiment
from gatelab.training.folds import fold_runs
from gatelab.training.train import lightning_trainer

FOLDS = PREQUENTIAL


def test_the_settings_are_typed_and_the_object_frozen() -> None:
    experiment = load_experiment("fraud", overrides={"sweep.trials": 3, "optim.lr": 0.01})
    assert isinstance(experiment.sweep, SweepConfig) and experiment.sweep.trials == 3
    assert isinstance(experiment.trainer, TrainerConfig) and experiment.optim.lr == 0.01
    assert experiment.search_space and all(isinstance(param, SearchParam) for param in experiment.search_space)
    assert experiment.task == "fraud" and experiment.seed == 0
    with pytest.raises(FrozenInstanceError):
        experiment.config = experiment.config  # type: ignore[misc]  # the point: it cannot be set


def test_overrides_make_a_validated_copy_and_leave_the_original_alone() -> None:
    experiment = load_experiment("fraud")
    changed = experiment.with_overrides({"optim.lr": 0.05, "model.cell": "gru"})
    assert (changed.optim.lr, changed.model.cell) == (0.05, "gru")
    assert experiment.optim.lr != 0.05 and changed.parser is experiment.parser
    assert changed.run().optim.lr == 0.05
    with pytest.raises(ConfigError, match="optim.lr"):
        experiment.with_overrides({"optim.lr": -1.0})
    with pytest.raises(ConfigError, match="optim.rate"):
        experiment.with_overrides({"optim.rate": 0.1})
    with pytest.raises(ConfigError, match="sweep.max_seeds"):  # settings.SeedCount: at least 2
        experiment.with_overrides({"sweep.max_seeds": 1})


def test_a_run_of_a_fold_picks_that_fold(tmp_path: Path) -> None:
    config = tmp_path / "folds.yaml"
    config.write_text(FOLDS)
    experiment = load_experiment("fraud", [config])
    data = experiment.run(1, test_folds=True).data
    assert (data.fold, data.test_folds) == (1, True)
    assert data.time_split == data.split.fold(1, test=True) != experiment.run().data.time_split
    assert [run.data.fold for run in fold_runs(experiment, test=False)] == [0, 1]
    assert [run.data.test_folds for run in fold_runs(experiment, test=True)] == [True, True]


def test_a_saved_experiment_reads_back_alike(tmp_path: Path) -> None:
    experiment = load_experiment("fraud", overrides={"optim.lr": 0.02})
    saved = tmp_path / "saved.yaml"
    saved.write_text(experiment.dump())
    again = load_experiment("fraud", [saved])
    assert again.dump() == experiment.dump() and again.settings(("config",)) == experiment.settings(("config",))


def test_the_trainer_settings_map_to_lightning_in_one_place() -> None:
    settings = TrainerConfig(max_epochs=3, gradient_clip_val=0.0, accelerator="cpu", limit_train_batches=5,
                             limit_eval_batches=2)
    trainer = lightning_trainer(settings)
    assert trainer.max_epochs == 3 and trainer.gradient_clip_val is None  # 0 turns clipping off
    assert (trainer.limit_train_batches, trainer.limit_val_batches, trainer.limit_test_batches) == (5, 2, 2)
    assert trainer.num_sanity_val_steps == 0 and trainer.num_devices == 1 and trainer.logger is None
    assert lightning_trainer(settings, limit_val_batches=0).limit_val_batches == 0
    assert lightning_trainer(TrainerConfig(gradient_clip_val=0.5)).gradient_clip_val == 0.5
