"""Honest inter-patient selection: record-level validation folds, beats in their rhythm context, the second lead."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import wfdb
from conftest import data_root
from gatelab.errors import ConfigError, DataError
from gatelab.models import ModelConfig
from gatelab.settings import OptimConfig
from gatelab.training.experiment import load_experiment
from physio_support import FIXTURES, fixture_module

from tasks.physio import PatientSplit, PhysioDataModule, Preprocessing
from tasks.physio.aami import AAMI_CLASSES, DS1, DS2, aami_labels
from tasks.physio.database import lead_columns, read_record
from tasks.physio.datamodule import BeatBatches
from tasks.physio.preprocess import record_relative_rr

SECOND = ("V1", "V2", "V4", "V5")
FOLDED = PatientSplit(train_records=(114, 200, 208, 210, 232), val_folds=((200,), (114, 210)), test_records=(233,))


def module(tmp_path: Path, **settings: object) -> PhysioDataModule:
    return fixture_module(tmp_path, FOLDED, **settings)


@pytest.mark.full_data
def test_the_preset_folds_hold_every_class_and_no_test_record() -> None:
    data = load_experiment("physio", ["inter-patient-context"]).run().data
    folds = data.split.val_folds
    assert data.folds == len(folds) == 3 and data.fold == 0 and data.context_beats == 2
    assert data.preprocess.leads == ("MLII", SECOND)
    everything = [record for fold in folds for record in fold]
    assert len(everything) == len(set(everything)) and set(everything) < set(DS1) and not set(everything) & set(DS2)
    directory = data_root() / "physio" / "mitdb"
    for k, fold in enumerate(folds):
        records = data.split.fold(k).split_records()
        assert records == {"train": tuple(sorted(set(DS1) - set(fold))), "val": tuple(sorted(fold)), "test": DS2}
        codes = np.concatenate([aami_labels(wfdb.rdann(str(directory / str(record)), "atr").symbol)
                                for record in fold])
        counts = dict(zip(AAMI_CLASSES, np.bincount(codes[codes >= 0], minlength=len(AAMI_CLASSES)).tolist()))
        assert min(counts[cls] for cls in ("N", "S", "V", "F")) >= 14, (k, counts)


@pytest.mark.parametrize("context_beats", [None, 2])
def test_the_preset_searches_the_layout_and_every_choice_reaches_the_data(context_beats: int | None) -> None:
    cfg = load_experiment("physio", ["inter-patient-context"])
    choices = {param.name: param.choices for param in cfg.search_space if param.type == "categorical"}
    assert choices["data.init_args.context_beats"] == [None, 2]
    for record_rr in choices["data.init_args.record_rr"]:
        for imbalance in choices["data.init_args.imbalance"]:
            values = {"data.init_args.context_beats": context_beats, "data.init_args.record_rr": record_rr,
                      "data.init_args.imbalance": imbalance}
            data = cfg.with_overrides(values).run().data
            assert (data.context_beats, data.record_rr, data.imbalance) == (context_beats, record_rr, imbalance)


def test_each_fold_validates_on_its_records(tmp_path: Path) -> None:
    first, second = module(tmp_path), module(tmp_path, fold=1)
    assert first.folds == second.folds == 2
    assert first.data.records == {"train": (114, 208, 210, 232), "val": (200,), "test": (233,)}
    assert second.data.records == {"train": (200, 208, 232), "val": (114, 210), "test": (233,)}
    assert first.fingerprint() != second.fingerprint()
    # one fold (today's val_records) keeps working
    single = PhysioDataModule(split=PatientSplit())
    assert single.folds == 1 and single.fold_split == PatientSplit()


@pytest.mark.parametrize(("settings", "message"), [
    ({"fold": 2}, r"^fold: 2 is out of range; split.val_folds gives 2 fold\(s\), so choose 0 \.\. 1"),
    ({"fold": 1, "split": PatientSplit()}, r"^fold: 1 is out of range; .* gives 1 fold"),
    ({"context_beats": -1}, r"^context_beats: -1 is negative"),
])
def test_bad_fold_or_context_is_named(settings: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        PhysioDataModule(**{"split": FOLDED, **settings})


@pytest.mark.parametrize(("settings", "message"), [
    ({"val_folds": ((200,), (200, 232))}, r"^split.val_folds: records \[200\] are in more than one fold"),
    ({"val_folds": ((200,), (210,))}, r"^split.val_folds\[1\]: \[210\] are not in split.train_records"),
    ({"val_folds": ((200,), ())}, r"^split.val_folds\[1\]: hold out some"),
    ({"protocol": "intra"}, r"^split.val_folds: folds of records belong to the inter-patient protocol"),
])
def test_bad_folds_are_named(settings: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        PatientSplit(**{"train_records": (114, 200, 208, 232), "val_folds": ((200,), (114,)),
                        "test_records": (210, 233), **settings})


def test_the_second_lead_is_picked_by_sig_name() -> None:
    assert lead_columns("114", ["V5", "MLII"], ("MLII", SECOND)) == [1, 0]
    assert lead_columns("208", ["MLII", "V1"], ("MLII", SECOND)) == [0, 1]
    for record, second in (("114", "V5"), ("208", "V1")):
        picked = read_record(FIXTURES, record, ("MLII", SECOND)).signal
        assert np.array_equal(picked, read_record(FIXTURES, record, ("MLII", second)).signal)
    with pytest.raises(DataError, match=r"^record 208: no lead 'V2' or 'V4'; it has \['MLII', 'V1'\]"):
        read_record(FIXTURES, "208", ("MLII", ("V2", "V4")))
    with pytest.raises(ConfigError, match=r"^preprocess.leads: give one or more distinct lead names"):
        Preprocessing(leads=("MLII", ("V1", "MLII")))


def test_a_beat_comes_with_its_neighbours_and_is_the_centre_step(tmp_path: Path) -> None:
    data = module(tmp_path, context_beats=2, preprocess=Preprocessing(downsample=3, leads=("MLII", SECOND)))
    prepared = data.data
    window = 84 * 2  # 0.7 s at 120 Hz, two leads side by side
    assert data.input_size == window + 4 + 1
    batch = next(iter(data.train_dataloader()))
    x = batch["x"]
    rows = prepared.rows["train"]
    assert x.shape == (min(256, len(rows)), 5, window + 5) and x.dtype == torch.float32
    dataset = BeatBatches(prepared.wave, prepared.rr, prepared.label, prepared.record, rows, context=2)
    every = dataset.__getitems__(list(range(len(rows))))
    # the centre step is the labelled beat: its window, its RR features, present
    assert torch.equal(every["y"], prepared.label[rows])
    assert torch.equal(every["x"][:, 2, :window], prepared.wave[rows].flatten(1))
    assert torch.equal(every["x"][:, 2, window:-1], prepared.rr[rows])
    assert bool((every["x"][:, 2, -1] == 1).all())
    # steps 3 and 4 are the next beats of the same record; past a record's end they are absent (all zero)
    for step, offset in ((3, 1), (4, 2), (0, -2), (1, -1)):
        beyond = rows + offset
        inside = (beyond >= 0) & (beyond < len(prepared.label))
        same = inside & (prepared.record[beyond.clamp(0, len(prepared.label) - 1)] == prepared.record[rows])
        assert torch.equal(every["x"][same, step, :window], prepared.wave[beyond[same]].flatten(1))
        assert bool((every["x"][~same, step] == 0).all()) and int((~same).sum()) == abs(offset) * 4
    # the engine's classifier reads the sequence of beats
    model = data.make_module(ModelConfig(cell="gru", hidden_size=8), OptimConfig())
    assert model(x).shape == (x.shape[0], 4)


def test_record_relative_rr_divides_by_the_records_mean_rr(tmp_path: Path) -> None:
    rr = np.array([[1.0, 1.0, 1.0, 1.0], [0.5, 1.5, 0.9, 0.5], [1.5, 0.5, 1.1, 1.4], [2.0, 2.0, 2.0, 1.0]])
    relative = record_relative_rr(rr, np.array([7, 7, 7, 9]))
    assert np.allclose(relative, np.array([[1.0, 1.0, 1.0], [0.5, 1.5, 0.9], [1.5, 0.5, 1.1], [1.0, 1.0, 1.0]]))
    data = module(tmp_path, record_rr=True, context_beats=0)
    assert data.input_size == 84 + 4 + 3 + 1
    assert next(iter(data.val_dataloader()))["x"].shape[1:] == (1, 84 + 4 + 3 + 1)
    with pytest.raises(ConfigError, match=r"^record_rr: true needs rr_features: true"):
        PhysioDataModule(split=FOLDED, record_rr=True, rr_features=False)


def test_the_rr_layout_puts_the_neighbours_rr_intervals_on_the_beats_own_window(tmp_path: Path) -> None:
    data = module(tmp_path, context_beats=1, context_layout="rr")
    prepared, rows = data.data, data.data.rows["val"]
    assert data.input_size == 1 + 3 * (4 + 1)
    batch = next(iter(data.val_dataloader()))
    x = batch["x"]
    assert x.shape == (len(rows), 84, 16) and torch.equal(batch["y"], prepared.label[rows])
    assert torch.equal(x[:, :, :1], prepared.wave[rows])  # the beat's own window, a step per sample
    assert torch.equal(x[:, :, 1:], x[:, :1, 1:].expand(-1, 84, -1))  # the same RR sequence at every step
    sequence = x[:, 0, 1:].reshape(len(rows), 3, 5)
    assert torch.equal(sequence[:, 1, :4], prepared.rr[rows, :4]) and bool((sequence[:, 1, 4] == 1).all())
    assert torch.equal(sequence[1:, 0, :4], prepared.rr[rows[:-1], :4])  # one record: the previous beat's
    assert bool((sequence[0, 0] == 0).all()) and bool((sequence[-1, 2] == 0).all())  # none before the first
    with pytest.raises(ConfigError, match=r"^context_layout: rr needs rr_features: true"):
        PhysioDataModule(split=FOLDED, context_beats=1, context_layout="rr", rr_features=False)
