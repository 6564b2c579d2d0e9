"""The physio DataModule on the fixture records: batches, the beat cache, class imbalance, metrics, figures."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from gatelab.errors import ConfigError, DataError
from matplotlib.figure import Figure
from physio_support import FIXTURES, TINY, fixture_module

from tasks.physio import PhysioDataModule, Preprocessing
from tasks.physio.cache import cache_key
from tasks.physio.database import files_fingerprint
from tasks.physio.datamodule import prepare_beats


def test_batches_hold_waves_and_rr_features(tmp_path: Path) -> None:
    data = fixture_module(tmp_path)
    assert data.input_size == 5 and data.output_size == 4
    batch = next(iter(data.train_dataloader()))
    assert set(batch) == {"x", "y"}
    assert batch["x"].shape[1:] == (84, 5) and batch["x"].dtype == torch.float32
    # the RR features are the same at every step of a beat
    assert torch.equal(batch["x"][:, :1, 1:].expand(-1, 84, -1), batch["x"][:, :, 1:])
    # train beats: 114 (N 54), 208 (N 64, V 30, F 12) and 232 (N 18, S 39) less the beats too close to a
    # record's edge: 208's first (N) and last (F), 232's last (N)
    assert data.data.train_counts == (134, 39, 30, 11)
    lean = fixture_module(tmp_path, rr_features=False)
    assert lean.input_size == 1 and next(iter(lean.val_dataloader()))["x"].shape[2] == 1


def test_beats_are_cached_and_reused(tmp_path: Path) -> None:
    cfg = Preprocessing(downsample=3)
    first = prepare_beats(FIXTURES, cfg, TINY, ("N", "S", "V", "F"), tmp_path)
    prepare_beats.cache_clear()  # a new process: only the disk cache is left
    second = prepare_beats(FIXTURES, cfg, TINY, ("N", "S", "V", "F"), tmp_path)
    assert not first.from_cache and second.from_cache
    assert torch.equal(first.wave, second.wave) and torch.equal(first.label, second.label)
    assert all(torch.equal(first.rows[name], second.rows[name]) for name in ("train", "val", "test"))
    files = list(tmp_path.glob("beats-*.npz"))
    key = cache_key(cfg, TINY.records(), files_fingerprint(FIXTURES, map(str, TINY.records())))
    assert [path.name for path in files] == [f"beats-{key}.npz"]
    # another window is another key; a class subset or another split reuses the same beats
    assert cache_key(dataclasses.replace(cfg, after_s=0.5), TINY.records(), "x") != cache_key(cfg, TINY.records(), "x")
    prepare_beats(FIXTURES, cfg, TINY, ("N", "V"), tmp_path)
    assert len(list(tmp_path.glob("beats-*.npz"))) == 1


def test_an_unreadable_cache_file_is_rebuilt(tmp_path: Path) -> None:
    cfg = Preprocessing(downsample=3)
    prepare_beats(FIXTURES, cfg, TINY, ("N", "S", "V", "F"), tmp_path)
    (cached,) = tmp_path.glob("beats-*.npz")
    cached.write_bytes(b"not a zip file")
    prepare_beats.cache_clear()
    again = prepare_beats(FIXTURES, cfg, TINY, ("N", "S", "V", "F"), tmp_path)
    assert not again.from_cache and np.load(cached)["wave"].shape[1:] == (84, 1)


def test_changed_records_change_the_fingerprint_and_the_cache(tmp_path: Path) -> None:
    copy = tmp_path / "mitdb"
    copy.mkdir()
    for path in FIXTURES.glob("*.*"):
        copy.joinpath(path.name).write_bytes(path.read_bytes())
    data = fixture_module(tmp_path, path=str(copy))
    annotations = bytearray((copy / "233.atr").read_bytes())
    annotations[-3] ^= 0x01
    (copy / "233.atr").write_bytes(bytes(annotations))
    prepare_beats.cache_clear()  # a new process (within one, the records are read once)
    changed = fixture_module(tmp_path, path=str(copy))
    assert changed.fingerprint() != data.fingerprint()
    assert len(list((tmp_path / "cache").glob("beats-*.npz"))) == 2


def test_class_weights_and_balanced_sampling(tmp_path: Path) -> None:
    data = fixture_module(tmp_path)
    loss = data.make_loss()
    counts = torch.tensor([134.0, 39.0, 30.0, 11.0])
    assert torch.allclose(loss.weight, counts.sum() / (4 * counts))
    assert fixture_module(tmp_path, imbalance="none").make_loss().weight is None
    balanced = fixture_module(tmp_path, imbalance="balanced_sampling", batch_size=4096)
    torch.manual_seed(0)
    drawn = torch.cat([batch["y"] for _ in range(20) for batch in balanced.train_dataloader()])
    shares = torch.bincount(drawn, minlength=4) / len(drawn)
    assert torch.allclose(shares, torch.full((4,), 0.25), atol=0.03)


def test_a_class_without_training_beats_is_named(tmp_path: Path) -> None:
    split = dataclasses.replace(TINY, train_records=(114, 200, 232), val_records=(200,))
    with pytest.raises(DataError, match=r"^training records 114, 232: no beats of class\(es\) V, F \(beats per class: "
                                        r"N 71, S 39, V 0, F 0\); drop them from data.init_args.classes"):
        fixture_module(tmp_path, split=split)


def test_bad_classes_are_named() -> None:
    with pytest.raises(ConfigError, match="classes"):
        PhysioDataModule(classes=("N", "X"))
    with pytest.raises(ConfigError, match="classes"):
        PhysioDataModule(classes=("N",))


def test_metrics_and_confusion_figure(tmp_path: Path) -> None:
    data = fixture_module(tmp_path)
    metrics = data.make_metrics().clone(prefix="test/")
    target = torch.tensor([0, 0, 0, 1, 1, 2, 3])
    predicted = torch.tensor([0, 0, 1, 1, 0, 2, 2])
    metrics.update(torch.nn.functional.one_hot(predicted, 4).float(), target)
    values = metrics.compute()
    assert values["test/se_N"] == pytest.approx(2 / 3) and values["test/ppv_N"] == pytest.approx(2 / 3)
    assert values["test/se_S"] == pytest.approx(1 / 2) and values["test/ppv_V"] == pytest.approx(1 / 2)
    assert values["test/se_F"] == 0 and values["test/accuracy"] == pytest.approx(4 / 7)
    f1 = [2 / 3, 1 / 2, 2 / 3, 0.0]
    assert values["test/macro_f1"] == pytest.approx(sum(f1) / 4)
    assert values["test/confmat"].tolist() == [[2, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 0]]
    figures = data.figures({"test/confmat": values["test/confmat"]})
    assert list(figures) == ["confusion_matrix.png"] and isinstance(figures["confusion_matrix.png"], Figure)
    labels = [tick.get_text() for tick in figures["confusion_matrix.png"].axes[0].get_yticklabels()]
    assert labels == ["N\nSe 66.7", "S\nSe 50.0", "V\nSe 100.0", "F\nSe 0.0"]
    assert data.figures({}) == {}


def test_macro_f1_leaves_out_classes_absent_from_targets_and_predictions(tmp_path: Path) -> None:
    metrics = fixture_module(tmp_path).make_metrics()
    metrics.update(torch.nn.functional.one_hot(torch.tensor([0, 1, 0]), 4).float(), torch.tensor([0, 1, 1]))
    assert metrics.compute()["macro_f1"] == pytest.approx((2 / 3 + 2 / 3) / 2)
