"""Truncated backpropagation through time, metrics, schedules and checkpoints of the language-modelling module."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import pytest
import torch
from conftest import FIXTURES
from gatelab.errors import ConfigError, DataError
from gatelab.models import ModelConfig
from gatelab.settings import OptimConfig

from tasks.lm import LanguageModelDataModule, LanguageModule, LRSchedule, PennTreebank, TinyShakespeare
from tasks.lm.corpus import Corpus
from tasks.lm.metrics import BitsPerCharacter, Perplexity

SHAKESPEARE = TinyShakespeare(path=str(FIXTURES / "tinyshakespeare_head.txt"))
SYNTHETIC_PTB = PennTreebank(root=str(FIXTURES / "ptb_synthetic"))


def lm_data(corpus: Corpus = SHAKESPEARE, **kwargs: Any) -> LanguageModelDataModule:
    """A set-up DataModule over a fixture, small batches unless told otherwise."""
    data = LanguageModelDataModule(corpus, **{"batch_size": 4, "bptt": 8, "eval_batch_size": 2, **kwargs})
    data.setup("fit")
    return data


def trainer(epochs: int = 1, callbacks: Sequence[pl.Callback] = (), **kwargs: Any) -> pl.Trainer:
    """A quiet CPU trainer without logger or checkpoints."""
    return pl.Trainer(max_epochs=epochs, accelerator="cpu", logger=False, enable_checkpointing=False,
                      enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                      callbacks=list(callbacks), **kwargs)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_state_is_carried_across_windows_and_detached_every_step(cell: str) -> None:
    data = lm_data()
    module = data.make_module(ModelConfig(cell=cell, hidden_size=16, num_layers=2), OptimConfig())
    batches = [data.windows("train", 4)[i] for i in range(3)]
    losses = []
    for batch in batches:
        loss = module._step(batch, "train")
        loss.backward()  # a state still attached to the previous window's graph would fail here
        losses.append(loss)
        for tensor in (module.states["train"] if cell == "lstm" else (module.states["train"],)):
            assert tensor.grad_fn is None and not tensor.requires_grad
    whole = torch.cat([batch["x"] for batch in batches], dim=1)
    with torch.no_grad():
        _, expected = module.net(whole)
    carried = module.states["train"]
    for got, want in zip(carried if cell == "lstm" else (carried,), expected if cell == "lstm" else (expected,)):
        torch.testing.assert_close(got, want)  # three windows with carried state = one pass over all steps


class StateProbe(pl.Callback):
    """Records whether the module's state is empty when each batch starts."""

    def __init__(self) -> None:
        self.train: list[tuple[int, int, bool]] = []
        self.val: list[tuple[int, bool]] = []

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: LanguageModule, batch: Any, batch_idx: int) -> None:
        self.train.append((trainer.current_epoch, batch_idx, pl_module.states["train"] is None))

    def on_validation_batch_start(self, trainer: pl.Trainer, pl_module: LanguageModule, batch: Any, batch_idx: int,
                                  dataloader_idx: int = 0) -> None:
        self.val.append((batch_idx, pl_module.states["val"] is None))


def test_state_is_reset_at_each_epoch_and_each_evaluation() -> None:
    data = lm_data()
    module = data.make_module(ModelConfig(hidden_size=8), OptimConfig())
    probe = StateProbe()
    trainer(2, [probe], limit_train_batches=3, limit_val_batches=2).fit(module, datamodule=data)
    assert probe.train == [(0, 0, True), (0, 1, False), (0, 2, False), (1, 0, True), (1, 1, False), (1, 2, False)]
    assert probe.val == [(0, True), (1, False), (0, True), (1, False)]


@pytest.mark.parametrize(("corpus", "metric"), [(SYNTHETIC_PTB, "ppl"), (SHAKESPEARE, "bpc")])
def test_a_uniform_model_scores_the_vocabulary_size(corpus: Corpus, metric: str) -> None:
    data = lm_data(corpus)
    module = data.make_module(ModelConfig(hidden_size=8), OptimConfig())
    with torch.no_grad():
        module.net.decoder.weight.zero_()
        module.net.decoder.bias.zero_()
    (result,) = trainer().test(module, datamodule=data, verbose=False)
    size = len(data.vocabulary)
    expected = size if metric == "ppl" else math.log2(size)
    assert result[f"test/{metric}"] == pytest.approx(expected, rel=1e-5)
    assert result["test/loss"] == pytest.approx(math.log(size), rel=1e-5)


def test_token_metrics_weight_batches_by_their_token_counts() -> None:
    perplexity, bits = Perplexity(), BitsPerCharacter()
    for metric in (perplexity, bits):
        metric.update(torch.tensor(30.0), 10)  # mean 3 nats over 10 tokens
        metric.update(torch.tensor(2.0), 2)  # mean 1 nat over 2 tokens
    assert perplexity.compute().item() == pytest.approx(math.exp(32 / 12))  # not exp(mean of 3 and 1)
    assert bits.compute().item() == pytest.approx(32 / 12 / math.log(2))


def test_validation_loss_and_perplexity_agree_over_unequal_windows() -> None:
    data = lm_data(SYNTHETIC_PTB, bptt=7)
    assert data.windows("valid", 2)[len(data.windows("valid", 2)) - 1]["x"].shape[1] < 7
    module = data.make_module(ModelConfig(hidden_size=8), OptimConfig())
    (result,) = trainer().validate(module, datamodule=data, verbose=False)
    assert result["val/ppl"] == pytest.approx(math.exp(result["val/loss"]), rel=1e-5)


class LearningRates(pl.Callback):
    """Records the learning rate at each epoch's start."""

    def __init__(self) -> None:
        self.rates: list[float] = []

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.rates.append(trainer.optimizers[0].param_groups[0]["lr"])


def test_zaremba_step_schedule_halves_after_epoch_four() -> None:
    schedule = LRSchedule(kind="step", factor=0.5, after=4, every=1)
    assert [0.5 ** schedule.decays(epoch) for epoch in range(7)] == [1, 1, 1, 1, 0.5, 0.25, 0.125]
    classic = LRSchedule(kind="step", factor=0.1, after=3, every=3)
    assert [classic.decays(epoch) for epoch in range(8)] == [0, 0, 0, 1, 1, 1, 2, 2]


@pytest.mark.parametrize(("schedule", "expected"), [
    (LRSchedule(kind="step", factor=0.5, after=1, every=1), [1.0, 0.5, 0.25]),
    (LRSchedule(kind="none"), [1.0, 1.0, 1.0]),
])
def test_schedules_set_the_rate_of_each_epoch(schedule: LRSchedule, expected: list[float]) -> None:
    data = lm_data(lr_schedule=schedule)
    module = data.make_module(ModelConfig(hidden_size=8), OptimConfig(name="sgd", lr=1.0))
    rates = LearningRates()
    trainer(3, [rates], limit_train_batches=2, limit_val_batches=1).fit(module, datamodule=data)
    assert rates.rates == expected


def test_plateau_schedule_divides_when_validation_does_not_improve() -> None:
    data = lm_data(lr_schedule=LRSchedule(kind="plateau", factor=0.25))
    module = data.make_module(ModelConfig(hidden_size=8), OptimConfig(name="sgd", lr=1e-9))
    rates = LearningRates()  # a rate this small leaves the validation loss as it is: no improvement after epoch 1
    trainer(4, [rates], limit_train_batches=2, limit_val_batches=2).fit(module, datamodule=data)
    assert rates.rates == pytest.approx([1e-9, 1e-9, 1e-9 / 4, 1e-9 / 16], rel=1e-6)


def test_tied_weights_share_one_matrix_and_need_equal_sizes() -> None:
    data = lm_data(tie_weights=True)
    module = data.make_module(ModelConfig(hidden_size=12), OptimConfig())
    assert module.net.decoder.weight is module.net.embedding.weight
    with pytest.raises(ConfigError, match="tie_weights.*embedding_size \\(8\\) = model.hidden_size \\(12\\)"):
        lm_data(tie_weights=True, embedding_size=8).make_module(ModelConfig(hidden_size=12), OptimConfig())


def test_uniform_init_covers_every_parameter() -> None:
    module = lm_data(init_range=0.1).make_module(ModelConfig(hidden_size=8, num_layers=2), OptimConfig())
    for name, parameter in module.named_parameters():
        assert parameter.abs().max() <= 0.1 and parameter.std() > 0.01, name


def test_checkpoint_from_another_vocabulary_is_refused(tmp_path: Path) -> None:
    words = lm_data(SYNTHETIC_PTB)
    module = words.make_module(ModelConfig(hidden_size=8), OptimConfig())
    fitted = trainer(1, limit_train_batches=1, limit_val_batches=1)
    fitted.fit(module, datamodule=words)
    checkpoint = tmp_path / "words.ckpt"
    fitted.save_checkpoint(checkpoint)
    (same,) = trainer().test(words.make_module(ModelConfig(hidden_size=8), OptimConfig()), datamodule=words,
                             ckpt_path=checkpoint, verbose=False)
    assert "test/ppl" in same
    chars = lm_data(SHAKESPEARE)
    other = chars.make_module(ModelConfig(hidden_size=8), OptimConfig())
    with pytest.raises(DataError, match=r"words\.ckpt.*vocabulary \(\d+ tokens\) does not match the data's"):
        trainer().test(other, datamodule=chars, ckpt_path=checkpoint, verbose=False)
