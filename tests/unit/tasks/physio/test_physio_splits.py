"""Patient-level split integrity: no record, hence no patient, in two splits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import data_root
from gatelab.errors import ConfigError
from gatelab.training.config import configs_dir
from gatelab.training.experiment import load_experiment

from tasks.physio import PatientSplit, PhysioDataModule
from tasks.physio.aami import DS1, DS2
from tasks.physio.database import read_record
from tasks.physio.datamodule import prepare_beats
from tasks.physio.preprocess import cut_beats

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "mitdb"
TINY = PatientSplit(train_records=(114, 200, 208, 232), val_records=(200,), test_records=(210, 233))


def test_default_split_is_the_inter_patient_protocol() -> None:
    split = PatientSplit()
    assert split.protocol == "inter" and split.train_records == DS1 and split.test_records == DS2
    assert set(split.val_records) < set(DS1)
    assert split.records() == tuple(sorted(DS1 + DS2))


def test_inter_patient_assignment_keeps_records_apart() -> None:
    record = np.repeat([114, 200, 208, 232, 210, 233], 5)
    index = TINY.assign(record, np.zeros(len(record), dtype=np.int64))
    by_split = {name: set(record[rows].tolist()) for name, rows in index.items()}
    assert by_split == {"train": {114, 208, 232}, "val": {200}, "test": {210, 233}}
    assert sorted(np.concatenate(list(index.values())).tolist()) == list(range(len(record)))


@pytest.mark.parametrize(("settings", "message"), [
    ({"train_records": (101, 102)}, r"split.train_records: paced records \[102\]"),
    ({"test_records": (217, 100)}, r"split.test_records: paced records \[217\]"),
    ({"test_records": (100, 101)}, r"records \[101\] are in both train_records and test_records"),
    ({"val_records": (100,)}, r"split.val_records: \[100\] are not in split.train_records"),
    ({"val_records": ()}, r"split.val_records: hold out some"),
    ({"train_records": (101, 101, 106)}, r"names a record twice"),
    ({"protocol": "intra", "val_fraction": 0.5, "test_fraction": 0.5}, r"val_fraction \+ split.test_fraction"),
])
def test_bad_splits_are_named(settings: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        PatientSplit(**settings)


def test_prepared_splits_of_the_fixture_share_no_record(tmp_path: Path) -> None:
    cfg = PhysioDataModule().preprocess
    data = prepare_beats(FIXTURES, cfg, TINY, ("N", "S", "V", "F"), tmp_path)
    assert data.records == {"train": (114, 208, 232), "val": (200,), "test": (210, 233)}
    # every beat of every record is in exactly one split (the fixtures have no Q beats)
    for name, records in data.records.items():
        beats = sum(len(cut_beats(read_record(FIXTURES, str(record), cfg.leads), cfg)[0].label) for record in records)
        assert len(data.rows[name]) == beats


def test_intra_patient_split_mixes_records_but_never_beats() -> None:
    split = PatientSplit(protocol="intra", train_records=(1, 2), test_records=(3,), val_fraction=0.2,
                         test_fraction=0.3, seed=5)
    rng = np.random.default_rng(0)
    record, label = rng.integers(1, 4, 1000), rng.choice(3, 1000, p=[0.8, 0.15, 0.05])
    index = split.assign(record, label)
    combined = np.concatenate(list(index.values()))
    assert len(combined) == len(set(combined.tolist())) == 1000
    for cls in range(3):  # stratified: every class in the same shares
        members = np.sum(label == cls)
        assert np.sum(label[index["test"]] == cls) == round(members * 0.3)
        assert np.sum(label[index["val"]] == cls) == round(members * 0.2)
    assert {name: set(record[rows].tolist()) for name, rows in index.items()} == {
        "train": {1, 2, 3}, "val": {1, 2, 3}, "test": {1, 2, 3}}
    assert np.array_equal(split.assign(record, label)["test"], index["test"])  # seeded


@pytest.mark.full_data
def test_full_database_inter_patient_splits(tmp_path: Path) -> None:
    directory = data_root() / "physio" / "mitdb"
    data = prepare_beats(directory, PhysioDataModule().preprocess, PatientSplit(), ("N", "S", "V", "F"), tmp_path)
    train, val, test = (set(data.records[name]) for name in ("train", "val", "test"))
    assert not train & val and not train & test and not val & test
    assert train | val == set(DS1) and test == set(DS2)
    counts = {name: np.bincount(data.label[data.rows[name]].numpy(), minlength=4).tolist()
              for name in ("train", "val", "test")}
    # the published AAMI counts (N, S, V, F of DS1: 45,866, 944, 3,788, 415; DS2: 44,259, 1,837, 3,221, 388)
    # less the 19 and 20 beats whose 0.25 s / 0.45 s window runs over a record's edge
    assert [a + b for a, b in zip(counts["train"], counts["val"])] == [45_848, 944, 3_788, 414]
    assert counts["test"] == [44_240, 1_837, 3_220, 388]
    assert counts["val"] == [8_101, 201, 591, 30]


def test_presets_choose_the_protocol() -> None:
    default = load_experiment("physio").run().data
    intra = load_experiment("physio", ["intra-patient"]).run().data
    assert default.split.protocol == "inter" and default.split.val_records == (124, 205, 220, 223)
    assert intra.split.protocol == "intra" and intra.split.records() == tuple(sorted(DS1 + DS2))
    assert "OPTIMISTIC" in (configs_dir() / "physio" / "intra-patient.yaml").read_text()
