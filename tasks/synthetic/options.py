"""The synthetic recall task's options: RecallDataModule's init arguments and their checks, without torch."""

from __future__ import annotations

from gatelab.errors import ConfigError
from gatelab.training.options import TaskOptions

__all__ = ["RecallOptions"]


class RecallOptions(TaskOptions):
    """The init arguments of ``RecallDataModule``.

    Args:
        length: time steps per sequence (the recall lag is ``length - 1``); at least 2.
        symbols: classes; at least 2.
        train_size: training sequences.
        val_size: validation sequences.
        test_size: test sequences.
        batch_size: training batch size.
        eval_batch_size: validation and test batch size.
        seed: the data's seed.
        num_workers: DataLoader worker processes (0: load in the training process).
        distractors: distractor symbols (their own channels); at least 1.

    Raises:
        ConfigError: a value out of range, naming its field.
    """

    def __init__(
        self,
        length: int = 200,
        symbols: int = 8,
        train_size: int = 4000,
        val_size: int = 1000,
        test_size: int = 1000,
        batch_size: int = 64,
        eval_batch_size: int = 1000,
        seed: int = 0,
        num_workers: int = 0,
        distractors: int = 8,
    ) -> None:
        super().__init__()
        least = {"length": (length, 2), "symbols": (symbols, 2), "distractors": (distractors, 1),
                 "train_size": (train_size, 1), "val_size": (val_size, 1), "test_size": (test_size, 1),
                 "batch_size": (batch_size, 1), "eval_batch_size": (eval_batch_size, 1), "seed": (seed, 0),
                 "num_workers": (num_workers, 0)}
        for field, (value, low) in least.items():
            if value < low:
                raise ConfigError(f"data.init_args.{field}: {value} is too small for the synthetic recall task; "
                                  f"set it to {low} or more.")
        self.length, self.symbols, self.distractors, self.seed = length, symbols, distractors, seed
        self.sizes = {"train": train_size, "val": val_size, "test": test_size}
        self.batch_size, self.eval_batch_size, self.num_workers = batch_size, eval_batch_size, num_workers
