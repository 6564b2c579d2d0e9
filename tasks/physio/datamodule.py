"""The ECG DataModule: MIT-BIH beats, AAMI classes, split by patient (record)."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from gatelab.training.baselines import Baseline, EstimatorBaseline, SplitFeatures
from gatelab.training.loaders import keep_batch
from gatelab.training.task import ClassificationDataModule
from matplotlib.figure import Figure
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, WeightedRandomSampler
from torchmetrics import MetricCollection

from tasks.physio.aami import AAMI_CLASSES
from tasks.physio.baselines import LINEAR_DISCRIMINANT, linear_discriminant
from tasks.physio.cache import cache_key, load_or_build
from tasks.physio.database import ensure_records, files_fingerprint, read_record
from tasks.physio.metrics import beat_metrics, confusion_figure
from tasks.physio.options import PhysioOptions
from tasks.physio.preprocess import (
    RR_FEATURES,
    Beats,
    Preprocessing,
    RecordNotes,
    cut_beats,
    morphology_samples,
    record_relative_rr,
)
from tasks.physio.splits import SPLITS, PatientSplit, class_counts_text, fewer_records

__all__ = ["BeatBatches", "PhysioDataModule", "PreparedBeats", "data_report", "prepare_beats"]

_LOG = logging.getLogger(__name__)


class BeatBatches(Dataset):
    """Examples of one split served as whole batches of ``{"x", "y"}``.

    ``context`` None: an example is one beat window, a step per sample, ``x`` of shape (batch, steps,
    leads + rr features), the RR features repeated at every step. ``context`` k, ``layout`` ``windows``:
    an example is the beat with the k beats before and after it in its record, a step per beat, ``x`` of
    shape (batch, 2k + 1, steps * leads + rr features + 1): each step holds that beat's window (its leads
    side by side), its RR features and a 1 (0 for every feature where the record has no beat there, at
    its start or end); step k is the labelled beat. ``layout`` ``rr``: the beat's own window, a step per
    sample, each step carrying the RR features and presence flag of the beat and its 2k neighbours (an
    RR-interval sequence, the beat's at position k), ``x`` of shape (batch, steps, leads + (2k + 1) *
    (rr features + 1)). Neighbours are the next beats cut from the same record, whatever their class
    (beats dropped at the edges or at missing values are skipped).

    Args:
        wave: every beat's window, (beats, steps, leads), beats in record order and time order within one.
        rr: (beats, rr features), or None to leave them out.
        label: (beats,) class indices (-1 for beats of classes left out).
        record: (beats,) each beat's record.
        rows: the split's labelled beats, indices into the arrays above.
        context: beats before and after each example's beat, or None for a single window.
        layout: ``windows`` (neighbours' windows, a step per beat) or ``rr`` (neighbours' RR features
            on the beat's own window; needs ``rr``).
    """

    def __init__(self, wave: Tensor, rr: Tensor | None, label: Tensor, record: Tensor, rows: Tensor,
                 context: int | None = None, layout: Literal["windows", "rr"] = "windows") -> None:
        self.wave, self.rr, self.label, self.record, self.rows = wave, rr, label, record, rows
        self.offsets = None if context is None else torch.arange(-context, context + 1)
        self.layout = layout

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        return {key: value[0] for key, value in self.__getitems__([index]).items()}

    def __getitems__(self, indices: list[int]) -> dict[str, Tensor]:
        centre = self.rows[torch.as_tensor(indices)]
        if self.offsets is None:
            x = self.wave[centre]
            if self.rr is not None:
                x = torch.cat([x, self.rr[centre, None, :].expand(-1, x.shape[1], -1)], dim=-1)
            return {"x": x, "y": self.label[centre]}
        around = centre[:, None] + self.offsets[None, :]
        near = around.clamp(0, len(self.label) - 1)
        present = ((around == near) & (self.record[near] == self.record[centre, None])).float()[..., None]
        if self.layout == "rr" and self.rr is not None:
            sequence = (torch.cat([self.rr[near], torch.ones_like(present)], dim=-1) * present).flatten(1)
            x = self.wave[centre]
            return {"x": torch.cat([x, sequence[:, None, :].expand(-1, x.shape[1], -1)], dim=-1),
                    "y": self.label[centre]}
        rr = [self.rr[near]] if self.rr is not None else []
        parts = [self.wave[near].flatten(2), *rr, torch.ones_like(present)]
        return {"x": torch.cat(parts, dim=-1) * present, "y": self.label[centre]}


@dataclass(frozen=True)
class PreparedBeats:
    """Every beat cut from the split's records, each split's labelled beats, the training class counts, the
    data's fingerprint and its report.

    Args:
        wave: (beats, steps, leads), beats in record order and time order within one.
        rr: (beats, 7): ``RR_FEATURES`` then ``RECORD_RR_FEATURES``, standardised on the training beats.
        morphology: (beats, leads * ``MORPHOLOGY_SAMPLES``): each lead's QRS and T-wave samples
            (``morphology_samples``), standardised on the training beats.
        label: (beats,) class indices into the DataModule's ``classes``; -1 for beats of other classes.
        record: (beats,) each beat's record.
        rows: each split's beats (``train``, ``val``, ``test``), indices into the arrays above.
    """

    wave: Tensor
    rr: Tensor
    morphology: Tensor
    label: Tensor
    record: Tensor
    rows: dict[str, Tensor]
    records: dict[str, tuple[int, ...]]
    train_counts: tuple[int, ...]
    fingerprint: str
    from_cache: bool
    report: dict[str, int | float | str]


def _build(directory: Path, records: tuple[int, ...], cfg: Preprocessing) -> tuple[Beats, RecordNotes]:
    _LOG.info("preprocessing %d MIT-BIH records from %s", len(records), directory)
    cut = [cut_beats(read_record(directory, str(record), cfg.leads), cfg) for record in records]
    return Beats.concatenate([beats for beats, _ in cut]), RecordNotes.concatenate([notes for _, notes in cut])


def _by_record(notes: RecordNotes) -> str:
    listed = [f"{record}: {samples:,} invalid samples, {beats:,} beats dropped"
              for record, samples, beats in zip(notes.record.tolist(), notes.invalid_samples.tolist(),
                                                notes.dropped_invalid.tolist()) if samples or beats]
    return "; ".join(listed) or "none"


def _not_beats(notes: RecordNotes) -> str:
    """The records' annotations that are not classified beats, summed by symbol: ``'+' 42, '~' 3``."""
    total: Counter[str] = Counter()
    for text in notes.not_beats.tolist():
        total.update(json.loads(text))
    return ", ".join(f"{symbol!r} {count:,}" for symbol, count in sorted(total.items())) or "none"


def data_report(notes: RecordNotes, cfg: Preprocessing, other_classes: int, counts: dict[str, np.ndarray],
                classes: tuple[str, ...], missing: dict[str, str]) -> dict[str, int | float | str]:
    """What reading, cutting and splitting did to the beats, as ``data.*`` entries (``PhysioDataModule.data_report``).

    Args:
        notes: every record's notes.
        cfg: the preprocessing.
        other_classes: beats left out because their class is not in ``classes``.
        counts: beats per class of each split.
        classes: the class names.
        missing: the classes validation and test lack (``PatientSplit.check_classes``).
    """
    resampled = ~np.isclose(notes.stored_fs, cfg.sampling_rate_hz)
    rates = [f"{record} ({fs:g} Hz)" for record, fs in zip(notes.record[resampled].tolist(),
                                                          notes.stored_fs[resampled].tolist())]
    return {
        "data.sampling_rate_hz": cfg.sampling_rate_hz,
        "data.resampled_records": int(resampled.sum()),
        "data.resampled_from": ", ".join(rates) or "none",
        "data.invalid_samples": int(notes.invalid_samples.sum()),
        "data.dropped_beats_invalid": int(notes.dropped_invalid.sum()),
        "data.invalid_by_record": _by_record(notes),
        "data.dropped_beats_edges": int(notes.dropped_edges.sum()),
        "data.dropped_beats_other_classes": other_classes,
        "data.annotations_not_beats": _not_beats(notes),
        **{f"data.{name}_beats": class_counts_text(counts[name], classes) for name in SPLITS},
        **{f"data.{name}_missing_classes": f"{lacked} (macro-F1 averages over the classes present)" if lacked
           else "none" for name, lacked in missing.items()},
    }


def _standardised(features: np.ndarray, train: np.ndarray) -> Tensor:
    """(beats, features) to mean 0 and standard deviation 1 by the statistics of the ``train`` rows only, float32."""
    mean, std = features[train].mean(axis=0), features[train].std(axis=0)
    return torch.from_numpy(((features - mean) / np.where(std > 0, std, 1.0)).astype(np.float32))


@functools.lru_cache(maxsize=2)
def prepare_beats(directory: Path, cfg: Preprocessing, split: PatientSplit, classes: tuple[str, ...],
                  cache_dir: Path, record_fraction: float = 1.0) -> PreparedBeats:
    """Read (or load from the cache) every record's beats, keep ``classes``, split them by ``split``; below 1,
    ``record_fraction`` trains on that share of the training records (``fewer_records``).

    Cached per process too, so the trials of a sweep share one copy.

    Raises:
        DataError: a damaged or missing record, an unknown lead, a window longer than a record, a class
            without training beats, a validation or test split with fewer than two classes, or a
            ``record_fraction`` too small to keep every class.
    """
    records = split.records()
    fingerprint = files_fingerprint(directory, map(str, records))
    key = cache_key(cfg, records, fingerprint)
    beats, notes, from_cache = load_or_build(cache_dir, key, lambda: _build(directory, records, cfg))
    codes = [AAMI_CLASSES.index(cls) for cls in classes]
    remap = np.full(len(AAMI_CLASSES), -1, dtype=np.int64)
    remap[codes] = np.arange(len(codes))
    label = remap[beats.label]
    kept = np.flatnonzero(label >= 0)
    index = {name: kept[rows] for name, rows in split.assign(beats.record[kept], label[kept]).items()}
    fewer = {}
    if record_fraction < 1.0:
        train = index["train"]
        records = fewer_records(beats.record[train], label[train], record_fraction, classes)
        index["train"] = train[np.isin(beats.record[train], records)]
        fewer = {"data.train_record_fraction": record_fraction, "data.train_records_kept": ", ".join(map(str, records))}
    counts = {name: np.bincount(label[rows], minlength=len(classes)) for name, rows in index.items()}
    missing = split.check_classes(counts, classes)
    rr = np.concatenate([beats.rr, record_relative_rr(beats.rr, beats.record)], axis=1)
    return PreparedBeats(
        wave=torch.from_numpy(np.ascontiguousarray(beats.wave)),
        rr=_standardised(rr, index["train"]),
        morphology=_standardised(morphology_samples(beats.wave, cfg), index["train"]),
        label=torch.from_numpy(label),
        record=torch.from_numpy(beats.record.astype(np.int64)),
        rows={name: torch.from_numpy(rows) for name, rows in index.items()},
        records={name: tuple(sorted(set(beats.record[rows].tolist()))) for name, rows in index.items()},
        train_counts=tuple(int(count) for count in counts["train"]),
        fingerprint=key,
        from_cache=from_cache,
        report=data_report(notes, cfg, len(label) - len(kept), counts, classes, missing) | fewer,
    )


class PhysioDataModule(PhysioOptions, ClassificationDataModule[PreparedBeats]):
    """Heartbeat classification on the MIT-BIH Arrhythmia Database into AAMI EC57 classes.

    Each example is one beat, labelled with its AAMI class: a window of the filtered, per-record
    normalised lead(s) around the annotated R peak (optionally with the beat's RR-interval features,
    and with ``features: rr_morphology`` its morphology samples, repeated at every step), or with
    ``context_beats`` that beat among its neighbours, laid out by ``context_layout`` (``BeatBatches``).
    Paced records (102, 104, 107, 217) are never used.
    """

    objective = "val/macro_f1"
    direction: Literal["maximize", "minimize"] = "maximize"

    def prepare_data(self) -> None:
        ensure_records(self.directory, map(str, self.split.records()), self.downloadable)

    def load(self) -> PreparedBeats:
        return prepare_beats(self.directory, self.preprocess, self.fold_split, self.classes, self.cache_dir,
                             self.record_fraction)

    def data_report(self) -> dict[str, int | float | str]:
        """What the loader did to the beats; call after ``setup``. Keys:

        - ``data.sampling_rate_hz``: the rate beats are cut at; ``data.resampled_records``: how many
          records were stored at another rate and resampled, ``data.resampled_from``: which, at what rate.
        - ``data.invalid_samples``: samples holding their format's invalid-sample value (read as missing)
          in the chosen leads; ``data.dropped_beats_invalid``: beats dropped because their window touches a
          missing value; ``data.invalid_by_record``: both per record
          (``"210: 1,080 invalid samples, 5 beats dropped"``).
        - ``data.dropped_beats_edges``: beats whose window runs over a record's start or end;
          ``data.dropped_beats_other_classes``: beats of classes not in ``classes`` (e.g. Q).
        - ``data.annotations_not_beats``: annotations that are no classified beat by the EC57 table
          (``tasks.physio.aami``), left out and counted by symbol (``'+' 1,292, '~' 616``).
        - ``data.{train,val,test}_beats``: beats per class (``"N 134, S 39, V 30, F 11"``).
        - ``data.train_record_fraction``, ``data.train_records_kept``: with ``record_fraction`` below 1, the
          share asked for and the training records kept.
        - ``data.{val,test}_missing_classes``: the classes a split lacks (``"none"`` if it has all); they
          are not scored, and the split's macro-F1 averages over the classes present.
        """
        return dict(self.prepared.report)


    @property
    def input_size(self) -> int:
        wave, rr = self.prepared.wave, self._beat_features().shape[1] if self.rr_features else 0
        if self.context_beats is None:
            return wave.shape[2] + rr
        if self.context_layout == "rr":
            return wave.shape[2] + (2 * self.context_beats + 1) * (rr + 1)
        return wave.shape[1] * wave.shape[2] + rr + 1

    @property
    def output_size(self) -> int:
        return len(self.classes)

    def fingerprint(self) -> str:
        split = {key: value for key, value in asdict(self.fold_split).items() if key != "val_folds"}
        settings = {"beats": self.prepared.fingerprint, "split": split, "classes": self.classes, "rr": self.rr_features}
        # settings added since enter only when used, so that the runs before them keep their fingerprint
        settings |= {"record_rr": True} if self.record_rr else {}
        settings |= {"features": self.features} if self.features != "rr" else {}
        settings |= {"context": self.context_beats} if self.context_beats is not None else {}
        settings |= {"context_layout": self.context_layout} if self.context_layout != "windows" else {}
        settings |= {"record_fraction": self.record_fraction} if self.record_fraction < 1.0 else {}
        return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]

    def _beat_features(self) -> Tensor:
        """The beat features the examples carry, (beats, features): ``RR_FEATURES``, with ``record_rr`` the
        record-relative ones, with ``features: rr_morphology`` the morphology samples."""
        data = self.prepared
        rr = data.rr if self.record_rr else data.rr[:, : len(RR_FEATURES)]
        return torch.cat([rr, data.morphology], dim=1) if self.features == "rr_morphology" else rr

    def _class_weights(self) -> Tensor:
        counts = torch.tensor(self.prepared.train_counts, dtype=torch.float32)
        return counts.sum() / (len(counts) * counts)

    def make_loss(self) -> nn.Module:
        if self.imbalance == "weighted_loss":
            return nn.CrossEntropyLoss(weight=self._class_weights())
        return nn.CrossEntropyLoss()

    def make_metrics(self) -> MetricCollection:
        return beat_metrics(self.classes)

    def baselines(self) -> list[Baseline]:
        """A linear discriminant on the beat's RR intervals and morphology, after de Chazal et al. 2004
        (``tasks.physio.baselines``), whatever the cells' layout (``context_beats``, ``rr_features``)."""
        return [EstimatorBaseline(LINEAR_DISCRIMINANT, linear_discriminant(len(self.classes)), self._rr_morphology,
                                  self.make_metrics, self.output_size)]

    def _rr_morphology(self, split: str) -> SplitFeatures:
        """A split's beats as the discriminant sees them: every RR feature (``PreparedBeats.rr``) and the QRS and
        T-wave morphology samples of each lead (``PreparedBeats.morphology``)."""
        data = self.prepared
        rows = data.rows[split]
        return SplitFeatures(torch.cat([data.rr[rows], data.morphology[rows]], dim=1).numpy(), data.label[rows].numpy())

    def figures(self, arrays: Mapping[str, Tensor]) -> dict[str, Figure]:
        """The test confusion matrix as ``confusion_matrix.png``."""
        if "test/confmat" not in arrays:
            return {}
        records = self.prepared.records["test"]
        title = f"test beats ({self.fold_split.protocol}-patient, {len(records)} records)"
        return {"confusion_matrix.png": confusion_figure(arrays["test/confmat"].cpu().numpy(), self.classes, title)}

    def _loader(self, name: str, batch_size: int, shuffle: bool = False,
                sampler: WeightedRandomSampler | None = None) -> DataLoader:
        data = self.prepared
        dataset = BeatBatches(data.wave, self._beat_features() if self.rr_features else None, data.label, data.record,
                              data.rows[name], self.context_beats, self.context_layout)
        return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, sampler=sampler, collate_fn=keep_batch,
                          num_workers=self.num_workers, persistent_workers=self.num_workers > 0)

    def train_dataloader(self) -> DataLoader:
        if self.imbalance != "balanced_sampling":
            return self._loader("train", self.batch_size, shuffle=True)
        labels = self.prepared.label[self.prepared.rows["train"]]
        weights = self._class_weights()[labels].double()
        return self._loader("train", self.batch_size, sampler=WeightedRandomSampler(weights, len(labels)))

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", self.eval_batch_size)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", self.eval_batch_size)
