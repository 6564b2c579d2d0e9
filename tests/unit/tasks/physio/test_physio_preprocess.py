"""Filtering, normalisation, beat windows at record edges, RR intervals, downsampling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gatelab.errors import ConfigError, DataError

from tasks.physio.database import RecordData, read_record
from tasks.physio.preprocess import Preprocessing, cut_beats, filter_signal, rr_intervals

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "mitdb"
FS = 360.0


def synthetic(beats: list[int], samples: int = 3600) -> RecordData:
    """A one-lead record whose value at sample i is i (so a window shows where it was cut)."""
    return RecordData(name="900", fs=FS, signal=np.arange(samples, dtype=np.float64)[:, None],
                      beat_samples=np.array(beats), beat_labels=np.zeros(len(beats), dtype=np.int64))


RAW = Preprocessing(highpass_hz=0.0, lowpass_hz=0.0, normalize="none")


def test_windows_at_record_edges_are_dropped_and_kept_ones_are_exact() -> None:
    before, after = RAW.window(FS)
    assert (before, after) == (90, 162)
    # the first fits exactly (starts at 0), the second would start at -1, the last ends exactly at the end
    beats = [90, 89, 1000, 3600 - 162, 3600 - 161]
    cut, notes = cut_beats(synthetic(sorted(beats)), RAW)
    assert cut.sample.tolist() == [90, 1000, 3438]
    assert cut.wave.shape == (3, 252, 1)
    for sample, wave in zip(cut.sample, cut.wave):
        assert wave[:, 0].tolist() == list(range(sample - 90, sample + 162))
    assert cut.record.tolist() == [900] * 3
    assert notes.dropped_edges.tolist() == [2] and notes.dropped_invalid.tolist() == [0]


def test_downsampling_keeps_every_nth_sample_of_the_filtered_window() -> None:
    record = read_record(FIXTURES, "232", ("MLII",))
    full, _ = cut_beats(record, Preprocessing(lowpass_hz=40.0))
    lean, _ = cut_beats(record, Preprocessing(lowpass_hz=40.0, downsample=3))
    assert full.wave.shape[1:] == (252, 1) and lean.wave.shape[1:] == (84, 1)
    assert np.array_equal(lean.wave, full.wave[:, ::3]) and np.array_equal(lean.sample, full.sample)


def test_window_longer_than_the_record_names_record_and_fix() -> None:
    with pytest.raises(DataError, match=r"record 900: the beat window .* longer than the record .*before_s"):
        cut_beats(synthetic([100], samples=200), RAW)


def test_filter_removes_baseline_wander_and_normalises() -> None:
    t = np.arange(int(60 * FS)) / FS
    qrs_like = np.sin(2 * np.pi * 10 * t)
    wander = 3.0 * np.sin(2 * np.pi * 0.1 * t) + 2.0
    out = filter_signal((qrs_like + wander)[:, None], FS, Preprocessing())
    middle = slice(int(5 * FS), int(55 * FS))
    assert out.mean() == pytest.approx(0.0, abs=1e-9) and out.std() == pytest.approx(1.0)
    # after z-scoring, what is left is the 10 Hz component (correlation ~1), not the drift
    assert np.corrcoef(out[middle, 0], qrs_like[middle])[0, 1] > 0.99


def test_rr_intervals() -> None:
    samples = np.array([0, 360, 720, 900, 1440])  # 1 s, 1 s, 0.5 s (premature), 1.5 s
    rr = rr_intervals(samples, FS)
    assert rr[:, 0].tolist() == pytest.approx([1.0, 1.0, 1.0, 0.5, 1.5])  # pre (first takes its post)
    assert rr[:, 1].tolist() == pytest.approx([1.0, 1.0, 0.5, 1.5, 1.5])  # post (last takes its pre)
    assert rr[:, 2].tolist() == pytest.approx([1.0, 1.0, 1.0, 3.5 / 4, 5.0 / 5])  # mean of the last up to 10 pre
    assert rr[3, 3] == pytest.approx(0.5 / (3.5 / 4))
    assert rr_intervals(np.array([10]), FS).tolist() == [[0.0, 0.0, 0.0, 0.0]]


def test_local_rr_uses_the_last_ten_beats_only() -> None:
    samples = np.cumsum([0] + [360] * 10 + [720] * 10)
    assert rr_intervals(samples, FS)[-1, 2] == pytest.approx(2.0)


def test_real_record_beats() -> None:
    record = read_record(FIXTURES, "208", ("MLII",))
    cfg = Preprocessing(downsample=3)
    cut, _ = cut_beats(record, cfg)
    # 208's first beat (sample 46) is too close to the start for 0.25 s before it, its last (21,560 of
    # 21,600) too close to the end for 0.45 s after it: both are dropped, every other beat is kept
    assert record.beat_samples[0] == 46 and record.beat_samples[-1] == 21_560
    assert cut.sample.tolist() == record.beat_samples[1:-1].tolist()
    assert cut.wave.shape == (len(cut.sample), 84, 1) and cut.wave.dtype == np.float32
    assert np.isfinite(cut.wave).all() and np.isfinite(cut.rr).all()
    # the R peak sits at step 30 (0.25 s at 120 Hz): on average the largest deflection of N beats
    normal = cut.wave[cut.label == 0, :, 0]
    assert int(np.argmax(np.abs(normal.mean(axis=0)))) in range(28, 33)


@pytest.mark.parametrize(("settings", "key"), [
    ({"leads": ()}, "leads"),
    ({"leads": ("MLII", "MLII")}, "leads"),
    ({"before_s": 0.0, "after_s": 0.0}, "before_s"),
    ({"highpass_hz": 50.0, "lowpass_hz": 40.0}, "highpass_hz"),
    ({"downsample": 3, "lowpass_hz": 0.0}, "downsample"),
])
def test_bad_preprocessing_is_named(settings: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        Preprocessing(**settings)


def test_lowpass_above_nyquist_after_downsampling_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"lowpass_hz .* below 45 Hz"):
        filter_signal(np.zeros((1000, 1)), FS, Preprocessing(lowpass_hz=50.0, downsample=4))
