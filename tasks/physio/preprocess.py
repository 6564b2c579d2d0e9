"""From a record to beats: resampling, filtering, per-record normalisation, windows around R peaks, RR intervals.

Missing values (NaN, where a record holds its format's invalid-sample value) are never filled in:
each stretch of valid samples is filtered on its own, normalisation ignores missing values, and a
beat whose window touches one is dropped and counted (``RecordNotes``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields, replace
from fractions import Fraction
from typing import Literal, Self

import numpy as np
from gatelab.errors import ConfigError, DataError
from jsonargparse.typing import NonNegativeFloat, PositiveFloat, PositiveInt

from tasks.physio.database import Lead, RecordData

__all__ = ["MORPHOLOGY_SAMPLES", "QRS_WINDOW_S", "RECORD_RR_FEATURES", "RR_FEATURES", "T_WINDOW_S", "Beats",
           "Preprocessing", "RecordNotes", "cut_beats", "filter_signal", "morphology_samples", "record_relative_rr",
           "resample", "rr_intervals"]

RR_FEATURES = ("pre_rr", "post_rr", "local_rr", "pre_over_local")
"""The RR-interval features of each beat (seconds, and a ratio); see ``rr_intervals``."""
RECORD_RR_FEATURES = ("pre_over_record", "post_over_record", "local_over_record")
"""Each beat's ``pre_rr``, ``post_rr`` and ``local_rr`` over its record's mean RR; see ``record_relative_rr``."""
QRS_WINDOW_S = (-0.050, 0.100, 10)
"""Seconds from the R peak of the first and last QRS morphology sample, and their number (de Chazal et al. 2004)."""
T_WINDOW_S = (0.150, 0.500, 9)
"""The same for the T-wave samples; see ``morphology_samples``."""
MORPHOLOGY_SAMPLES = QRS_WINDOW_S[2] + T_WINDOW_S[2]
"""Morphology samples per lead."""
_LOCAL_BEATS = 10


@dataclass(frozen=True)
class Preprocessing:
    """How beats are cut from a record: everything the cached beat arrays depend on.

    Args:
        leads: lead names as in the headers (``sig_name``), MLII by default; an entry may be a list of
            alternatives, of which each record gives the first it holds: ``[MLII, [V1, V2, V4, V5]]`` is
            MLII plus the record's second lead (MIT-BIH's varies: V1 in most records, V2, V4 or V5 in some).
        sampling_rate_hz: the rate beats are cut at; a record stored at another rate is resampled to
            it (scipy's polyphase resampler). 360 Hz is the MIT-BIH rate.
        before_s: seconds of signal before the R peak in each beat's window.
        after_s: seconds after the R peak; the window is ``before_s + after_s`` long.
        highpass_hz: high-pass cut-off that removes baseline wander (0 turns it off).
        lowpass_hz: low-pass cut-off that removes muscle noise and mains hum (0 turns it off); must
            lie below the Nyquist frequency after downsampling.
        filter_order: order of the Butterworth filters, run forwards and backwards (zero phase).
        normalize: ``zscore`` scales each record's filtered leads to mean 0 and standard deviation 1
            (gain and electrode differences between patients), over its valid samples; ``none`` keeps
            millivolts.
        downsample: keep every n-th sample of a window (after the low-pass filter), e.g. 3: 360 -> 120 Hz.

    Raises:
        ConfigError: naming the setting that is out of range.
    """

    leads: tuple[Lead, ...] = ("MLII",)
    sampling_rate_hz: PositiveFloat = 360.0
    before_s: NonNegativeFloat = 0.25
    after_s: NonNegativeFloat = 0.45
    highpass_hz: NonNegativeFloat = 0.5
    lowpass_hz: NonNegativeFloat = 40.0
    filter_order: PositiveInt = 2
    normalize: Literal["zscore", "none"] = "zscore"
    downsample: PositiveInt = 1

    def __post_init__(self) -> None:
        names = [name for lead in self.leads for name in ((lead,) if isinstance(lead, str) else lead)]
        if not self.leads or not all(self.leads) or len(set(names)) != len(names):
            raise ConfigError(f"preprocess.leads: give one or more distinct lead names (or lists of alternatives), "
                              f"got {list(self.leads)}.")
        if self.before_s + self.after_s <= 0:
            raise ConfigError("preprocess.before_s + preprocess.after_s: the beat window must be longer than 0 s.")
        if self.highpass_hz and self.lowpass_hz and self.highpass_hz >= self.lowpass_hz:
            raise ConfigError(f"preprocess.highpass_hz ({self.highpass_hz}) must be below preprocess.lowpass_hz "
                              f"({self.lowpass_hz}).")
        if self.downsample > 1 and not self.lowpass_hz:
            raise ConfigError("preprocess.downsample > 1 needs preprocess.lowpass_hz > 0 (anti-aliasing).")
        _check_cutoffs(self.sampling_rate_hz, self)

    def window(self, fs: float) -> tuple[int, int]:
        """Samples before and after the R peak at sampling frequency ``fs``."""
        return round(self.before_s * fs), round(self.after_s * fs)


class _Rows:
    """Arrays aligned on their first axis (a dataclass of numpy arrays)."""

    @classmethod
    def concatenate(cls, parts: list[Self]) -> Self:
        """One table of several parts' rows, in the given order."""
        return cls(**{field.name: np.concatenate([getattr(part, field.name) for part in parts])
                      for field in fields(cls)})  # type: ignore[arg-type]


@dataclass
class Beats(_Rows):
    """Beats of one or more records, aligned on the first axis.

    Args:
        wave: the windows, shape (beats, steps, leads), float32.
        rr: RR-interval features (``RR_FEATURES``), shape (beats, 4), float32.
        label: AAMI class codes, shape (beats,).
        record: the record number of each beat.
        sample: the R peak's sample index in its record, at ``Preprocessing.sampling_rate_hz``.
    """

    wave: np.ndarray
    rr: np.ndarray
    label: np.ndarray
    record: np.ndarray
    sample: np.ndarray


@dataclass
class RecordNotes(_Rows):
    """What reading and cutting did to each record, aligned on records (for the data report).

    Args:
        record: the record number.
        stored_fs: the rate the record is stored at, Hz (resampled where it is not the cutting rate).
        invalid_samples: samples at which a chosen lead holds the format's invalid-sample value.
        dropped_invalid: annotated beats dropped because their window touches a missing value.
        dropped_edges: annotated beats dropped because their window runs over the record's start or end.
        not_beats: the annotations that are not classified beats, by symbol, as JSON (``{"+": 3, "~": 1}``).
    """

    record: np.ndarray
    stored_fs: np.ndarray
    invalid_samples: np.ndarray
    dropped_invalid: np.ndarray
    dropped_edges: np.ndarray
    not_beats: np.ndarray


def _check_cutoffs(fs: float, cfg: Preprocessing) -> None:
    nyquist = fs / 2 / cfg.downsample
    if cfg.lowpass_hz >= nyquist or cfg.highpass_hz >= fs / 2:
        raise ConfigError(f"preprocess.lowpass_hz ({cfg.lowpass_hz}) and highpass_hz ({cfg.highpass_hz}) must lie "
                          f"below {nyquist:g} Hz, the Nyquist frequency of {fs:g} Hz downsampled by {cfg.downsample}.")


def _valid_runs(valid: np.ndarray) -> list[tuple[int, int]]:
    """``(start, stop)`` of each stretch of True in a 1-D boolean array."""
    edges = np.flatnonzero(np.diff(np.concatenate([[False], valid, [False]]).astype(np.int8)))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def resample(record: RecordData, fs: float) -> RecordData:
    """The record at ``fs`` Hz, by scipy's polyphase resampler (``resample_poly``); beat indices mapped.

    The rate ratio is taken as a fraction with a denominator of at most 1000. A missing value (NaN)
    is missing at every output sample within the resampler's reach of it (its anti-aliasing filter's
    half-length, ``10 * max(up, down)`` samples at the upsampled rate). A beat at input sample ``i``
    lies at ``round(i * up / down)``.
    """
    from scipy import signal as sps  # local: scipy is heavy, and the options import this module

    ratio = Fraction(fs / record.fs).limit_denominator(1000)
    up, down = ratio.numerator, ratio.denominator
    missing = np.isnan(record.signal).any(axis=1)
    out = sps.resample_poly(np.nan_to_num(record.signal, nan=0.0), up, down, axis=0)
    if missing.any():
        reach = math.ceil(10 * max(up, down) / up) + 1
        near = np.convolve(missing, np.ones(2 * reach + 1), mode="same") > 0
        nearest = np.minimum(np.round(np.arange(len(out)) * down / up).astype(np.int64), len(missing) - 1)
        out[near[nearest]] = np.nan
    samples = np.round(record.beat_samples * up / down).astype(np.int64)
    return replace(record, fs=record.fs * up / down, signal=out, beat_samples=samples)


def filter_signal(signal: np.ndarray, fs: float, cfg: Preprocessing) -> np.ndarray:
    """Zero-phase Butterworth high-/low-pass filtering of (samples, leads), then per-record normalisation.

    A sample missing in any lead (NaN) is missing in all: each stretch of samples valid in every lead
    is filtered on its own (as a record of its own), a stretch too short for the filter's padding
    (``3 * (2 * sections + 1)`` samples) is left missing, and the z-score uses the valid samples only.

    Raises:
        ConfigError: a cut-off at or above the Nyquist frequency (after downsampling).
    """
    from scipy import signal as sps  # local: scipy is heavy, and the options import this module

    _check_cutoffs(fs, cfg)
    bands = {(True, True): ("bandpass", [cfg.highpass_hz, cfg.lowpass_hz]),
             (True, False): ("highpass", cfg.highpass_hz), (False, True): ("lowpass", cfg.lowpass_hz)}
    band = bands.get((cfg.highpass_hz > 0, cfg.lowpass_hz > 0))
    out = signal.astype(np.float64)
    valid = ~np.isnan(out).any(axis=1)
    out[~valid] = np.nan
    if band is not None:
        sos = sps.butter(cfg.filter_order, band[1], btype=band[0], fs=fs, output="sos")
        for start, stop in _valid_runs(valid):
            if stop - start > 3 * (2 * len(sos) + 1):
                out[start:stop] = sps.sosfiltfilt(sos, out[start:stop], axis=0)
            else:
                out[start:stop] = np.nan
    if cfg.normalize == "zscore" and not np.isnan(out).all():
        std = np.nanstd(out, axis=0)
        out = (out - np.nanmean(out, axis=0)) / np.where(std > 0, std, 1.0)
    return out


def rr_intervals(samples: np.ndarray, fs: float) -> np.ndarray:
    """RR-interval features of every beat, shape (beats, 4), from all beat annotations of a record.

    ``pre_rr``: seconds since the previous beat (the first beat takes its ``post_rr``); ``post_rr``:
    seconds to the next beat (the last takes its ``pre_rr``); ``local_rr``: mean ``pre_rr`` of this and
    the 9 previous beats; ``pre_over_local``: ``pre_rr / local_rr`` (premature beats are < 1). A record
    with fewer than two beats has no intervals: all zeros.
    """
    if len(samples) < 2:
        return np.zeros((len(samples), len(RR_FEATURES)), np.float32)
    rr = np.diff(samples) / fs
    pre = np.concatenate([rr[:1], rr])
    post = np.concatenate([rr, rr[-1:]])
    total = np.cumsum(np.concatenate([[0.0], pre]))
    first = np.maximum(np.arange(len(pre)) + 1 - _LOCAL_BEATS, 0)
    local = (total[1:] - total[first]) / (np.arange(len(pre)) + 1 - first)
    return np.stack([pre, post, local, pre / local], axis=1).astype(np.float32)


def record_relative_rr(rr: np.ndarray, record: np.ndarray) -> np.ndarray:
    """``pre_rr``, ``post_rr`` and ``local_rr`` of every beat over its record's mean ``pre_rr``, shape (beats, 3).

    The patient's own rhythm as the reference, so that a premature beat reads below 1 whatever the
    patient's heart rate: the RR normalisation of inter-patient classifiers (de Chazal et al. 2004 use
    the mean RR of the surrounding 5 minutes; here the whole record, 30 minutes in MIT-BIH).

    Args:
        rr: ``RR_FEATURES`` of each beat, shape (beats, 4), seconds.
        record: each beat's record, shape (beats,).
    """
    _, inverse = np.unique(record, return_inverse=True)
    mean = np.bincount(inverse, weights=rr[:, 0]) / np.bincount(inverse)
    return (rr[:, :3] / np.where(mean > 0, mean, 1.0)[inverse, None]).astype(np.float32)


def morphology_samples(wave: np.ndarray, cfg: Preprocessing) -> np.ndarray:
    """The QRS and T-wave morphology samples of every beat and lead, linearly interpolated from the beat windows:
    the morphology features of de Chazal et al. 2004 (their 10 QRS samples from 50 ms before to 100 ms after the R
    peak, their 9 T-wave samples from 150 ms to 500 ms after it).

    Args:
        wave: (beats, steps, leads) beat windows as ``cut_beats`` cuts them with ``cfg`` (R peak ``before_s`` in).
        cfg: the preprocessing the windows were cut with.

    Returns:
        (beats, leads * ``MORPHOLOGY_SAMPLES``), float32: per lead its 10 QRS samples then its 9 T-wave samples,
        windows clipped to the beat's.
    """
    fs = cfg.sampling_rate_hz
    before, after = cfg.window(fs)
    times = (np.arange(0, before + after, cfg.downsample) - before) / fs  # each step's seconds from the R peak
    points = np.clip(np.concatenate([np.linspace(*QRS_WINDOW_S), np.linspace(*T_WINDOW_S)]), times[0], times[-1])
    weights = np.stack([np.interp(points, times, column) for column in np.eye(len(times))], axis=1)  # (points, steps)
    samples = np.einsum("ps,bsl->blp", weights, wave)
    return samples.reshape(len(wave), -1).astype(np.float32)


def cut_beats(record: RecordData, cfg: Preprocessing) -> tuple[Beats, RecordNotes]:
    """The record's beats whose whole window lies inside the record and holds no missing value.

    The record is first resampled to ``cfg.sampling_rate_hz`` where it is stored at another rate.
    Beats at the record's edges and beats whose window touches a missing value are dropped; the
    notes count them.

    Returns:
        the kept beats and the record's notes (one row).

    Raises:
        DataError: the window is longer than the record, naming it and the fix.
    """
    stored_fs = record.fs
    invalid = int(np.isnan(record.signal).any(axis=1).sum())
    if not math.isclose(record.fs, cfg.sampling_rate_hz):
        record = resample(record, cfg.sampling_rate_hz)
    fs = cfg.sampling_rate_hz
    before, after = cfg.window(fs)
    length = before + after
    total = len(record.signal)
    if length > total:
        raise DataError(
            f"record {record.name}: the beat window ({cfg.before_s} s before + {cfg.after_s} s after the R peak = "
            f"{length} samples at {fs:g} Hz) is longer than the record ({total} samples, {total / fs:.2f} s); shorten "
            f"data.init_args.preprocess.before_s / after_s or leave this record out."
        )
    filtered = filter_signal(record.signal, fs, cfg)
    rr = rr_intervals(record.beat_samples, fs)
    starts, stops = record.beat_samples - before, record.beat_samples + after
    inside = (starts >= 0) & (stops <= total)
    missing_before = np.concatenate([[0], np.cumsum(np.isnan(filtered).any(axis=1))])
    touched = missing_before[np.clip(stops, 0, total)] > missing_before[np.clip(starts, 0, total)]
    kept = inside & ~touched
    index = starts[kept][:, None] + np.arange(0, length, cfg.downsample)[None, :]
    beats = Beats(
        wave=filtered[index].astype(np.float32),
        rr=rr[kept],
        label=record.beat_labels[kept].astype(np.int8),
        record=np.full(int(kept.sum()), int(record.name), dtype=np.int32),
        sample=record.beat_samples[kept],
    )
    notes = RecordNotes(
        record=np.array([int(record.name)], dtype=np.int32), stored_fs=np.array([stored_fs]),
        invalid_samples=np.array([invalid]), dropped_invalid=np.array([int((inside & touched).sum())]),
        dropped_edges=np.array([int((~inside).sum())]),
        not_beats=np.array([json.dumps(dict(record.not_beats), sort_keys=True)]),
    )
    return beats, notes
