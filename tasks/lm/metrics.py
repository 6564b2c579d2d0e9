"""Token-level metrics that sum the negative log-likelihood and the token count over every batch."""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torchmetrics import Metric

__all__ = ["BitsPerCharacter", "Perplexity", "TokenNLL"]


class TokenNLL(Metric):
    """Mean negative log-likelihood (nats) per token over all batches seen, however unequal their lengths.

    ``update(nll_sum, tokens)`` takes a batch's summed NLL and its token count, so nothing is averaged twice.
    """

    higher_is_better = False
    full_state_update = False

    def __init__(self) -> None:
        super().__init__()
        self.add_state("nll", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("tokens", default=torch.tensor(0, dtype=torch.int64), dist_reduce_fx="sum")

    def update(self, nll_sum: Tensor, tokens: int) -> None:
        self.nll += nll_sum.detach().to(torch.float64)
        self.tokens += tokens

    def mean(self) -> Tensor:
        """The mean NLL per token, in float64."""
        return self.nll / self.tokens

    def compute(self) -> Tensor:
        return self.mean().float()


class Perplexity(TokenNLL):
    """``exp`` of the mean NLL per token: the word-level measure (a uniform model scores the vocabulary size)."""

    def compute(self) -> Tensor:
        return torch.exp(self.mean()).float()


class BitsPerCharacter(TokenNLL):
    """The mean NLL per token in bits: the character-level measure."""

    def compute(self) -> Tensor:
        return (self.mean() / math.log(2)).float()
