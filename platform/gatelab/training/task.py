"""The task contract: everything the engine asks of a task's DataModule and of the module it trains.

A task is a ``SequenceDataModule`` subclass named by its config (``data.class_path``). The engine
calls only what is declared here: the objective and its direction, the sizes, the fingerprint, the
``data_report`` of what loading did to the data, ``make_module`` (the LightningModule to train,
a ``TaskModule``), ``figures`` and the optional ``baselines``. Classification tasks subclass
``ClassificationDataModule``, which builds the engine's ``SequenceClassifier`` from their loss and metrics.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Any, Generic, Literal, TypeVar

import lightning.pytorch as pl
from torch import Tensor, nn
from torchmetrics import MetricCollection

from gatelab.models import ModelConfig
from gatelab.settings import OptimConfig
from gatelab.training.baselines import Baseline
from gatelab.training.module import SequenceClassifier, TaskModule
from gatelab.training.options import TaskOptions

__all__ = ["ClassificationDataModule", "SequenceDataModule", "describe_data_report"]

Prepared = TypeVar("Prepared")


class SequenceDataModule(TaskOptions, pl.LightningDataModule, abc.ABC, Generic[Prepared]):
    """A task: batches of sequences plus what it takes to train and score a model on them.

    ``load()`` reads and prepares the data, once per instance: ``setup`` (any stage) and ``prepared``
    load on first use. The attributes below are valid after ``setup("fit")``. Its init arguments and their
    checks live in the task's options class (``gatelab.training.options``), which a subclass lists first.
    """

    #: the validation metric the sweep optimises, as logged (e.g. ``"val/auprc"``).
    objective: str
    #: whether a higher or a lower objective is better.
    direction: Literal["maximize", "minimize"]
    #: the prepared data, once loaded.
    data: Prepared | None = None
    #: validation folds a configuration is scored on (the search takes the mean of their objectives);
    #: a task with folds takes a ``fold`` init argument (0 .. folds - 1) that picks one. 1: one split.
    folds: int = 1
    #: whether each fold has a test split of its own (prequential evaluation: a selection seed is tested
    #: on every fold, reporting the mean and spread over them); otherwise a seed trains on fold 0 and
    #: scores the task's one test split once. Such a task also takes a ``test_folds`` init argument (bool):
    #: a seed's runs set it, and fold ``k`` is then the k-th test fold, whose training and validation days
    #: may differ from the k-th validation fold's (prequential: each test fold retrains on the latest days
    #: before its test days). ``gatelab.training.folds`` runs the folds.
    test_per_fold: bool = False

    @abc.abstractmethod
    def load(self) -> Prepared:
        """Read, check and prepare the data (the splits as tensors and whatever the task derives from them).

        Raises:
            DataError: a missing or malformed file, or splits that cannot be trained and scored on.
        """

    def setup(self, stage: str | None = None) -> None:
        if self.data is None:
            self.data = self.load()

    @property
    def prepared(self) -> Prepared:
        """The prepared data, loaded on first use."""
        self.setup()
        assert self.data is not None
        return self.data

    @property
    @abc.abstractmethod
    def input_size(self) -> int:
        """Features per time step."""

    @property
    @abc.abstractmethod
    def output_size(self) -> int:
        """Model outputs per sequence: 1 for a binary logit, else the number of classes."""

    @abc.abstractmethod
    def fingerprint(self) -> str:
        """A short stable id of the data and its preparation (tagged on every run)."""

    @abc.abstractmethod
    def make_module(self, model: ModelConfig, optim: OptimConfig) -> TaskModule:
        """The LightningModule a run trains, with the cell chosen by ``model.cell`` and the optimiser settings."""

    def data_report(self) -> dict[str, Any]:
        """What loading did to the data: rows or beats dropped, repaired or converted, and why.

        Returns:
            ``data.<what>`` -> a count or a short text; the sweep prints it once and logs it as params
            of its parent run. Empty by default.
        """
        return {}

    def baselines(self) -> Sequence[Baseline]:
        """Reference models fitted on this DataModule's training split and scored by its test metrics, beside the
        cells in every verdict (``gatelab.training.baselines``); call after ``setup``. None by default.
        """
        return ()

    def figures(self, arrays: Mapping[str, Tensor]) -> dict[str, Any]:
        """Figures drawn from the non-scalar test metrics of a run's best weights (e.g. ``"test/confmat"``).

        Returns:
            artifact file name (e.g. ``"confusion_matrix.png"``) -> matplotlib ``Figure``, logged on
            the run under ``figures/``; none by default.
        """
        return {}


class ClassificationDataModule(SequenceDataModule[Prepared]):
    """A task that scores whole sequences with the engine's ``SequenceClassifier``.

    Batches are dicts with ``x`` (batch, time, features) and ``y`` (batch,); any other keys are
    passed to the metrics' ``update`` as keyword arguments (e.g. card ids for card precision@k).
    """

    @abc.abstractmethod
    def make_loss(self) -> nn.Module:
        """The training loss, taking ``(logits, target)``; class weights come from the training split."""

    @abc.abstractmethod
    def make_metrics(self) -> MetricCollection:
        """A fresh collection of evaluation metrics, fed ``(probabilities, target, **extras)``.

        Metrics may return non-scalar tensors (e.g. a confusion matrix): they are not logged as
        metrics but handed to ``figures``.
        """

    def make_module(self, model: ModelConfig, optim: OptimConfig) -> TaskModule:
        return SequenceClassifier(self.input_size, self.output_size, model, optim, self.make_loss(),
                                  self.make_metrics())


def describe_data_report(report: Mapping[str, Any]) -> str:
    """``data_report()`` as lines for the terminal (``gatelab: data: <what>: <value>``); empty when nothing was done."""
    return "".join(f"gatelab: data: {key.removeprefix('data.')}: {value}\n" for key, value in report.items())
