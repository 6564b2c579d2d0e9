"""From a ``Panel`` to tensors: splits that never leak, normalisation fitted on training data, padding.

Classification splits by series (the source's train/test files kept, a stratified validation share of the
training series); forecasting splits by time within each series: the last ``horizon`` steps are the test
targets, the ``horizon`` before them the validation targets, and training windows end before both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from gatelab.errors import DataError
from sklearn.model_selection import train_test_split
from torch import Tensor

from tasks.series.sources import Panel

__all__ = ["SeriesData", "classification_splits", "forecasting_splits", "pad_left"]

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class SeriesData:
    """Each split's tensors: ``x`` (series or windows, time, features) and ``y`` (class index, or
    (windows, horizon, targets) in normalised units). Forecasting ``extras`` per split: ``scale`` (windows,
    targets), the MASE denominator of the window's series, and ``unit`` (windows, targets), what a normalised
    error is multiplied by to be in the data's units. ``classes``: the class names (classification);
    ``rows``: each split's series (indices into ``panel``; classification); ``targets``: the forecast columns."""

    x: dict[str, Tensor]
    y: dict[str, Tensor]
    extras: dict[str, dict[str, Tensor]]
    classes: list[str]
    counts: dict[str, int]
    panel: Panel
    rows: dict[str, np.ndarray] | None = None
    targets: list[int] | None = None


def pad_left(series: list[np.ndarray], length: int) -> np.ndarray:
    """Stack (time, channels) arrays into (series, ``length``, channels + 1): zeros before each series' first
    step and a last channel marking real steps (1) from padding (0), so the last step is always real."""
    channels = series[0].shape[1]
    out = np.zeros((len(series), length, channels + 1), dtype=np.float32)
    for row, values in enumerate(series):
        out[row, length - len(values):, :channels] = values
        out[row, length - len(values):, channels] = 1.0
    return out


def _standardise(train_steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, std = train_steps.mean(axis=0), train_steps.std(axis=0)
    return mean, np.where(std > 0, std, 1.0)


def classification_splits(panel: Panel, val_share: float, test_share: float, seed: int,
                          train_fraction: float = 1.0) -> SeriesData:
    """Series-level splits (stratified by class), per-channel standardisation fitted on the training series;
    ``train_fraction`` < 1 keeps that share of the training series (stratified, drawn with ``seed``).

    Raises:
        DataError: the source has no labels, or a class too rare to stratify.
    """
    if panel.labels is None:
        raise DataError(f"{panel.origin}: no labels; a classification source needs a label per series "
                        "(label_column, or the .ts file's class values).")
    classes = sorted(set(panel.labels))
    index = np.arange(len(panel.ids))
    try:
        if panel.given_split is not None:
            train, test = index[panel.given_split == "train"], index[panel.given_split == "test"]
        else:
            train, test = train_test_split(index, test_size=test_share, stratify=panel.labels, random_state=seed)
        train, val = train_test_split(train, test_size=val_share, stratify=panel.labels[train], random_state=seed)
        if train_fraction < 1.0:
            train, _ = train_test_split(train, train_size=train_fraction, stratify=panel.labels[train],
                                        random_state=seed)
    except ValueError as err:
        raise DataError(f"{panel.origin}: cannot split by series with stratified classes ({err}); give more "
                        "series per class or a smaller val_share / test_share.") from err
    mean, std = _standardise(np.concatenate([panel.values[i] for i in train]))
    length = max(len(values) for values in panel.values)
    label_index = {name: code for code, name in enumerate(classes)}
    x, y = {}, {}
    for name, rows in zip(SPLITS, (train, val, test)):
        x[name] = torch.from_numpy(pad_left([(panel.values[i] - mean) / std for i in rows], length))
        y[name] = torch.tensor([label_index[panel.labels[i]] for i in rows])
    return SeriesData(x=x, y=y, extras={name: {} for name in SPLITS}, classes=classes,
                      counts={name: len(rows) for name, rows in zip(SPLITS, (train, val, test))}, panel=panel,
                      rows=dict(zip(SPLITS, (train, val, test))))


def forecasting_splits(panel: Panel, targets: list[str], context: int, horizon: int, season: int,
                       scaling: Literal["window", "global"], train_fraction: float = 1.0) -> SeriesData:
    """Windows of ``context`` steps (every channel) followed by ``horizon`` steps of the ``targets``;
    ``train_fraction`` < 1 keeps that share of each series' training windows, the latest ones (at least one).

    ``scaling="window"`` divides each window by its context's mean absolute value per channel (mean scaling,
    Salinas et al., "DeepAR", Int. J. Forecasting 36(3), 2020), which follows a trending level;
    ``"global"`` standardises every channel with the training steps' mean and standard deviation.
    The MASE scale of a series is the mean absolute ``season``-step difference of its training steps (the
    in-sample seasonal-naive error; Hyndman & Koehler, "Another look at measures of forecast accuracy",
    Int. J. Forecasting 22(4), 2006), in the data's units.

    Raises:
        DataError: an unknown target, or a series too short for a training window, validation and test.
    """
    unknown = [name for name in targets if name not in panel.channels]
    if unknown:
        raise DataError(f"{panel.origin}: targets {unknown} are not among the value columns {panel.channels}; "
                        "name forecast targets among the source's value_columns.")
    need = context + 3 * horizon
    for series_id, values in zip(panel.ids, panel.values):
        if len(values) < need or len(values) - 2 * horizon <= season:
            raise DataError(f"{panel.origin}: series '{series_id}' has {len(values)} steps; context {context} + "
                            f"3 x horizon {horizon} (a training window, validation, test) needs {need} and more "
                            f"than season {season} training steps; shorten context or horizon.")
    columns = [panel.channels.index(name) for name in targets]
    mean, std = _standardise(np.concatenate([values[: len(values) - 2 * horizon] for values in panel.values]))
    rows: dict[str, list[tuple[np.ndarray, ...]]] = {name: [] for name in SPLITS}
    for values in panel.values:
        train_end = len(values) - 2 * horizon
        history = values[:train_end, columns]
        scale = np.abs(history[season:] - history[:-season]).mean(axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        train_starts = range(context, train_end - horizon + 1)
        kept = max(1, round(len(train_starts) * train_fraction))
        starts = {"train": train_starts[-kept:], "val": [train_end], "test": [train_end + horizon]}
        for name, targets_start in starts.items():
            for start in targets_start:
                window = values[start - context:start + horizon]
                if scaling == "window":
                    shift, unit = np.zeros_like(mean), np.abs(window[:context]).mean(axis=0)
                    unit = np.where(unit > 0, unit, 1.0)
                else:
                    shift, unit = mean, std
                normal = (window - shift) / unit
                rows[name].append((normal[:context], normal[context:, columns], scale, unit[columns]))
    x, y, extras = {}, {}, {}
    for name, split in rows.items():
        x[name], y[name], scales, units = (torch.from_numpy(np.stack(part).astype(np.float32)) for part in zip(*split))
        extras[name] = {"scale": scales, "unit": units}
    return SeriesData(x=x, y=y, extras=extras, classes=[], counts={name: len(split) for name, split in rows.items()},
                      panel=panel, targets=columns)
