"""The init arguments of the language-modelling DataModule and their checks, without torch or Lightning."""

from __future__ import annotations

from typing import Literal

from gatelab.training.options import TaskOptions
from jsonargparse.typing import PositiveFloat, PositiveInt

from tasks.lm.corpus import Corpus
from tasks.lm.schedule import LRSchedule
from tasks.lm.sources import TinyShakespeare

__all__ = ["LanguageModelOptions"]


class LanguageModelOptions(TaskOptions):
    """The init arguments of ``LanguageModelDataModule``.

    Args:
        corpus: the text (``TinyShakespeare``, ``PennTreebank`` or your own ``TextFiles``).
        batch_size: training streams.
        bptt: time steps per window (the truncation length of backpropagation).
        eval_batch_size: validation and test streams (the literature uses 10 or 1).
        embedding_size: embedding width; None: ``model.hidden_size``.
        tie_weights: share the embedding and softmax weights (needs embedding width = hidden size).
        init_range: initialise every parameter uniformly in ``[-init_range, init_range]``; None: PyTorch's defaults.
        lr_schedule: the learning-rate schedule.
        loss_per: ``token`` (mean over tokens) or ``stream`` (summed over time, averaged over streams:
            Zaremba et al.'s scale, for their lr and clipping values).
    """

    def __init__(
        self,
        corpus: Corpus = TinyShakespeare(),
        batch_size: PositiveInt = 32,
        bptt: PositiveInt = 64,
        eval_batch_size: PositiveInt = 10,
        embedding_size: PositiveInt | None = None,
        tie_weights: bool = False,
        init_range: PositiveFloat | None = None,
        lr_schedule: LRSchedule = LRSchedule(),
        loss_per: Literal["token", "stream"] = "token",
    ) -> None:
        super().__init__()
        self.corpus, self.batch_size, self.bptt, self.eval_batch_size = corpus, batch_size, bptt, eval_batch_size
        self.embedding_size, self.tie_weights, self.init_range = embedding_size, tie_weights, init_range
        self.lr_schedule, self.loss_per = lr_schedule, loss_per
        self.metric = "ppl" if corpus.level == "word" else "bpc"
        self.objective = f"val/{self.metric}"
