"""``features: rr_morphology``: the cells see the linear discriminant's features (RR intervals and beat morphology)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import data_root
from gatelab.errors import ConfigError
from gatelab.training.experiment import load_experiment
from gatelab.training.train import train
from physio_support import fixture_module

from tasks.physio import Preprocessing
from tasks.physio.preprocess import MORPHOLOGY_SAMPLES, RR_FEATURES, morphology_samples

SECOND = ("V1", "V2", "V4", "V5")



@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The default preset on the full database, a quarter of the training records, a beat cache of its own."""
    root = data_root()
    settings = {"data.init_args.record_fraction": 0.25, "data.init_args.path": str(root / "physio" / "mitdb"),
                "data.init_args.cache_dir": str(tmp_path_factory.mktemp("beats"))}
    return {features: load_experiment("physio", overrides=settings | {"data.init_args.features": features})
            for features in ("rr", "rr_morphology")}


@pytest.mark.full_data
def test_the_cells_get_the_discriminants_morphology_standardised_like_the_rr_features(full: dict) -> None:
    plain, richer = (full[features].run().data for features in ("rr", "rr_morphology"))
    for data in (plain, richer):
        data.prepare_data()
        data.setup("fit")
    assert richer.input_size == plain.input_size + MORPHOLOGY_SAMPLES == 1 + len(RR_FEATURES) + 19
    prepared, rows = richer.prepared, richer.prepared.rows["train"]
    assert richer.fingerprint() != plain.fingerprint()
    batch = next(iter(richer.val_dataloader()))
    x = batch["x"]
    assert x.shape[2] == richer.input_size and bool(torch.isfinite(x).all())
    extra = x[:, :, 1 + len(RR_FEATURES):]
    assert torch.equal(extra, extra[:, :1].expand_as(extra))  # the same samples at every step, as the RR features
    assert torch.equal(x[:, :, : 1 + len(RR_FEATURES)], next(iter(plain.val_dataloader()))["x"])  # today's first
    # standardised on the training beats, as the RR features are: mean 0, standard deviation 1
    for features in (prepared.morphology, prepared.rr):
        train_part = features[rows].double()
        assert torch.allclose(train_part.mean(0), torch.zeros(train_part.shape[1], dtype=torch.float64), atol=1e-4)
        assert torch.allclose(train_part.std(0, unbiased=False), torch.ones(train_part.shape[1],
                                                                            dtype=torch.float64), atol=1e-3)
    # the very samples the discriminant reads (tasks.physio.preprocess.morphology_samples), scaled
    samples = morphology_samples(prepared.wave.numpy(), richer.preprocess)
    scaled = (samples - samples[rows].mean(0)) / samples[rows].std(0)
    assert np.allclose(prepared.morphology.numpy(), scaled, atol=1e-4)
    (baseline,) = richer.baselines()
    assert np.array_equal(baseline.split("val").features[:, 7:], prepared.morphology[prepared.rows["val"]].numpy())


@pytest.mark.full_data
def test_a_tiny_run_trains_and_tests_on_the_rr_morphology_inputs(full: dict) -> None:
    cfg = full["rr_morphology"].with_overrides({
        "model.hidden_size": 8, "trainer.max_epochs": 1, "trainer.limit_train_batches": 2,
        "trainer.limit_eval_batches": 1, "trainer.accelerator": "cpu"})
    metrics = train(cfg.run(), test=True)
    assert 0.0 <= metrics["test/macro_f1"] <= 1.0 and np.isfinite(metrics["test/loss"])


def test_the_morphology_goes_wherever_the_rr_features_go(tmp_path: Path) -> None:
    two = Preprocessing(downsample=3, leads=("MLII", SECOND))
    single = fixture_module(tmp_path, features="rr_morphology", record_rr=True, preprocess=two)
    assert single.input_size == 2 + 7 + 2 * 19  # two leads, every RR feature, each lead's samples
    (baseline,) = single.baselines()
    assert baseline.split("train").features.shape[1] == single.input_size - 2  # all the discriminant sees
    windows = fixture_module(tmp_path, features="rr_morphology", context_beats=1)
    assert windows.input_size == 84 + 4 + 19 + 1
    assert next(iter(windows.val_dataloader()))["x"].shape[1:] == (3, 84 + 4 + 19 + 1)
    rr_layout = fixture_module(tmp_path, features="rr_morphology", context_beats=1, context_layout="rr")
    assert rr_layout.input_size == 1 + 3 * (4 + 19 + 1)


def test_a_bad_features_value_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.yaml").write_text("data: {init_args: {features: morphology}}\n")
    with pytest.raises(ConfigError, match=r"^mine.yaml: data.init_args.features: 'morphology' is not one of rr, "
                                          r"rr_morphology; did you mean rr_morphology\?$"):
        load_experiment("physio", ["mine.yaml"])
    (tmp_path / "mine.yaml").write_text("data: {init_args: {features: rr_morphology, rr_features: false}}\n")
    with pytest.raises(ConfigError, match=r"^mine.yaml: data.init_args.features: rr_morphology needs rr_features: "
                                          r"true \(the morphology samples extend the RR features\); set rr_features: "
                                          r"true or features: rr\.$"):
        load_experiment("physio", ["mine.yaml"])
