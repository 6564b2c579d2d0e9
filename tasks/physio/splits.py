"""Which beats train, validate and test: by patient (record) by default, never mixing records."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from gatelab.errors import ConfigError, DataError
from jsonargparse.typing import OpenUnitInterval

from tasks.physio.aami import DS1, DS2, PACED

__all__ = ["DEFAULT_VAL_RECORDS", "SPLITS", "PatientSplit", "class_counts_text", "fewer_records"]

SPLITS = ("train", "val", "test")
_SPLIT_NAMES = {"train": "training", "val": "validation", "test": "test"}
DEFAULT_VAL_RECORDS: tuple[int, ...] = (124, 205, 220, 223)
"""DS1 records held out for validation: 201 S, 592 V and 30 F beats, so that every class is scored
(the F beats of DS1 are mostly in record 208, which stays in training)."""


@dataclass(frozen=True)
class PatientSplit:
    """The evaluation protocol and its records.

    Args:
        protocol: ``inter`` (default): the inter-patient protocol of de Chazal et al. 2004; the model
            trains on ``train_records`` less ``val_records``, is selected on ``val_records`` and tested on
            ``test_records``, so no patient is in two splits. ``intra``: the OPTIMISTIC intra-patient
            protocol; the beats of all those records are shuffled into train/validation/test (stratified
            by class), so every test patient was seen in training and the scores are inflated and not
            comparable with inter-patient results.
        train_records: training records (DS1).
        val_records: the training records held out for validation (inter-patient only).
        val_folds: record-level validation folds (inter-patient only); when given they replace
            ``val_records`` (which is then not used): fold ``k`` (``fold(k)``) validates on ``val_folds[k]``
            and trains on the other training records. The folds must be disjoint; they need not cover
            ``train_records``.
        test_records: test records (DS2).
        val_fraction: share of the beats for validation (intra-patient only).
        test_fraction: share of the beats for testing (intra-patient only).
        seed: the intra-patient shuffle's seed.
    """

    protocol: Literal["inter", "intra"] = "inter"
    train_records: tuple[int, ...] = DS1
    val_records: tuple[int, ...] = DEFAULT_VAL_RECORDS
    val_folds: tuple[tuple[int, ...], ...] = ()
    test_records: tuple[int, ...] = DS2
    val_fraction: OpenUnitInterval = 0.1
    test_fraction: OpenUnitInterval = 0.3
    seed: int = 0

    def __post_init__(self) -> None:
        named = {"train_records": self.train_records, "val_records": self.val_records,
                 "test_records": self.test_records, **{f"val_folds[{k}]": records for k, records in
                                                       enumerate(self.val_folds)}}
        for key, records in named.items():
            paced = sorted(set(records) & set(PACED))
            if paced:
                raise ConfigError(f"split.{key}: paced records {paced} are excluded by the AAMI protocol; remove them.")
            if len(set(records)) != len(records):
                raise ConfigError(f"split.{key}: {list(records)} names a record twice.")
        both = sorted(set(self.train_records) & set(self.test_records))
        if both:
            raise ConfigError(f"split: records {both} are in both train_records and test_records; a patient "
                              "must be in one split only.")
        if not self.test_records:
            raise ConfigError("split.test_records: give at least one test record.")
        if self.protocol == "inter":
            if not self.val_folds:
                self._check_held_out("split.val_records", self.val_records)
            for k, records in enumerate(self.val_folds):
                self._check_held_out(f"split.val_folds[{k}]", records)
            shared = sorted({record for records in self.val_folds for record in records
                             if sum(record in fold for fold in self.val_folds) > 1})
            if shared:
                raise ConfigError(f"split.val_folds: records {shared} are in more than one fold; folds must be "
                                  "disjoint.")
        elif self.val_folds:
            raise ConfigError("split.val_folds: folds of records belong to the inter-patient protocol; remove them "
                              "or set split.protocol: inter.")
        elif self.val_fraction + self.test_fraction >= 1:
            raise ConfigError("split.val_fraction + split.test_fraction must be below 1 (training needs beats).")

    def _check_held_out(self, key: str, records: tuple[int, ...]) -> None:
        outside = sorted(set(records) - set(self.train_records))
        if outside:
            raise ConfigError(f"{key}: {outside} are not in split.train_records; validation records are held out of "
                              "the training records.")
        if not records or set(records) == set(self.train_records):
            raise ConfigError(f"{key}: hold out some, but not all, of the training records.")

    @property
    def folds(self) -> int:
        """How many validation folds: ``len(val_folds)``, or 1 (``val_records``)."""
        return len(self.val_folds) or 1

    def fold(self, k: int) -> PatientSplit:
        """The split of fold ``k``: ``val_folds[k]`` as its validation records (itself when there are no folds).

        Raises:
            ConfigError: ``k`` outside ``0 .. folds - 1``.
        """
        if not 0 <= k < self.folds:
            raise ConfigError(f"fold: {k} is out of range; split.val_folds gives {self.folds} fold(s), so choose "
                              f"0 .. {self.folds - 1}.")
        if not self.val_folds:
            return self
        return replace(self, val_records=tuple(self.val_folds[k]), val_folds=())

    def records(self) -> tuple[int, ...]:
        """Every record the protocol reads, sorted."""
        return tuple(sorted({*self.train_records, *self.test_records}))

    def split_records(self) -> dict[str, tuple[int, ...]]:
        """The records each split draws its beats from (intra-patient: every record, for every split)."""
        if self.protocol == "intra":
            return dict.fromkeys(SPLITS, self.records())
        train = tuple(sorted(set(self.train_records) - set(self.val_records)))
        return {"train": train, "val": tuple(sorted(self.val_records)), "test": tuple(sorted(self.test_records))}

    def _fix(self, name: str) -> str:
        if self.protocol == "intra":
            fraction = {"train": "lower split.val_fraction / test_fraction", "val": "raise split.val_fraction",
                        "test": "raise split.test_fraction"}[name]
            return f"{fraction} or add records that hold more classes"
        key = {"train": "split.train_records", "val": "split.val_records", "test": "split.test_records"}[name]
        return f"choose {key} that hold more classes"

    def check_classes(self, counts: dict[str, np.ndarray], classes: Sequence[str]) -> dict[str, str]:
        """Refuse a degenerate split before training; name the classes validation and test lack.

        Training must hold every class in ``classes``; validation and test must hold at least two (a
        macro-F1 over one class cannot tell models apart). The classes they lack are not scored: the
        macro-F1 then averages over the classes present in the targets or the predictions.

        Args:
            counts: beats per class of each split (``train``, ``val``, ``test``), in ``classes`` order.
            classes: the class names.

        Returns:
            ``{"val": "S, F", "test": ""}``: the classes each evaluation split lacks, comma-separated.

        Raises:
            DataError: naming the split, its records, its beats per class and the fix.
        """
        where = {name: f"{_SPLIT_NAMES[name]} records {', '.join(map(str, records))}"
                 for name, records in self.split_records().items()}
        absent = {name: [cls for cls, count in zip(classes, counts[name]) if count == 0] for name in SPLITS}
        if absent["train"]:
            raise DataError(
                f"{where['train']}: no beats of class(es) {', '.join(absent['train'])} (beats per class: "
                f"{class_counts_text(counts['train'], classes)}); drop them from data.init_args.classes or "
                f"{self._fix('train')}."
            )
        for name in ("val", "test"):
            if len(classes) - len(absent[name]) < 2:
                raise DataError(
                    f"{where[name]}: beats of fewer than two classes (beats per class: "
                    f"{class_counts_text(counts[name], classes)}), so a macro-F1 on them cannot tell models "
                    f"apart; {self._fix(name)}."
                )
        return {name: ", ".join(absent[name]) for name in ("val", "test")}

    def assign(self, record: np.ndarray, label: np.ndarray) -> dict[str, np.ndarray]:
        """Indices of the training, validation and test beats.

        Args:
            record: each beat's record number.
            label: each beat's class (stratifies the intra-patient shuffle).
        """
        if self.protocol == "inter":
            return {name: np.flatnonzero(np.isin(record, records)) for name, records in self.split_records().items()}
        rng = np.random.default_rng(self.seed)
        parts: dict[str, list[np.ndarray]] = {name: [] for name in SPLITS}
        for cls in np.unique(label):
            members = rng.permutation(np.flatnonzero(label == cls))
            n_val, n_test = round(len(members) * self.val_fraction), round(len(members) * self.test_fraction)
            parts["val"].append(members[:n_val])
            parts["test"].append(members[n_val : n_val + n_test])
            parts["train"].append(members[n_val + n_test :])
        return {name: np.sort(np.concatenate(chunks)) for name, chunks in parts.items()}


def _record_order(records: np.ndarray) -> np.ndarray:
    """Records in a fixed order unrelated to their numbers: by Knuth's multiplicative hash (2654435761 modulo 2**32)."""
    return records[np.argsort((records.astype(np.uint64) * 2654435761) % 2**32, kind="stable")]


def fewer_records(record: np.ndarray, label: np.ndarray, fraction: float, classes: Sequence[str]) -> tuple[int, ...]:
    """The training records a learning curve keeps at ``fraction``: whole records, nested, every class kept.

    The records are put in one fixed order: first, for each class in turn from the rarest in training, the first
    record in hash order (``_record_order``) holding a beat of it, unless an earlier record already does; then
    the others in hash order. ``fraction`` keeps the first ``ceil(fraction * records)`` of that order, so a
    smaller fraction's records are always among a larger one's, and every fraction keeps every class the
    training records hold. Beats stay in time order within a record; validation and test are not touched.

    Args:
        record: (beats,) each training beat's record.
        label: (beats,) each training beat's class index into ``classes``.
        fraction: the share of the training records to keep, in (0, 1].
        classes: the class names, for the error.

    Returns:
        The records kept, sorted.

    Raises:
        DataError: ``fraction`` keeps fewer records than it takes to hold every class.
    """
    records = _record_order(np.unique(record))
    counts = np.bincount(label, minlength=len(classes))
    first: list[int] = []
    for cls in np.argsort(counts, kind="stable"):
        holders = set(record[label == cls].tolist())
        if counts[cls] and not holders & set(first):
            first.append(next(int(r) for r in records if int(r) in holders))
    order = first + [int(r) for r in records if int(r) not in first]
    keep = math.ceil(fraction * len(order))
    if keep < len(first):
        raise DataError(f"record_fraction={fraction}: keeps {keep} of the {len(order)} training records, but every "
                        f"class ({', '.join(classes)}) takes {len(first)} (records {', '.join(map(str, first))}); "
                        f"raise record_fraction to {len(first) / len(order):.2f} or more.")
    return tuple(sorted(order[:keep]))


def class_counts_text(counts: Sequence[int], classes: Sequence[str]) -> str:
    """Beats per class as text, e.g. ``"N 53, S 0, V 34, F 0"``."""
    return ", ".join(f"{cls} {count:,}" for cls, count in zip(classes, counts))

