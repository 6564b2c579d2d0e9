"""Baselines: reference models a task declares beside the cells (``SequenceDataModule.baselines``).

A baseline is fitted on the training split of the very DataModule a cell trains on (the same fold, the same
rows) and scored on its test split by the task's own test metrics, so that a verdict can say whether a recurrent
cell is needed at all. ``Baseline`` is the contract (``fit_and_test``); ``EstimatorBaseline`` is the usual one: a
scikit-learn classifier on features the task derives from each split (``SplitFeatures``), scored by the task's
``make_metrics`` collection, the one the cells' ``SequenceClassifier`` is scored by.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from sklearn.base import clone
from torch import Tensor
from torchmetrics import MetricCollection

__all__ = ["Baseline", "EstimatorBaseline", "SplitFeatures", "seeded"]


class Baseline(abc.ABC):
    """A reference model of a task: a name, and how it is fitted and scored on one DataModule's splits."""

    #: the name shown in the report and tagged on its runs (``gatelab.baseline``), e.g. ``logistic regression``.
    name: str

    @abc.abstractmethod
    def fit_and_test(self, seed: int) -> dict[str, float]:
        """Fit on the training split with ``seed`` (where the model draws random numbers) and score the test split.

        Returns:
            The scalar test metrics as the cells' runs name them (``test/<metric>``).
        """

    def ignores_seed(self) -> bool:
        """Whether ``fit_and_test`` draws no random numbers, so that every seed scores the same: such a baseline is
        fitted once, its one run standing for every seed (``gatelab.baselines.fit_baselines``). False by default."""
        return False


@dataclass(frozen=True)
class SplitFeatures:
    """One split as a baseline sees it.

    Args:
        features: (rows, features) float array, one row per example the cells score; for an estimator of whole
            series (aeon's), its panel: a (rows, channels, time) array or a list of (channels, time) arrays.
        target: (rows,) class indices.
        extras: what the split's batches carry besides ``x`` and ``y`` (e.g. card ids, days), passed to the
            metrics' ``update`` as the cells' are, each a tensor of ``rows`` entries.
    """

    features: np.ndarray | list[np.ndarray]
    target: np.ndarray
    extras: Mapping[str, Tensor] = field(default_factory=dict)


def seeded(estimator: Any, seed: int) -> Any:
    """An unfitted copy of a scikit-learn estimator with every ``random_state`` it has (its own, a pipeline
    step's) set to ``seed``; an estimator that draws no random numbers is copied as it is."""
    copy = clone(estimator)
    states = {key: seed for key in _random_states(copy)}
    return copy.set_params(**states) if states else copy


def _random_states(estimator: Any) -> list[str]:
    """The parameters of a scikit-learn estimator that seed its random numbers (its own, a pipeline step's)."""
    return [key for key in estimator.get_params() if key == "random_state" or key.endswith("__random_state")]


@dataclass(frozen=True)
class EstimatorBaseline(Baseline):
    """A scikit-learn classifier fitted on features of the training split and scored like the cells.

    Args:
        name: the baseline's name.
        estimator: an unfitted classifier with scikit-learn's ``fit``, ``predict_proba`` and ``classes_`` (aeon's
            too; copied per fit, see ``seeded``).
        split: a split's name (``train``, ``test``) -> its ``SplitFeatures``.
        metrics: a fresh collection of the task's metrics (``ClassificationDataModule.make_metrics``), fed
            ``(probabilities, target, **extras)``: the positive class's probability for ``classes`` 1 (a binary
            task), else the (rows, classes) class probabilities.
        classes: the task's model outputs (``output_size``): 1 for a binary task, else the number of classes.
    """

    name: str
    estimator: Any
    split: Callable[[str], SplitFeatures]
    metrics: Callable[[], MetricCollection]
    classes: int

    def ignores_seed(self) -> bool:
        return not _random_states(self.estimator)

    def fit_and_test(self, seed: int) -> dict[str, float]:
        train, test = self.split("train"), self.split("test")
        model = seeded(self.estimator, seed).fit(train.features, train.target)
        scores = np.zeros((len(test.target), max(self.classes, 2)))
        scores[:, model.classes_.astype(np.int64)] = model.predict_proba(test.features)  # a class missing: 0
        probabilities = torch.from_numpy(scores[:, 1] if self.classes == 1 else scores).float()
        metrics = self.metrics().clone(prefix="test/")
        metrics.update(probabilities, torch.from_numpy(np.asarray(test.target, np.int64)), **test.extras)
        return {key: float(value) for key, value in metrics.compute().items() if value.numel() == 1}
