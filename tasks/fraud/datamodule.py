"""The fraud DataModule: each transaction scored from its card's last K transactions."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd
import torch
from gatelab.errors import ConfigError, DataError
from gatelab.training.baselines import Baseline, EstimatorBaseline, SplitFeatures
from gatelab.training.loaders import TensorBatches, batch_loader
from gatelab.training.task import ClassificationDataModule
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from torch import Tensor, nn
from torch.utils.data import DataLoader, WeightedRandomSampler
from torchmetrics import MetricCollection
from torchmetrics.classification import BinaryAUROC, BinaryAveragePrecision

from tasks.fraud.features import transaction_features
from tasks.fraud.metrics import CardPrecisionAtK
from tasks.fraud.options import FraudOptions
from tasks.fraud.schema import CARD, LABEL, TIME, TRANSACTION_KEY
from tasks.fraud.sequences import SequenceInputs, history_index, hours_since_previous
from tasks.fraud.sources import READ_NOTES, TransactionSource
from tasks.fraud.splits import TimeSplit, check_split_labels, split_masks

__all__ = ["FraudDataModule", "keep_cards", "prepare_splits"]

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class PreparedSplits:
    """Sequences, labels, card ids and day indices of each split, every transaction as one event, and what
    loading did to the data.

    Args:
        tensors: per split, ``x`` (rows, history, input_size) windows, ``y``, ``card`` and ``day``.
        input_size: features per step (the presence flag last, if any).
        events: (transactions, input_size) each transaction's own step, in time order, every split and the
            warm-up days included: what a streaming scorer consumes (with the default ``SequenceInputs``: whole
            histories, a window's padding step all zeros).
        cards: (transactions,) each event's card id.
        rows: per split, the indices into ``events`` of its rows, in the order of ``tensors``.
        report: ``data.*`` counts and dates for ``FraudDataModule.data_report``.
    """

    tensors: dict[str, dict[str, Tensor]]
    input_size: int
    events: Tensor
    cards: Tensor
    rows: dict[str, Tensor]
    report: dict[str, int | float | str]


@dataclass(frozen=True)
class _Featurised:
    """What every split of one data set shares: the table, each transaction's raw features (before scaling), each
    row's history rows and day index, the repeats found and what reading the file did."""

    frame: pd.DataFrame
    matrix: np.ndarray
    index: np.ndarray
    days: np.ndarray
    repeats: int
    read: tuple[str, ...]


@functools.lru_cache(maxsize=1)
def _featurise(source: TransactionSource, history: int, windows: tuple[int, ...], delay_days: int,
               drop_duplicates: bool) -> _Featurised:
    """Load and featurise the data once per process for all its splits (the folds of a prequential split share it)."""
    frame = source.load()
    read = tuple(frame.attrs.get(READ_NOTES, ()))
    # a repeat of a transaction is a copy (repeats with different labels are refused by the source)
    repeat = frame.duplicated(list(TRANSACTION_KEY)).to_numpy()
    if drop_duplicates:
        frame = frame[~repeat].reset_index(drop=True)
    seconds = (frame[TIME] - frame[TIME].iloc[0]).dt.total_seconds().to_numpy()
    features = transaction_features(frame, windows=windows, delay_days=delay_days)
    columns = [features[name].to_numpy(np.float64) for name in features.columns]
    columns += [frame[name].to_numpy(np.float64) for name in source.extra_columns]
    columns.append(hours_since_previous(frame[CARD].to_numpy(), seconds))
    days = (frame[TIME].dt.normalize() - frame[TIME].iloc[0].normalize()).dt.days.to_numpy()
    return _Featurised(frame, np.stack(columns, axis=1), history_index(frame[CARD].to_numpy(), history), days,
                       int(repeat.sum()), read)


def _scaled(matrix: np.ndarray, train_rows: np.ndarray, log: bool = True) -> np.ndarray:
    """The features log-scaled where unbounded (if ``log``) and standardised, both decided on the training rows."""
    # Which columns are log-scaled is part of the scaling: decided on training rows alone, so that
    # validation and test values never change the training inputs. The signed log keeps a negative
    # value outside training (an extra column) finite; on values >= 0 it is log1p.
    train = matrix[train_rows]
    unbounded = (train.min(axis=0) >= 0) & (train.max(axis=0) > 1) & log
    matrix = matrix.copy()
    matrix[:, unbounded] = np.sign(matrix[:, unbounded]) * np.log1p(np.abs(matrix[:, unbounded]))
    mean = matrix[train_rows].mean(axis=0)
    std = matrix[train_rows].std(axis=0)
    return ((matrix - mean) / np.where(std > 0, std, 1.0)).astype(np.float32)


def _windows(index: np.ndarray, steps: np.ndarray, rows: np.ndarray, inputs: SequenceInputs) -> np.ndarray:
    """The split's sequences: ``steps`` (transactions, features) read at ``index`` (rows, K; -1 for padding),
    padded as ``inputs`` says, the presence flag last if asked; float32 (rows, K, features [+ 1])."""
    pad = steps[rows].mean(axis=0) if inputs.padding == "mean" else np.zeros(steps.shape[1], np.float32)
    windows = np.where((index >= 0)[..., None], steps[np.maximum(index, 0)], pad).astype(np.float32)
    if inputs.presence_flag:
        windows = np.concatenate([windows, (index >= 0)[..., None].astype(np.float32)], axis=-1)
    return windows


@functools.lru_cache(maxsize=2)
def prepare_splits(source: TransactionSource, split: TimeSplit, history: int, windows: tuple[int, ...],
                   drop_duplicates: bool = True, inputs: SequenceInputs = SequenceInputs()) -> PreparedSplits:
    """Load, featurise and cut the data into sequence tensors; cached per process (trials share it, and the
    splits of one data set share its features). ``inputs`` says how the sequences are built.

    Raises:
        DataError: from the source, the split, or a split without both labels (``check_split_labels``).
    """
    shared = _featurise(source, history, windows, split.delay_days, drop_duplicates)
    frame = shared.frame
    masks = split_masks(frame, split)
    counts = check_split_labels(frame, masks, split, source.origin())
    # the hours since the card's previous transaction are the matrix's last column
    matrix = shared.matrix if inputs.time_since_previous else shared.matrix[:, :-1]
    steps = _scaled(matrix, masks["train"], log=inputs.scaling == "log_standard")
    cards = frame[CARD].to_numpy()
    tensors, split_rows = {}, {}
    for name, mask in masks.items():
        rows = np.flatnonzero(mask)
        split_rows[name] = torch.from_numpy(rows)
        if inputs.sequences == "history":
            index = shared.index[rows]
        else:  # the card's last K among the split's own rows, as indices into the whole table
            local = history_index(cards[rows], history)
            index = np.where(local >= 0, rows[np.maximum(local, 0)], -1)
        tensors[name] = {
            "x": torch.from_numpy(_windows(index, steps, rows, inputs)),
            "y": torch.from_numpy(frame[LABEL].to_numpy()[rows].astype(np.int64)),
            "card": torch.from_numpy(frame[CARD].to_numpy()[rows]),
            "day": torch.from_numpy(shared.days[rows].astype(np.int64)),
        }
    zone = frame[TIME].dt.tz
    report: dict[str, int | float | str] = {
        "data.read": "; ".join(shared.read) or "as written",
        "data.transactions": len(frame),
        "data.duplicate_transactions": shared.repeats,
        "data.dropped_duplicates": shared.repeats if drop_duplicates else 0,
        "data.time_zone": str(zone) if zone is not None else "none (times as written)",
    }
    for name, found in counts.items():
        report[f"data.{name}"] = (f"{found.first}..{found.last}: {found.transactions} transactions, "
                                  f"{found.frauds} frauds")
        if name != "train":
            report[f"data.{name}_known_compromised_removed"] = found.removed
    events = np.hstack([steps, np.ones((len(steps), 1), np.float32)]) if inputs.presence_flag else steps
    return PreparedSplits(tensors=tensors, input_size=events.shape[1], events=torch.from_numpy(events),
                          cards=torch.tensor(cards), rows=split_rows, report=report)


def keep_cards(prepared: PreparedSplits, fraction: float) -> PreparedSplits:
    """``prepared`` with the training split cut to a ``fraction`` of the cards (validation and test untouched).

    A card is kept when a multiplicative hash of its id (Knuth's, by 2654435761 modulo 2**32) falls below
    ``fraction`` of 2**32: the same cards on every run, whole cards with all their days (time is never
    shuffled), and each smaller fraction's cards a subset of a larger one's.

    Raises:
        DataError: the cards kept have no fraud or no genuine transaction in the training split.
    """
    train = prepared.tensors["train"]
    keep = (train["card"].to(torch.int64) * 2654435761) % 2**32 < fraction * 2**32
    labels = train["y"][keep]
    if labels.numel() == 0 or labels.min() == labels.max():
        raise DataError(f"card_fraction={fraction}: the {int(keep.sum())} training transactions of the cards kept "
                        f"hold {int(labels.sum())} frauds; a training split needs both labels: raise card_fraction.")
    tensors = prepared.tensors | {"train": {key: value[keep] for key, value in train.items()}}
    rows = prepared.rows | {"train": prepared.rows["train"][keep]}
    report = prepared.report | {"data.train_card_fraction": fraction, "data.train_transactions_kept": int(keep.sum())}
    return replace(prepared, tensors=tensors, rows=rows, report=report)


class FraudDataModule(FraudOptions, ClassificationDataModule[PreparedSplits]):
    """Card transaction sequences for fraud detection, split by time."""

    objective = "val/auprc"
    direction: Literal["maximize", "minimize"] = "maximize"

    def prepare_data(self) -> None:
        self.source.prepare()

    def load(self) -> PreparedSplits:
        prepared = prepare_splits(self.source, self.time_split, self.history, self.windows, self.drop_duplicates,
                                  self.inputs)
        return prepared if self.card_fraction == 1.0 else keep_cards(prepared, self.card_fraction)

    def data_report(self) -> dict[str, int | float | str]:
        """What loading did to the data, for the sweep to print once and log on its parent run.

        Keys: ``data.read`` (what reading the file did: decompression, a trailing delimiter ignored),
        ``data.transactions`` (after dropping duplicates), ``data.duplicate_transactions``
        (repeats found), ``data.dropped_duplicates``, ``data.time_zone``, ``data.train`` /
        ``data.val`` / ``data.test`` (days, transactions, frauds) and ``data.val_known_compromised_removed``
        / ``data.test_known_compromised_removed`` (rows of known-compromised cards left out), of this
        fold for prequential folds (which add ``data.fold``: which fold).
        """
        kind = "test" if self.test_folds else "validation"
        where = {"data.fold": f"{kind} fold {self.fold} of {self.folds}"} if self.folds > 1 else {}
        return where | dict(self.prepared.report)

    @property
    def input_size(self) -> int:
        return self.prepared.input_size

    @property
    def output_size(self) -> int:
        return 1

    def fingerprint(self) -> str:
        kept = "" if self.drop_duplicates else ":duplicates kept"
        kept += "" if self.card_fraction == 1.0 else f":cards {self.card_fraction}"
        kept += "" if self.inputs == SequenceInputs() else f":{self.inputs}"
        text = f"{self.source.fingerprint()}:{self.split}:{self.history}:{self.windows}{kept}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def _positive_ratio(self) -> float:
        labels = self.prepared.tensors["train"]["y"]
        positives = int(labels.sum())
        return (len(labels) - positives) / max(positives, 1)

    def make_loss(self) -> nn.Module:
        if self.imbalance == "pos_weight":
            return nn.BCEWithLogitsLoss(pos_weight=torch.tensor(self._positive_ratio()))
        return nn.BCEWithLogitsLoss()

    def make_metrics(self) -> MetricCollection:
        return MetricCollection({
            "auprc": BinaryAveragePrecision(),
            "auroc": BinaryAUROC(),
            f"card_precision_at_{self.top_k}": CardPrecisionAtK(k=self.top_k),
        })

    def baselines(self) -> list[Baseline]:
        """Logistic regression and gradient-boosted trees (scikit-learn's ``HistGradientBoostingClassifier``, its
        defaults) on the last step's features: the scored transaction's own, scaled as the cells see them, as the
        fraud handbook's baselines (Chapter 3) see each transaction. Neither weighs the frauds (the book's do not)."""
        return [EstimatorBaseline(name, estimator, self._last_step, self.make_metrics, self.output_size)
                for name, estimator in (("logistic regression", LogisticRegression(max_iter=1000)),
                                        ("gradient-boosted trees", HistGradientBoostingClassifier()))]

    def _last_step(self, split: str) -> SplitFeatures:
        """A split's rows as a baseline sees them: the last step of each sequence, and the batches' card and day."""
        tensors = self.prepared.tensors[split]
        extras = {key: value for key, value in tensors.items() if key not in ("x", "y")}
        return SplitFeatures(tensors["x"][:, -1].numpy(), tensors["y"].numpy(), extras)

    def _loader(self, name: str, batch_size: int, sampler: WeightedRandomSampler | None = None,
                shuffle: bool = False) -> DataLoader:
        dataset = TensorBatches(**self.prepared.tensors[name])
        return batch_loader(dataset, batch_size, shuffle=shuffle, sampler=sampler, num_workers=self.num_workers)

    def train_dataloader(self) -> DataLoader:
        if self.imbalance != "oversample":
            return self._loader("train", self.batch_size, shuffle=True)
        labels = self.prepared.tensors["train"]["y"]
        weights = torch.where(labels == 1, self._positive_ratio(), 1.0).double()
        return self._loader("train", self.batch_size, WeightedRandomSampler(weights, len(labels)))

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", self.eval_batch_size)

    def test_dataloader(self) -> DataLoader:
        if "test" not in self.prepared.tensors:
            raise ConfigError(f"{self.data_report().get('data.fold', 'this split')} has no test days (split.test_days "
                              "0): test the test folds (test_folds: true) or give test_days.")
        return self._loader("test", self.eval_batch_size)
