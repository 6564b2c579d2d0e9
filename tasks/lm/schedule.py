"""The learning-rate schedule of a language model: a light dataclass, read by the options and the LightningModule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from jsonargparse.typing import NonNegativeInt, OpenUnitInterval, PositiveInt

__all__ = ["LRSchedule"]


@dataclass(frozen=True)
class LRSchedule:
    """How the learning rate falls during training.

    Args:
        kind: ``none``; ``step``: multiply by ``factor`` after epoch ``after`` and then every ``every``
            epochs (Zaremba et al.: after 4, every 1, factor 0.5; a classic step decay: after = every);
            ``plateau``: multiply by ``factor`` when the validation loss has not improved for
            ``patience`` + 1 epochs (pytorch/examples' word_language_model divides by 4: factor 0.25).
        factor: the multiplier, in (0, 1).
        after: ``step``: epochs at the full rate.
        every: ``step``: epochs between later decays.
        patience: ``plateau``: epochs without improvement tolerated before a decay.
    """

    kind: Literal["none", "step", "plateau"] = "none"
    factor: OpenUnitInterval = 0.5
    after: PositiveInt = 1
    every: PositiveInt = 1
    patience: NonNegativeInt = 0

    def decays(self, epochs_done: int) -> int:
        """``step``: how many times the rate has been multiplied by ``factor`` once ``epochs_done`` epochs are done."""
        return 0 if epochs_done < self.after else 1 + (epochs_done - self.after) // self.every
