"""Degenerate splits are refused before training; the classes validation and test lack are reported."""

from __future__ import annotations

from pathlib import Path

import pytest
from gatelab.errors import DataError

from tasks.physio import PatientSplit, PhysioDataModule, Preprocessing

MITDB = Path(__file__).parents[3] / "fixtures" / "mitdb"
# Beats per class (N, S, V, F) in the fixture records, edge beats left out (see tests/fixtures/README.md):
# 114: 54/0/0/0, 200: 53/0/33/0, 208: 63/0/30/11, 210: 82/0/7/1, 232: 17/39/0/0, 233: 71/2/29/0.


def report(tmp_path: Path, split: PatientSplit, classes: tuple[str, ...] = ("N", "S", "V", "F")) -> dict:
    data = PhysioDataModule(path=str(MITDB), split=split, classes=classes, cache_dir=str(tmp_path),
                            preprocess=Preprocessing(downsample=3))
    data.setup("fit")
    return data.data_report()


def test_classes_missing_from_validation_are_reported(tmp_path: Path) -> None:
    split = PatientSplit(train_records=(114, 200, 208, 232), val_records=(200,), test_records=(210, 233))
    values = report(tmp_path, split)
    assert values["data.train_beats"] == "N 134, S 39, V 30, F 11"
    assert values["data.val_beats"] == "N 53, S 0, V 33, F 0"
    assert values["data.val_missing_classes"] == "S, F (macro-F1 averages over the classes present)"
    assert values["data.test_missing_classes"] == "none"


def test_a_validation_split_of_one_class_is_refused(tmp_path: Path) -> None:
    split = PatientSplit(train_records=(114, 200, 208, 232), val_records=(114,), test_records=(210, 233))
    with pytest.raises(DataError, match=r"^validation records 114: beats of fewer than two classes \(beats per class: "
                                        r"N 54, S 0, V 0, F 0\), .*; choose split.val_records that hold more "
                                        r"classes\.$"):
        report(tmp_path, split)


def test_a_test_split_of_one_class_is_refused(tmp_path: Path) -> None:
    split = PatientSplit(train_records=(200, 208, 232, 233), val_records=(233,), test_records=(114,))
    with pytest.raises(DataError, match=r"^test records 114: beats of fewer than two classes \(beats per class: "
                                        r"N 54, S 0, V 0, F 0\).*split.test_records"):
        report(tmp_path, split)


def test_a_training_split_lacking_a_class_is_refused_with_its_records_and_counts(tmp_path: Path) -> None:
    split = PatientSplit(train_records=(114, 208, 210, 233), val_records=(233,), test_records=(200, 232))
    with pytest.raises(DataError, match=r"^training records 114, 208, 210: no beats of class\(es\) S \(beats per "
                                        r"class: N 199, S 0, V 37, F 12\); drop them from data.init_args.classes"):
        report(tmp_path, split)
    # without S, the same records are fine
    assert report(tmp_path, split, ("N", "V", "F"))["data.train_beats"] == "N 199, V 37, F 12"


def test_intra_patient_splits_are_checked_too(tmp_path: Path) -> None:
    split = PatientSplit(protocol="intra", train_records=(114, 200, 208, 232), val_records=(),
                         test_records=(210, 233), val_fraction=0.001, test_fraction=0.3)
    # 0.1% of each class's beats: 0 F, S or V beats and 0 N beats either (round(340 * 0.001) = 0)
    with pytest.raises(DataError, match=r"^validation records 114, 200, 208, 210, 232, 233: beats of fewer than "
                                        r"two classes .*; raise split.val_fraction or add records"):
        report(tmp_path, split)
