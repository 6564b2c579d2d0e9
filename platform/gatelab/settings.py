"""The settings dataclasses of a run and a sweep, with the checks of their values.

jsonargparse reads a YAML file into these (``gatelab.training.config``); each field's type or
``__post_init__`` refuses a bad value with a message naming the key. The backbone's shape,
``ModelConfig``, lives with the cell registry it is checked against (``gatelab.models``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from jsonargparse.typing import NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt, restricted_number_type

from gatelab.errors import GatelabError

__all__ = ["DEFAULT_SEEDS", "OptimConfig", "ReproductionConfig", "SearchParam", "SeedCount", "Seeds", "SweepConfig",
           "TrainerConfig", "check_seeds"]

#: A number of selection seeds: at least 2, the fewest that measure seed noise.
SeedCount = restricted_number_type("SeedCount", int, (">=", 2))
#: Seeds each cell's best configuration is retrained with after the search (also ``auto``'s first round).
DEFAULT_SEEDS = 3
#: ``seeds``: a number of selection seeds, or ``auto`` (rounds of seeds up to ``sweep.max_seeds``).
Seeds = int | str


@dataclass
class OptimConfig:
    """Optimiser settings, identical for every cell.

    Args:
        name: ``adam``, ``adamw`` or ``sgd``.
        lr: learning rate.
        weight_decay: L2 penalty (decoupled for ``adamw``).
        momentum: SGD momentum; ignored by Adam.
    """

    name: Literal["adam", "adamw", "sgd"] = "adam"
    lr: PositiveFloat = 1e-3
    weight_decay: NonNegativeFloat = 0.0
    momentum: NonNegativeFloat = 0.0


@dataclass
class TrainerConfig:
    """Lightning Trainer settings.

    Args:
        max_epochs: epochs per training run (pruning may stop a trial earlier).
        gradient_clip_val: clip the gradients' global norm to this (0 turns clipping off).
        accelerator: ``auto`` uses a GPU where there is one, else the CPU.
        devices: devices per training run (``auto``: one); more than one trains the run with DDP.
        limit_train_batches: a fraction (<= 1.0) or a count of training batches per epoch.
        limit_eval_batches: the same for validation and test batches.
        weights: the weights a run is tested with: ``best``, those of its best validation epoch (early
            stopping without stopping); ``last``, those of its last epoch (a fixed number of epochs, as the
            fraud handbook trains), validated once, after it.
    """

    max_epochs: PositiveInt = 5
    gradient_clip_val: NonNegativeFloat = 1.0
    accelerator: str = "auto"
    devices: int | str = "auto"
    limit_train_batches: PositiveFloat | PositiveInt = 1.0
    limit_eval_batches: PositiveFloat | PositiveInt = 1.0
    weights: Literal["best", "last"] = "best"


@dataclass
class SearchParam:
    """One hyperparameter of the search space, mapped to ``trial.suggest_*`` in ``gatelab.search.space``.

    Args:
        name: the config key it sets, e.g. ``model.hidden_size`` or ``data.init_args.batch_size``.
        type: ``int``, ``float`` or ``categorical``.
        low: lower bound (int, float).
        high: upper bound (int, float).
        log: sample on a log scale (int, float).
        step: grid step (int, float), or none.
        choices: the values (categorical).
    """

    name: str
    type: Literal["int", "float", "categorical"]
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: list[Any] | None = None


@dataclass
class SweepConfig:
    """How the hyperparameter search runs; identical for every cell.

    Args:
        cells: the cells compared, each with its own study.
        trials: finished trials per cell (completed, pruned or diverged).
        startup_trials: random trials before TPE models the search space (same for every cell).
        ei_candidates: TPE's candidate count per suggestion.
        multivariate: TPE models the parameters jointly.
        prune: stop unpromising trials early (median rule on the per-epoch objective).
        pruner_startup_trials: trials that are never pruned.
        pruner_warmup_epochs: epochs before a trial may be pruned.
        tie_tolerance: objective differences up to this are treated as a tie (the cheaper cell wins).
        cost: the cost that decides a tie: ``latency`` (per sequence at the large batch), ``latency_batch1``
            or ``macs`` (multiply-accumulates per sequence).
        max_seeds: the most selection seeds ``--seeds auto`` retrains each cell with (at least 2).
    """

    cells: list[str] = field(default_factory=lambda: ["lstm", "gru"])
    trials: PositiveInt = 8
    startup_trials: NonNegativeInt = 4
    ei_candidates: PositiveInt = 24
    multivariate: bool = True
    prune: bool = True
    pruner_startup_trials: NonNegativeInt = 2
    pruner_warmup_epochs: NonNegativeInt = 1
    tie_tolerance: NonNegativeFloat = 0.01
    cost: Literal["latency", "latency_batch1", "macs"] = "latency"
    # A restricted type made at run time, which jsonargparse checks; to mypy a variable, not a type.
    max_seeds: SeedCount = 10  # type: ignore[valid-type]


def check_seeds(seeds: Seeds) -> None:
    """Refuse a number of selection seeds below 2 (``SeedCount``); ``auto`` passes.

    Raises:
        GatelabError: too few seeds, in the words of the fix.
    """
    if seeds == "auto":
        return
    try:
        SeedCount(seeds)
    except ValueError:
        raise GatelabError(f"seeds={seeds}: the verdict needs at least 2 seeds to tell a difference from seed "
                           "noise; use SEEDS=2 or more (default 3).") from None


@dataclass
class ReproductionConfig:
    """A published result to reproduce: with ``seeds`` set, ``gatelab train`` trains the configuration on every
    test fold with that many seeds (``gatelab.reproduction``) instead of one run.

    Args:
        seeds: seeds of the reproduction, ``seed`` .. ``seed + seeds - 1`` (0: off; else at least 2, the
            fewest that give an interval).
        metric: the metric the published claim is judged on, as logged (``test/auprc``).
        published: each metric's published mean over the folds (``test/auprc: 0.665``).
        published_std: each metric's published standard deviation over the folds.
        tolerance: reproduced when the mean over seeds lies within ``published[metric]`` +- ``tolerance`` and
            the seeds' confidence interval holds the published value.
        source: where the published figures come from (printed beside them).

    Raises:
        ValueError: one seed, or a ``metric`` without a published value.
    """

    seeds: NonNegativeInt = 0
    metric: str = "test/auprc"
    published: dict[str, float] = field(default_factory=dict)
    published_std: dict[str, float] = field(default_factory=dict)
    tolerance: PositiveFloat = 0.02
    source: str = ""

    def __post_init__(self) -> None:
        if self.seeds == 1:
            raise ValueError("reproduce.seeds: 1 seed gives no interval; give 0 (off) or at least 2.")
        if self.seeds and self.metric not in self.published:
            raise ValueError(f"reproduce.metric: '{self.metric}' has no published value; add it under "
                             f"reproduce.published (it has {sorted(self.published)}).")
