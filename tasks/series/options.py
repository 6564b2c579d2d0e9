"""The series DataModule's init arguments and their checks, without torch or Lightning."""

from __future__ import annotations

from typing import Literal

from gatelab.errors import ConfigError
from gatelab.training.options import TaskOptions

from tasks.series.sources import ArchiveSource, SeriesSource

__all__ = ["SeriesOptions"]


class SeriesOptions(TaskOptions):
    """The init arguments of ``SeriesDataModule``.

    Args:
        source: where the series come from (``ArchiveSource``, ``TsFiles`` or ``LongTable``).
        problem: ``classification`` or ``forecasting``.
        targets: forecast columns (default: every value column).
        context: steps of history each forecast sees.
        horizon: steps forecast.
        season: the seasonal period of the MASE's naive forecast (1: the previous step).
        scaling: forecasting inputs and targets divided by each window's context mean absolute value
            (``window``, DeepAR's mean scaling) or standardised with the training steps (``global``).
        val_share: share of the training series held out for validation (classification).
        test_share: share of all series held out for test when the source gives no split (classification).
        train_fraction: share of the training data kept (classification: series, stratified; forecasting: each
            series' latest training windows), for learning curves.
        seed: the split's seed.
        batch_size: training batch size.
        eval_batch_size: validation and test batch size.
        num_workers: loader worker processes (``None``: chosen for the machine).

    Raises:
        ConfigError: a value out of range, naming its field.
    """

    def __init__(
        self,
        source: SeriesSource = ArchiveSource("JapaneseVowels"),
        problem: Literal["classification", "forecasting"] = "classification",
        targets: list[str] | None = None,
        context: int = 24,
        horizon: int = 12,
        season: int = 1,
        scaling: Literal["window", "global"] = "window",
        val_share: float = 0.2,
        test_share: float = 0.3,
        train_fraction: float = 1.0,
        seed: int = 0,
        batch_size: int = 32,
        eval_batch_size: int = 1024,
        num_workers: int | None = None,
    ) -> None:
        super().__init__()
        for field, value in {"context": context, "horizon": horizon, "season": season, "batch_size": batch_size,
                             "eval_batch_size": eval_batch_size}.items():
            if value < 1:
                raise ConfigError(f"data.init_args.{field}: {value} is too small for the series task; set it to 1 "
                                  "or more.")
        for field, share in {"val_share": val_share, "test_share": test_share}.items():
            if not 0.0 < share < 1.0:
                raise ConfigError(f"data.init_args.{field}: {share} is not a share; give a number in (0, 1).")
        if not 0.0 < train_fraction <= 1.0:
            raise ConfigError(f"data.init_args.train_fraction: {train_fraction} is not a fraction; give a number in "
                              "(0, 1], e.g. 0.25.")
        self.train_fraction = train_fraction
        self.source, self.problem, self.targets = source, problem, targets
        self.context, self.horizon, self.season, self.scaling = context, horizon, season, scaling
        self.val_share, self.test_share, self.seed = val_share, test_share, seed
        self.batch_size, self.eval_batch_size, self.num_workers = batch_size, eval_batch_size, num_workers
        self.objective = "val/accuracy" if problem == "classification" else "val/mase"
        self.direction = "maximize" if problem == "classification" else "minimize"
