"""AAMI EC57 label mapping, on the symbol table and on real annotations."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import wfdb
from conftest import data_root

from tasks.physio.aami import AAMI_CLASSES, DS1, DS2, PACED, SYMBOL_TO_CLASS, aami_labels
from tasks.physio.database import read_record

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "mitdb"


def test_symbols_map_to_the_five_aami_classes() -> None:
    assert AAMI_CLASSES == ("N", "S", "V", "F", "Q")
    # the full EC57 table (WFDB's ecgmap.h map2): B, n, r and ? too, which MIT-BIH itself does not use
    expected = {"N": "NLRBejn", "S": "AaJS", "V": "VEr", "F": "F", "Q": "/fQ?"}
    for cls, symbols in expected.items():
        assert all(SYMBOL_TO_CLASS[symbol] == cls for symbol in symbols)
    assert sorted(SYMBOL_TO_CLASS) == sorted("".join(expected.values()))
    # rhythm changes, noise, flutter waves, comments and non-conducted P waves are not beats
    assert aami_labels(["N", "+", "~", "!", '"', "x", "|", "V", "/", "S"]).tolist() == [0, -1, -1, -1, -1, -1, -1,
                                                                                      2, 4, 1]


def test_record_lists_are_the_inter_patient_ones() -> None:
    assert len(DS1) == len(DS2) == 22 and not set(DS1) & set(DS2)
    assert not (set(DS1) | set(DS2)) & set(PACED)
    assert len(set(DS1) | set(DS2) | set(PACED)) == 48


@pytest.mark.parametrize(("record", "counts"), [
    ("114", [54, 0, 0, 0, 0]), ("200", [53, 0, 34, 0, 0]), ("208", [64, 0, 30, 12, 0]),
    ("210", [84, 0, 7, 1, 0]), ("232", [18, 39, 0, 0, 0]), ("233", [72, 2, 30, 0, 0]),
])
def test_fixture_beats_per_class(record: str, counts: list[int]) -> None:
    data = read_record(FIXTURES, record, ("MLII",))
    assert np.bincount(data.beat_labels, minlength=5).tolist() == counts
    symbols = wfdb.rdann(str(FIXTURES / record), "atr").symbol
    assert len(data.beat_samples) == sum(symbol in SYMBOL_TO_CLASS for symbol in symbols)
    assert np.all(np.diff(data.beat_samples) > 0)


@pytest.mark.full_data
def test_full_database_counts_per_split() -> None:
    """The AAMI counts of the inter-patient splits, as published (and checked in the team's notes)."""
    directory = data_root() / "physio" / "mitdb"
    totals = {}
    for name, records in (("DS1", DS1), ("DS2", DS2)):
        counter: Counter[str] = Counter()
        for record in records:
            symbols = wfdb.rdann(str(directory / str(record)), "atr").symbol
            counter.update(AAMI_CLASSES[code] for code in aami_labels(symbols) if code >= 0)
        totals[name] = dict(counter)
    assert totals["DS1"] == {"N": 45_866, "S": 944, "V": 3_788, "F": 415, "Q": 8}
    assert totals["DS2"] == {"N": 44_259, "S": 1_837, "V": 3_221, "F": 388, "Q": 7}
