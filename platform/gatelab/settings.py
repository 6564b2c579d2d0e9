"""The settings dataclasses of a run and a sweep, with the checks of their values.

jsonargparse reads a YAML file into these (``gatelab.training.config``); each field's type or
``__post_init__`` refuses a bad value with a message naming the key. The backbone's shape, ``ModelConfig``, is
checked against the cells' names here; their layers are registered under the same names in ``gatelab.models``.
None of this imports torch, so that a config is checked before it is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from jsonargparse.typing import (
    ClosedUnitInterval,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    restricted_number_type,
)

from gatelab.errors import ConfigError, GatelabError

__all__ = ["CELL_NAMES", "DEFAULT_SEEDS", "FORWARD_ONLY", "ModelConfig", "OptimConfig", "ReproductionConfig",
           "SearchParam", "SeedCount", "Seeds", "SweepConfig", "TrainerConfig", "check_cell", "check_seeds"]

#: The recurrent cells by name; ``gatelab.models.CELLS`` registers each one's layer under the same name.
CELL_NAMES = ("lstm", "gru", "rnn", "mingru", "minlstm")

#: The cells that read sequences forwards only (the min-cells' parallel scan): no ``bidirectional``.
FORWARD_ONLY = frozenset({"mingru", "minlstm"})

#: A number of selection seeds: at least 2, the fewest that measure seed noise.
SeedCount = restricted_number_type("SeedCount", int, (">=", 2))
#: Seeds each cell's best configuration is retrained with after the search (also ``auto``'s first round).
DEFAULT_SEEDS = 3
#: ``seeds``: a number of selection seeds, or ``auto`` (rounds of seeds up to ``sweep.max_seeds``).
Seeds = int | str


def check_cell(cell: str, bidirectional: bool) -> None:
    """Raise a ``ConfigError`` if ``cell`` is unknown, or cannot read sequences both ways when asked to."""
    if cell not in CELL_NAMES:
        raise ConfigError(f"model.cell: unknown cell '{cell}'; choose one of {sorted(CELL_NAMES)}.")
    if bidirectional and cell in FORWARD_ONLY:
        raise ConfigError(f"model.bidirectional: cell '{cell}' reads sequences forwards only; "
                          "set model.bidirectional: false or choose lstm, gru or rnn.")


@dataclass
class ModelConfig:
    """The backbone's shape (``gatelab.models.SequenceModel``).

    Args:
        cell: the recurrent layer, a name from ``CELL_NAMES``.
        hidden_size: units per direction and layer.
        num_layers: stacked recurrent layers.
        dropout: dropout between stacked layers and before the head.
        bidirectional: read the sequence both ways (only where the task allows it).
        forget_bias: initial forget-gate bias of LSTM (Jozefowicz et al. 2015) and minLSTM (before its
            gate normalisation); ignored by the other cells.
        head_hidden_size: units of a ReLU layer between the recurrent layer and the output, 0 for none
            (the fraud handbook's Chapter 7 LSTM, Le Borgne et al., feeds its state to such a layer).
    """

    cell: str = "lstm"
    hidden_size: PositiveInt = 64
    num_layers: PositiveInt = 1
    dropout: ClosedUnitInterval = 0.0
    bidirectional: bool = False
    forget_bias: float = 1.0
    head_hidden_size: NonNegativeInt = 0

    def __post_init__(self) -> None:
        check_cell(self.cell, self.bidirectional)


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
