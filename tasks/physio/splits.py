"""Which beats train, validate and test: by patient (record) by default, never mixing records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from jsonargparse.typing import OpenUnitInterval

from gatelab.errors import ConfigError
from tasks.physio.aami import DS1, DS2, PACED

__all__ = ["DEFAULT_VAL_RECORDS", "SPLITS", "PatientSplit"]

SPLITS = ("train", "val", "test")
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
        test_records: test records (DS2).
        val_fraction: share of the beats for validation (intra-patient only).
        test_fraction: share of the beats for testing (intra-patient only).
        seed: the intra-patient shuffle's seed.
    """

    protocol: Literal["inter", "intra"] = "inter"
    train_records: tuple[int, ...] = DS1
    val_records: tuple[int, ...] = DEFAULT_VAL_RECORDS
    test_records: tuple[int, ...] = DS2
    val_fraction: OpenUnitInterval = 0.1
    test_fraction: OpenUnitInterval = 0.3
    seed: int = 0

    def __post_init__(self) -> None:
        named = {"train_records": self.train_records, "val_records": self.val_records,
                 "test_records": self.test_records}
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
            outside = sorted(set(self.val_records) - set(self.train_records))
            if outside:
                raise ConfigError(f"split.val_records: {outside} are not in split.train_records; validation records "
                                  "are held out of the training records.")
            if not self.val_records or set(self.val_records) == set(self.train_records):
                raise ConfigError("split.val_records: hold out some, but not all, of the training records.")
        elif self.val_fraction + self.test_fraction >= 1:
            raise ConfigError("split.val_fraction + split.test_fraction must be below 1 (training needs beats).")

    def records(self) -> tuple[int, ...]:
        """Every record the protocol reads, sorted."""
        return tuple(sorted({*self.train_records, *self.test_records}))

    def assign(self, record: np.ndarray, label: np.ndarray) -> dict[str, np.ndarray]:
        """Indices of the training, validation and test beats.

        Args:
            record: each beat's record number.
            label: each beat's class (stratifies the intra-patient shuffle).
        """
        if self.protocol == "inter":
            train = np.isin(record, self.train_records) & ~np.isin(record, self.val_records)
            masks = {"train": train, "val": np.isin(record, self.val_records),
                     "test": np.isin(record, self.test_records)}
            return {name: np.flatnonzero(mask) for name, mask in masks.items()}
        rng = np.random.default_rng(self.seed)
        parts: dict[str, list[np.ndarray]] = {name: [] for name in SPLITS}
        for cls in np.unique(label):
            members = rng.permutation(np.flatnonzero(label == cls))
            n_val, n_test = round(len(members) * self.val_fraction), round(len(members) * self.test_fraction)
            parts["val"].append(members[:n_val])
            parts["test"].append(members[n_val : n_val + n_test])
            parts["train"].append(members[n_val + n_test :])
        return {name: np.sort(np.concatenate(chunks)) for name, chunks in parts.items()}
