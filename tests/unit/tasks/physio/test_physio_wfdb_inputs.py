"""WFDB records read as the format defines them: no sample count, invalid samples, other sampling rates."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest
import wfdb
from conftest import copy_records
from gatelab.errors import ConfigError, DataError
from scipy import signal as sps

from tasks.physio import PatientSplit, PhysioDataModule, Preprocessing
from tasks.physio.cache import cache_key
from tasks.physio.database import RecordData, read_record
from tasks.physio.datamodule import prepare_beats
from tasks.physio.preprocess import cut_beats, resample

FIXTURES = Path(__file__).parents[3] / "fixtures"
MITDB = FIXTURES / "mitdb"
NO_SIGLEN = FIXTURES / "cases" / "physio_no_siglen"
INVALID = FIXTURES / "cases" / "physio_invalid_samples"
TINY = PatientSplit(train_records=(114, 200, 208, 232), val_records=(200,), test_records=(210, 233))
CFG = Preprocessing()
BEFORE, AFTER = CFG.window(360.0)  # 90 and 162 samples


def touching(samples: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Beats whose window [sample - 90, sample + 162) overlaps samples [start, stop)."""
    return (samples - BEFORE < stop) & (samples + AFTER > start)


def module(path: Path, tmp_path: Path, **settings: object) -> PhysioDataModule:
    data = PhysioDataModule(path=str(path), split=TINY, cache_dir=str(tmp_path / "cache"),
                            **{"preprocess": Preprocessing(downsample=3), **settings})  # type: ignore[arg-type]
    data.setup("fit")
    return data


# --- a header without the sample count -------------------------------------------------------------------


def test_header_without_sample_count_is_read_to_the_signal_files_length() -> None:
    """Case physio_no_siglen: 233's header says '233 2 360'; the length comes from 233.dat (64,800 bytes)."""
    assert wfdb.rdheader(str(NO_SIGLEN / "233")).sig_len is None
    record = read_record(NO_SIGLEN, "233", ("MLII", "V1"))
    original = read_record(MITDB, "233", ("MLII", "V1"))
    assert record.signal.shape == (21_600, 2)
    assert np.array_equal(record.signal, original.signal)
    assert np.array_equal(record.beat_samples, original.beat_samples)


def test_another_header_without_sample_count_is_read_and_still_checksummed(tmp_path: Path) -> None:
    copy_records(tmp_path, "208")
    header = tmp_path / "208.hea"
    header.write_text(header.read_text().replace("208 2 360 21600\n", "208 2 360\n", 1))
    assert np.array_equal(read_record(tmp_path, "208", ("MLII",)).signal, read_record(MITDB, "208", ("MLII",)).signal)
    # without the count the size cannot be checked, but the header's checksums still catch a cut file
    (tmp_path / "208.dat").write_bytes((MITDB / "208.dat").read_bytes()[:-3000])
    with pytest.raises(DataError, match=r"^record 208: the samples' checksums .* differ from the header's"):
        read_record(tmp_path, "208", ("MLII",))


def test_the_no_siglen_case_gives_the_same_beats_as_the_original(tmp_path: Path) -> None:
    case = module(NO_SIGLEN, tmp_path / "case")
    original = module(MITDB, tmp_path / "original")
    assert case.data_report() == original.data_report()
    assert np.array_equal(case.data.wave, original.data.wave)
    assert all(np.array_equal(case.data.rows[split], original.data.rows[split]) for split in ("train", "val", "test"))


# --- the format's invalid-sample value ---------------------------------------------------------------------


def test_invalid_samples_of_format_16_are_missing_values() -> None:
    """Case physio_invalid_samples: MLII of 210 holds -32768 at samples 7,200..8,279 (format 16)."""
    record = read_record(INVALID, "210", ("MLII", "V1"))
    original = read_record(MITDB, "210", ("MLII", "V1"))
    missing = np.isnan(record.signal)
    assert np.flatnonzero(missing[:, 0]).tolist() == list(range(7_200, 8_280)) and not missing[:, 1].any()
    assert np.array_equal(record.signal[~missing], original.signal[~missing])  # the same millivolts elsewhere


def test_beats_touching_invalid_samples_are_dropped_and_the_scale_is_kept() -> None:
    record = read_record(INVALID, "210", CFG.leads)
    beats, notes = cut_beats(record, CFG)
    original, original_notes = cut_beats(read_record(MITDB, "210", CFG.leads), CFG)
    gone = touching(original.sample, 7_200, 8_280)
    assert gone.sum() == 5 and original.sample[gone].tolist() == [7187, 7414, 7617, 7842, 8115]
    assert beats.sample.tolist() == original.sample[~gone].tolist()
    assert notes.invalid_samples.tolist() == [1_080] and notes.dropped_invalid.tolist() == [5]
    assert notes.dropped_edges.tolist() == original_notes.dropped_edges.tolist() == [2]
    assert np.isfinite(beats.wave).all()
    # normalisation ignores the missing stretch: beats 5 s or more away from it keep their shape and scale
    # (a -169 mV reading of the marker shrank them 2.2 times)
    far = np.abs(beats.sample - 7_740) > 5 * 360
    kept, reference = beats.wave[far], original.wave[~gone][far]
    assert kept.std() / reference.std() == pytest.approx(1.0, abs=0.05)
    assert np.corrcoef(kept.ravel(), reference.ravel())[0, 1] > 0.999


def test_invalid_samples_of_format_212_written_by_wfdb(tmp_path: Path) -> None:
    """Record 233 rewritten in format 212 with two stretches of NaN (stored as -2048) in MLII, one in V1."""
    source = wfdb.rdrecord(str(MITDB / "233"))
    signal = source.p_signal.copy()
    signal[3_000:3_720, 0] = np.nan  # 2 s
    signal[15_000:15_010, 0] = np.nan  # 10 samples
    signal[10_000:10_360, 1] = np.nan  # 1 s of V1 only
    wfdb.wrsamp("233", fs=360, units=source.units, sig_name=source.sig_name, p_signal=signal, fmt=["212", "212"],
                adc_gain=source.adc_gain, baseline=source.baseline, write_dir=str(tmp_path))
    shutil.copy(MITDB / "233.atr", tmp_path / "233.atr")
    digital = wfdb.rdrecord(str(tmp_path / "233"), physical=False).d_signal
    assert (digital[:, 0] == -2048).sum() == 730 and (digital[:, 1] == -2048).sum() == 360

    record = read_record(tmp_path, "233", ("MLII",))
    assert np.isnan(record.signal[:, 0]).sum() == 730
    beats, notes = cut_beats(record, CFG)
    every = read_record(MITDB, "233", ("MLII",)).beat_samples
    inside = (every - BEFORE >= 0) & (every + AFTER <= 21_600)
    gone = inside & (touching(every, 3_000, 3_720) | touching(every, 15_000, 15_010))
    assert notes.dropped_invalid.tolist() == [gone.sum()] and gone.sum() > 0
    assert beats.sample.tolist() == every[inside & ~gone].tolist()
    # with both leads, the V1 stretch drops its beats too
    _, both = cut_beats(read_record(tmp_path, "233", ("MLII", "V1")), dataclasses.replace(CFG, leads=("MLII", "V1")))
    assert both.dropped_invalid.tolist() == [(gone | (inside & touching(every, 10_000, 10_360))).sum()]
    assert both.invalid_samples.tolist() == [730 + 360]


def test_the_invalid_samples_case_is_reported_per_record(tmp_path: Path) -> None:
    report = module(INVALID, tmp_path).data_report()
    assert report["data.invalid_samples"] == 1_080 and report["data.dropped_beats_invalid"] == 5
    assert report["data.invalid_by_record"] == "210: 1,080 invalid samples, 5 beats dropped"
    assert report["data.resampled_records"] == 0 and report["data.resampled_from"] == "none"
    # 210 lost 4 N and its only F beat; 233 has no F: the test split lacks F and says what that does
    assert report["data.test_beats"] == "N 149, S 2, V 36, F 0"
    assert report["data.test_missing_classes"] == "F (macro-F1 averages over the classes present)"


# --- other sampling rates ----------------------------------------------------------------------------------


def write_at(rate: int, dest: Path, record: str = "208") -> None:
    """A fixture record resampled to ``rate`` Hz with scipy and written with wfdb, its annotations mapped."""
    source = wfdb.rdrecord(str(MITDB / record))
    signal = sps.resample_poly(source.p_signal, rate, 360, axis=0)
    wfdb.wrsamp(record, fs=rate, units=source.units, sig_name=source.sig_name, p_signal=signal, fmt=["16", "16"],
                adc_gain=source.adc_gain, baseline=source.baseline, write_dir=str(dest))
    ann = wfdb.rdann(str(MITDB / record), "atr")
    samples = np.minimum(np.round(ann.sample * rate / 360).astype(np.int64), len(signal) - 1)
    wfdb.wrann(record, "atr", samples, ann.symbol, subtype=ann.subtype, chan=ann.chan, num=ann.num,
               aux_note=ann.aux_note, fs=rate, write_dir=str(dest))


def test_a_record_at_250_hz_is_resampled_to_360(tmp_path: Path) -> None:
    write_at(250, tmp_path)
    record = read_record(tmp_path, "208", CFG.leads)
    assert record.fs == 250.0 and record.signal.shape == (15_000, 1)
    beats, notes = cut_beats(record, CFG)
    original, _ = cut_beats(read_record(MITDB, "208", CFG.leads), CFG)
    assert notes.stored_fs.tolist() == [250.0] and beats.wave.shape[1:] == original.wave.shape[1:] == (252, 1)
    assert np.array_equal(beats.label, original.label)
    assert np.abs(beats.sample - original.sample).max() <= 1  # 360 / 250: an index is off by 1 sample at most
    assert np.corrcoef(beats.wave.ravel(), original.wave.ravel())[0, 1] > 0.97


def test_resampled_records_are_counted_and_change_the_cache_key(tmp_path: Path) -> None:
    folder = copy_records(tmp_path / "mixed", "114", "200", "210", "232", "233")
    write_at(250, folder, "208")
    report = module(folder, tmp_path).data_report()
    assert report["data.resampled_records"] == 1 and report["data.resampled_from"] == "208 (250 Hz)"
    assert report["data.sampling_rate_hz"] == 360.0
    records = TINY.records()
    assert cache_key(dataclasses.replace(CFG, sampling_rate_hz=250.0), records, "x") != cache_key(CFG, records, "x")
    # the notes travel with the cached beats
    prepare_beats.cache_clear()
    again = module(folder, tmp_path)
    assert again.data.from_cache and again.data_report() == report


def test_cutting_at_another_rate_resamples_every_record(tmp_path: Path) -> None:
    cfg = Preprocessing(sampling_rate_hz=250.0, lowpass_hz=30.0)
    beats, notes = cut_beats(read_record(MITDB, "208", cfg.leads), cfg)
    assert notes.stored_fs.tolist() == [360.0] and beats.wave.shape[1:] == (round(0.25 * 250) + round(0.45 * 250), 1)
    report = module(MITDB, tmp_path, preprocess=cfg).data_report()
    assert report["data.resampled_records"] == 6 and report["data.sampling_rate_hz"] == 250.0


def test_resampling_keeps_missing_values_missing() -> None:
    signal = np.sin(np.arange(3_600) / 20.0)[:, None]
    signal[1_000:1_100] = np.nan
    record = RecordData(name="901", fs=360.0, signal=signal, beat_samples=np.array([360, 1_800]),
                        beat_labels=np.zeros(2, dtype=np.int64))
    out = resample(record, 250.0)
    assert out.fs == 250.0 and out.signal.shape == (2_500, 1) and out.beat_samples.tolist() == [250, 1_250]
    missing = np.flatnonzero(np.isnan(out.signal[:, 0]))
    # 1,000..1,099 at 360 Hz is 694.4..763.2 at 250 Hz, widened by the resampler's reach (11 input samples)
    assert missing.min() <= 694 and missing.max() >= 763 and missing.min() > 670 and missing.max() < 790
    assert np.isfinite(out.signal[:600]).all() and np.isfinite(out.signal[850:]).all()


def test_cut_offs_are_checked_against_the_cutting_rate() -> None:
    with pytest.raises(ConfigError, match=r"preprocess.lowpass_hz \(40.0\) .* below 25 Hz, the Nyquist frequency of "
                                          r"100 Hz downsampled by 2"):
        Preprocessing(sampling_rate_hz=100.0, downsample=2)


def test_a_window_longer_than_a_resampled_record_names_the_record() -> None:
    record = RecordData(name="902", fs=250.0, signal=np.zeros((150, 1)), beat_samples=np.array([70]),
                        beat_labels=np.zeros(1, dtype=np.int64))
    with pytest.raises(DataError, match=r"^record 902: the beat window .* 252 samples at 360 Hz\) is longer than the "
                                        r"record \(216 samples"):
        cut_beats(record, CFG)
