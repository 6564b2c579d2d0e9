"""The fraud task's options: FraudDataModule's init arguments and their checks, without torch or Lightning."""

from __future__ import annotations

from typing import Literal

from gatelab.errors import ConfigError
from gatelab.training.options import TaskOptions
from jsonargparse.typing import NonNegativeInt, PositiveInt

from tasks.fraud.sequences import SequenceInputs
from tasks.fraud.simulator import SimulatedSource
from tasks.fraud.sources import TransactionSource
from tasks.fraud.splits import PrequentialSplit, TimeSplit

__all__ = ["FraudOptions"]


class FraudOptions(TaskOptions):
    """The init arguments of ``FraudDataModule``.

    Args:
        source: where transactions come from (simulated, handbook, csv).
        split: the time split (train, label-delay gap, validation, test), or prequential folds (the fraud
            handbook's model selection, Chapter 5): a search then scores every validation fold and a selection
            seed tests every test fold (``PrequentialSplit``).
        history: K, the number of the card's transactions in each sequence, the scored one last.
        windows: day windows of the handbook's card and terminal aggregates.
        batch_size: training batch size.
        eval_batch_size: validation and test batch size.
        imbalance: ``pos_weight`` weights frauds by the negative/positive ratio in the loss;
            ``oversample`` draws training batches with balanced classes; ``none`` does neither.
        top_k: k of card precision@k (cards checked per day).
        num_workers: DataLoader worker processes (0: load in the training process); none: chosen for
            the machine (``gatelab.training.loaders.auto_workers``: in-process, as the sequences are tensors in memory).
        drop_duplicates: drop repeats of a transaction (same card, time, amount and terminal), keeping
            the first; false keeps them. Repeats with different labels are always refused.
        fold: with a ``PrequentialSplit``, the fold (0 .. ``split.folds`` - 1, 0 the latest); else 0.
        test_folds: with a ``PrequentialSplit``, ``fold`` picks a test fold instead of a validation fold.
        card_fraction: train on this fraction of the cards (all their transactions; ``keep_cards``), for
            learning curves; validation and test keep every card.
        inputs: how sequences are built: history, padding, presence flag, the time feature, scaling
            (``SequenceInputs``; its docstring gives the fraud handbook's choices).

    Raises:
        ConfigError: ``fold`` outside the split's folds, ``test_folds`` without prequential folds, or a
            ``card_fraction`` outside (0, 1].
    """

    def __init__(
        self,
        source: TransactionSource = SimulatedSource(),
        split: TimeSplit | PrequentialSplit = TimeSplit(),
        history: PositiveInt = 10,
        windows: tuple[int, ...] = (1, 7, 30),
        batch_size: PositiveInt = 256,
        eval_batch_size: PositiveInt = 4096,
        imbalance: Literal["pos_weight", "oversample", "none"] = "pos_weight",
        top_k: PositiveInt = 100,
        num_workers: NonNegativeInt | None = None,
        drop_duplicates: bool = True,
        fold: NonNegativeInt = 0,
        test_folds: bool = False,
        card_fraction: float = 1.0,
        inputs: SequenceInputs = SequenceInputs(),
    ) -> None:
        super().__init__()
        self.source, self.split, self.history, self.windows = source, split, history, tuple(windows)
        if isinstance(split, PrequentialSplit):
            self.folds, self.test_per_fold = split.folds, True
            self.time_split = split.fold(fold, test=test_folds)
        elif fold or test_folds:
            raise ConfigError(f"data.init_args.fold {fold} / test_folds {test_folds}: the split has no folds; give "
                              "split.folds (prequential folds) or leave fold 0 and test_folds false.")
        else:
            self.time_split = split
        self.fold, self.test_folds = fold, test_folds
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.imbalance, self.top_k, self.num_workers = imbalance, top_k, num_workers
        self.drop_duplicates = drop_duplicates
        if not 0.0 < card_fraction <= 1.0:
            raise ConfigError(f"card_fraction={card_fraction}: give a fraction of the cards in (0, 1], e.g. 0.25.")
        self.card_fraction = card_fraction
        self.inputs = inputs
