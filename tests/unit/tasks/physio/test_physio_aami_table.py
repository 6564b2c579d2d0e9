"""The full EC57 table on an annotation set of our own; annotations that are no beats are counted by symbol."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import wfdb

from tasks.physio.aami import AAMI_CLASSES
from tasks.physio.database import read_record
from tasks.physio.datamodule import _not_beats
from tasks.physio.preprocess import Preprocessing, RecordNotes, cut_beats

MITDB = Path(__file__).parents[3] / "fixtures" / "mitdb"
# record 208's signal with annotations of our own: every EC57 class, symbols MIT-BIH lacks, non-beat marks
SYMBOLS = ["a", "J", "E", "F", "/", "r", "B", "n", "e", "f", "?", "+", "~", "!", "x", "|", "+", "N"]
CLASSES = ["S", "S", "V", "F", "Q", "V", "N", "N", "N", "Q", "Q", None, None, None, None, None, None, "N"]


def test_every_beat_code_maps_and_the_rest_is_counted(tmp_path: Path) -> None:
    for ext in ("hea", "dat"):
        shutil.copy(MITDB / f"208.{ext}", tmp_path / f"208.{ext}")
    samples = 1_000 + 900 * np.arange(len(SYMBOLS))
    wfdb.wrann("208", "atr", samples, SYMBOLS, fs=360, write_dir=str(tmp_path))
    record = read_record(tmp_path, "208", ("MLII",))
    beats = [cls for cls in CLASSES if cls is not None]
    assert [AAMI_CLASSES[code] for code in record.beat_labels] == beats
    assert record.beat_samples.tolist() == [s for s, cls in zip(samples.tolist(), CLASSES) if cls is not None]
    assert dict(record.not_beats) == {"!": 1, "+": 2, "x": 1, "|": 1, "~": 1}
    _, notes = cut_beats(record, Preprocessing())
    twice = RecordNotes.concatenate([notes, notes])
    assert _not_beats(twice) == "'!' 2, '+' 4, 'x' 2, '|' 2, '~' 2"
