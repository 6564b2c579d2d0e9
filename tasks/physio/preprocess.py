"""From a record to beats: filtering, per-record normalisation, windows around R peaks, RR intervals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from jsonargparse.typing import NonNegativeFloat, PositiveInt
from scipy import signal as sps

from gatelab.errors import ConfigError, DataError
from tasks.physio.database import RecordData

__all__ = ["RR_FEATURES", "Beats", "Preprocessing", "cut_beats", "filter_signal", "rr_intervals"]

RR_FEATURES = ("pre_rr", "post_rr", "local_rr", "pre_over_local")
"""The RR-interval features of each beat (seconds, and a ratio); see ``rr_intervals``."""
_LOCAL_BEATS = 10


@dataclass(frozen=True)
class Preprocessing:
    """How beats are cut from a record: everything the cached beat arrays depend on.

    Args:
        leads: lead names as in the headers (``sig_name``); MLII by default.
        before_s: seconds of signal before the R peak in each beat's window.
        after_s: seconds after the R peak; the window is ``before_s + after_s`` long.
        highpass_hz: high-pass cut-off that removes baseline wander (0 turns it off).
        lowpass_hz: low-pass cut-off that removes muscle noise and mains hum (0 turns it off); must
            lie below the Nyquist frequency after downsampling.
        filter_order: order of the Butterworth filters, run forwards and backwards (zero phase).
        normalize: ``zscore`` scales each record's filtered leads to mean 0 and standard deviation 1
            (gain and electrode differences between patients); ``none`` keeps millivolts.
        downsample: keep every n-th sample of a window (after the low-pass filter), e.g. 3: 360 -> 120 Hz.
    """

    leads: tuple[str, ...] = ("MLII",)
    before_s: NonNegativeFloat = 0.25
    after_s: NonNegativeFloat = 0.45
    highpass_hz: NonNegativeFloat = 0.5
    lowpass_hz: NonNegativeFloat = 40.0
    filter_order: PositiveInt = 2
    normalize: Literal["zscore", "none"] = "zscore"
    downsample: PositiveInt = 1

    def __post_init__(self) -> None:
        if not self.leads or len(set(self.leads)) != len(self.leads):
            raise ConfigError(f"preprocess.leads: give one or more distinct lead names, got {list(self.leads)}.")
        if self.before_s + self.after_s <= 0:
            raise ConfigError("preprocess.before_s + preprocess.after_s: the beat window must be longer than 0 s.")
        if self.highpass_hz and self.lowpass_hz and self.highpass_hz >= self.lowpass_hz:
            raise ConfigError(f"preprocess.highpass_hz ({self.highpass_hz}) must be below preprocess.lowpass_hz "
                              f"({self.lowpass_hz}).")
        if self.downsample > 1 and not self.lowpass_hz:
            raise ConfigError("preprocess.downsample > 1 needs preprocess.lowpass_hz > 0 (anti-aliasing).")

    def window(self, fs: float) -> tuple[int, int]:
        """Samples before and after the R peak at sampling frequency ``fs``."""
        return round(self.before_s * fs), round(self.after_s * fs)


@dataclass
class Beats:
    """Beats of one or more records, aligned on the first axis.

    Args:
        wave: the windows, shape (beats, steps, leads), float32.
        rr: RR-interval features (``RR_FEATURES``), shape (beats, 4), float32.
        label: AAMI class codes, shape (beats,).
        record: the record number of each beat.
        sample: the R peak's sample index in its record.
    """

    wave: np.ndarray
    rr: np.ndarray
    label: np.ndarray
    record: np.ndarray
    sample: np.ndarray

    @classmethod
    def concatenate(cls, parts: list[Beats]) -> Beats:
        """One Beats of several records' beats, in the given order."""
        names = cls.__dataclass_fields__
        return cls(**{name: np.concatenate([getattr(part, name) for part in parts]) for name in names})


def filter_signal(signal: np.ndarray, fs: float, cfg: Preprocessing) -> np.ndarray:
    """Zero-phase Butterworth high-/low-pass filtering of (samples, leads), then per-record normalisation.

    Raises:
        ConfigError: a cut-off at or above the Nyquist frequency (after downsampling).
    """
    nyquist = fs / 2 / cfg.downsample
    if cfg.lowpass_hz >= nyquist or cfg.highpass_hz >= fs / 2:
        raise ConfigError(f"preprocess.lowpass_hz ({cfg.lowpass_hz}) and highpass_hz ({cfg.highpass_hz}) must lie "
                          f"below {nyquist:g} Hz, the Nyquist frequency of {fs:g} Hz downsampled by {cfg.downsample}.")
    bands = {(True, True): ("bandpass", [cfg.highpass_hz, cfg.lowpass_hz]),
             (True, False): ("highpass", cfg.highpass_hz), (False, True): ("lowpass", cfg.lowpass_hz)}
    band = bands.get((cfg.highpass_hz > 0, cfg.lowpass_hz > 0))
    out = signal.astype(np.float64)
    if band is not None:
        sos = sps.butter(cfg.filter_order, band[1], btype=band[0], fs=fs, output="sos")
        out = sps.sosfiltfilt(sos, out, axis=0)
    if cfg.normalize == "zscore":
        std = out.std(axis=0)
        out = (out - out.mean(axis=0)) / np.where(std > 0, std, 1.0)
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


def cut_beats(record: RecordData, cfg: Preprocessing) -> Beats:
    """The record's beats whose whole window lies inside the record (beats at its edges are dropped).

    Raises:
        DataError: the window is longer than the record, naming it and the fix.
    """
    before, after = cfg.window(record.fs)
    length = before + after
    total = len(record.signal)
    if length > total:
        raise DataError(
            f"record {record.name}: the beat window ({cfg.before_s} s before + {cfg.after_s} s after the R peak = "
            f"{length} samples) is longer than the record ({total} samples, {total / record.fs:.2f} s); shorten "
            f"data.init_args.preprocess.before_s / after_s or leave this record out."
        )
    filtered = filter_signal(record.signal, record.fs, cfg)
    rr = rr_intervals(record.beat_samples, record.fs)
    inside = (record.beat_samples - before >= 0) & (record.beat_samples + after <= total)
    starts = record.beat_samples[inside] - before
    index = starts[:, None] + np.arange(0, length, cfg.downsample)[None, :]
    kept = int(inside.sum())
    return Beats(
        wave=filtered[index].astype(np.float32),
        rr=rr[inside],
        label=record.beat_labels[inside].astype(np.int8),
        record=np.full(kept, int(record.name), dtype=np.int32),
        sample=record.beat_samples[inside],
    )
