"""The delayed-recall task: shapes, the seed, the splits, where the label lives, bad settings, one short run."""

from __future__ import annotations

import pytest
import torch
from gatelab.errors import ConfigError
from gatelab.training.experiment import load_experiment
from gatelab.training.train import train
from scipy import stats

from tasks.synthetic import RecallDataModule


def recall(**settings: int) -> RecallDataModule:
    data = RecallDataModule(**{"length": 12, "symbols": 4, "train_size": 400, "val_size": 100, "test_size": 100,
                               **settings})
    data.setup("fit")
    return data


def whole(data: RecallDataModule, split: str) -> dict[str, torch.Tensor]:
    """A split as one batch."""
    loader = {"train": data.train_dataloader, "val": data.val_dataloader, "test": data.test_dataloader}[split]()
    batches = list(loader)
    return {key: torch.cat([batch[key] for batch in batches]) for key in ("x", "y")}


def test_batches_are_one_hot_steps_with_the_query_last() -> None:
    data = recall(symbols=5, distractors=3, batch_size=16)
    assert data.input_size == 5 + 3 + 1 and data.output_size == 5
    batch = next(iter(data.train_dataloader()))
    assert batch["x"].shape == (16, 12, 9) and batch["x"].dtype == torch.float32
    assert batch["y"].shape == (16,) and batch["y"].dtype == torch.int64
    x = whole(data, "val")["x"]
    assert torch.equal(x[:, :-1].sum(-1), torch.ones(100, 11))  # one channel per step ...
    assert torch.equal(x[:, -1].sum(-1), torch.full((100,), 2.0))  # ... and the query at the last
    assert torch.equal(x[:, :, -1], torch.eye(12)[-1].expand(100, -1))
    assert x[:, 0, 5:].sum() == 0 and x[:, 1:, :5].sum() == 0  # symbols at step 0, distractors after it


def test_the_label_is_the_symbol_at_step_0_and_nowhere_else() -> None:
    data = recall()
    for split in ("train", "val", "test"):
        batch = whole(data, split)
        assert torch.equal(batch["x"][:, 0, :4].argmax(-1), batch["y"])
    # the distractors are independent of the label: their counts per label do not differ (chi-squared)
    train = whole(data, "train")
    counts = torch.stack([train["x"][train["y"] == label, 1:, 4:-1].sum((0, 1)) for label in range(4)])
    assert stats.chi2_contingency(counts.numpy()).pvalue > 0.01


def test_the_data_follows_its_seed_alone() -> None:
    first, again, other = recall(), recall(), recall(seed=1)
    for split in ("train", "val", "test"):
        assert torch.equal(first.prepared.tokens[split], again.prepared.tokens[split])
        assert torch.equal(first.prepared.y[split], again.prepared.y[split])
    assert torch.equal(whole(first, "val")["x"], whole(again, "val")["x"])
    assert first.fingerprint() == again.fingerprint() != other.fingerprint()
    assert not torch.equal(whole(first, "val")["x"], whole(other, "val")["x"])
    assert first.data_report() == {}


def test_splits_are_different_draws_with_balanced_labels() -> None:
    data = recall(length=20, symbols=8, train_size=4000, val_size=1000, test_size=1000)
    rows = {split: {tuple(row) for row in whole(data, split)["x"].argmax(-1).tolist()}
            for split in ("train", "val", "test")}
    assert len(rows["train"]) == 4000 and not rows["train"] & rows["val"] and not rows["val"] & rows["test"]
    assert not rows["train"] & rows["test"]
    for split in ("train", "val", "test"):
        counts = torch.bincount(whole(data, split)["y"], minlength=8)
        assert stats.chisquare(counts.numpy()).pvalue > 0.01  # consistent with uniform labels


@pytest.mark.parametrize(("field", "value"), [("length", 1), ("symbols", 1), ("distractors", 0), ("train_size", 0),
                                              ("batch_size", 0), ("seed", -1)])
def test_out_of_range_settings_are_refused_naming_the_field(field: str, value: int) -> None:
    with pytest.raises(ConfigError, match=rf"data\.init_args\.{field}: {value} is too small"):
        RecallDataModule(**{field: value})


def test_a_bad_value_in_a_config_names_its_key() -> None:
    with pytest.raises(ConfigError, match=r"data\.init_args\.length: 1 is too small"):
        load_experiment("synthetic", overrides={"data.init_args.length": 1})  # refused as it loads, before any data


def test_an_lstm_learns_a_short_recall_well_above_chance() -> None:
    cfg = load_experiment("synthetic", overrides={
        "data.init_args.length": 5, "data.init_args.symbols": 4, "data.init_args.train_size": 512,
        "data.init_args.val_size": 256, "data.init_args.test_size": 256, "data.init_args.batch_size": 32,
        "model.hidden_size": 16, "optim.lr": 0.02, "trainer.max_epochs": 2, "trainer.accelerator": "cpu"})
    metrics = train(cfg.run(), test=True)
    assert metrics["best_val/accuracy"] > 0.6 and metrics["test/accuracy"] > 0.6  # chance: 0.25
