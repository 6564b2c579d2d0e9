"""The MIT-BIH fixture records (six 60-second records) as a prepared physio DataModule, shared by tests."""

from __future__ import annotations

from pathlib import Path

from tasks.physio import PatientSplit, PhysioDataModule, Preprocessing

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "mitdb"
#: The fixture records split into training, validation and test records.
TINY = PatientSplit(train_records=(114, 200, 208, 232), val_records=(200,), test_records=(210, 233))


def fixture_module(tmp_path: Path, split: PatientSplit = TINY, **settings: object) -> PhysioDataModule:
    """A DataModule over the fixture records at 120 Hz (``downsample=3``), prepared and set up for fitting."""
    options = {"path": str(FIXTURES), "split": split, "preprocess": Preprocessing(downsample=3),
               "cache_dir": str(tmp_path / "cache"), **settings}
    data = PhysioDataModule(**options)  # type: ignore[arg-type]
    data.prepare_data()
    data.setup("fit")
    return data
