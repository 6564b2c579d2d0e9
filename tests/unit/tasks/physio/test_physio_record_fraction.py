"""A learning curve's training records (``record_fraction``): whole records, nested, every class kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gatelab.errors import ConfigError, DataError

from tasks.physio import PatientSplit, PhysioDataModule, Preprocessing
from tasks.physio.splits import fewer_records

MITDB = Path(__file__).parents[3] / "fixtures" / "mitdb"
CLASSES = ("N", "S", "V", "F")
# Beats per class (N, S, V, F) of the fixture records (tests/fixtures/README.md), as a training split.
COUNTS = {114: (54, 0, 0, 0), 200: (53, 0, 33, 0), 208: (63, 0, 30, 11), 210: (82, 0, 7, 1), 232: (17, 39, 0, 0),
          233: (71, 2, 29, 0)}


def beats(counts: dict[int, tuple[int, ...]]) -> tuple[np.ndarray, np.ndarray]:
    """Each beat's record and class, records one after another."""
    record = np.concatenate([np.full(sum(per_class), number) for number, per_class in counts.items()])
    label = np.concatenate([np.repeat(np.arange(len(CLASSES)), per_class) for per_class in counts.values()])
    return record, label


def test_fewer_records_are_nested_whole_records_that_keep_every_class() -> None:
    record, label = beats(COUNTS)
    kept = {fraction: fewer_records(record, label, fraction, CLASSES) for fraction in (0.5, 0.75, 1.0)}
    assert [len(records) for records in kept.values()] == [3, 5, 6]  # ceil(fraction * 6)
    assert set(kept[0.5]) <= set(kept[0.75]) <= set(kept[1.0]) == set(COUNTS)
    for records in kept.values():
        held = np.bincount(label[np.isin(record, records)], minlength=len(CLASSES))
        assert held.all(), (records, held)
    assert fewer_records(record[::-1], label[::-1], 0.5, CLASSES) == kept[0.5]  # the order of the beats does not matter
    refused = (r"^record_fraction=0.1: keeps 1 of the 6 training records, but every class "
               r"\(N, S, V, F\) takes 2 \(records .*\); raise record_fraction to 0.33 or more")
    with pytest.raises(DataError, match=refused):
        fewer_records(record, label, 0.1, CLASSES)


def test_the_datamodule_trains_on_fewer_records_and_leaves_validation_and_test_alone(tmp_path: Path) -> None:
    split = PatientSplit(train_records=(114, 200, 208, 210, 232), val_records=(200,), test_records=(233,))

    def report(fraction: float) -> dict:
        data = PhysioDataModule(path=str(MITDB), split=split, cache_dir=str(tmp_path), record_fraction=fraction,
                                preprocess=Preprocessing(downsample=3))
        data.setup("fit")
        return data.data_report() | {"fingerprint": data.fingerprint(), "train": data.prepared.records["train"]}

    full, half = report(1.0), report(0.5)
    assert full["train"] == (114, 208, 210, 232) and "data.train_records_kept" not in full
    assert len(half["train"]) == 2 and half["data.train_records_kept"] == ", ".join(map(str, half["train"]))
    assert all(f"{cls} 0" not in half["data.train_beats"].split(", ") for cls in CLASSES)
    assert (half["data.val_beats"], half["data.test_beats"]) == (full["data.val_beats"], full["data.test_beats"])
    assert half["fingerprint"] != full["fingerprint"]


@pytest.mark.parametrize(("fraction", "split", "message"), [
    (0.0, PatientSplit(), r"record_fraction: 0.0 is not a share"),
    (0.5, PatientSplit(protocol="intra", val_records=()), r"record_fraction: whole training records belong to the "
                                                          r"inter-patient protocol"),
])
def test_a_bad_record_fraction_is_refused(fraction: float, split: PatientSplit, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        PhysioDataModule(path=str(MITDB), split=split, record_fraction=fraction)
