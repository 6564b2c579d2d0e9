"""The language-modelling baseline: an interpolated Kneser-Ney n-gram model on the task's own tokens.

Chen SF, Goodman J. *An empirical study of smoothing techniques for language modeling.* Computer Speech and Language
13(4):359-394, 1999 (interpolated Kneser-Ney, section 2.7; one absolute discount per order, Ney's estimate
``D = n1 / (n1 + 2 n2)`` from the counts of counts). The highest order uses the n-grams' counts, every lower order
their continuation counts (how many distinct tokens precede them); the unigrams are interpolated with the uniform
distribution over the vocabulary, so that every token has a probability. A 5-gram is the classic count-based
reference (Mikolov et al. report KN5 at 141 perplexity on the Penn Treebank's test set).

Scored as the cells are: each test stream (``batchify`` into ``eval_batch_size`` rows) predicts every token after
its first from the tokens before it in the same stream, and the task's metric sums the negative log-likelihood.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from gatelab.training.baselines import Baseline
from torchmetrics import MetricCollection

__all__ = ["ORDER", "KneserNey", "KneserNeyBaseline"]

#: The n-gram order of the task's baseline.
ORDER = 5


@dataclass(frozen=True)
class _Order:
    """The k-grams of one order: their codes (context id * vocabulary + token, sorted), their counts (raw or
    continuation), and per context (a (k-1)-gram id) the sum of those counts and the tokens seen after it."""

    codes: np.ndarray
    counts: np.ndarray
    context_total: np.ndarray
    context_types: np.ndarray
    discount: float


@dataclass(frozen=True)
class KneserNey:
    """An interpolated Kneser-Ney model of ``order`` fitted on one token stream (``fit``)."""

    order: int
    vocabulary: int
    orders: tuple[_Order, ...]

    @classmethod
    def fit(cls, ids: np.ndarray, order: int, vocabulary: int) -> KneserNey:
        """Count every k-gram (k = 1 .. ``order``) of the stream ``ids`` (token ids below ``vocabulary``).

        Raises:
            ValueError: an order below 1, or a stream shorter than ``order`` tokens.
        """
        if order < 1 or len(ids) < order:
            raise ValueError(f"a {order}-gram model needs order >= 1 and at least {order} tokens, got {len(ids)}")
        tokens = np.asarray(ids, np.int64)
        previous = np.zeros(len(tokens), np.int64)  # each position's (k-1)-gram id; the empty context is 0
        grams: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # per order: codes, ids per position, first
        for k in range(1, order + 1):
            valid = np.arange(k - 1, len(tokens))
            codes = (previous[valid - 1] if k > 1 else 0) * vocabulary + tokens[valid]
            unique, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
            ids_here = np.full(len(tokens), -1, np.int64)
            ids_here[valid] = inverse
            grams.append((unique, ids_here, valid[first]))
            previous = ids_here
        levels = []
        for k, (unique, ids_here, _) in enumerate(grams, start=1):
            if k == order:
                counts = np.bincount(ids_here[ids_here >= 0], minlength=len(unique))
            else:  # continuation counts: the distinct (k+1)-grams whose last k tokens are this k-gram
                counts = np.bincount(ids_here[grams[k][2]], minlength=len(unique))
            contexts = unique // vocabulary
            size = len(grams[k - 2][0]) if k > 1 else 1
            n1, n2 = int(np.sum(counts == 1)), int(np.sum(counts == 2))
            discount = n1 / (n1 + 2 * n2) if n1 else 0.5  # no singletons: half a count, never 0 (zero probabilities)
            levels.append(_Order(unique, counts, np.bincount(contexts, counts, minlength=size),
                                 np.bincount(contexts[counts > 0], minlength=size), discount))
        return cls(order, vocabulary, tuple(levels))

    def log_prob(self, streams: np.ndarray) -> np.ndarray:
        """Natural-log probabilities of every token after the first of each stream, given the stream before it.

        Args:
            streams: (streams, length) token ids.

        Returns:
            (streams, length - 1): entry ``[s, j]`` is ``log P(streams[s, j + 1] | streams[s, :j + 1])``, the
            history cut to the last ``order - 1`` tokens.
        """
        tokens = np.asarray(streams, np.int64)
        rows, length = tokens.shape
        probability = np.full((rows, length - 1), 1.0 / self.vocabulary)
        previous = np.zeros((rows, length), np.int64)  # the (k-1)-gram id ending at each position (-1: unseen)
        for k, level in enumerate(self.orders, start=1):
            here = np.full((rows, length), -1, np.int64)
            if k == 1:
                codes, known = tokens, np.ones_like(tokens, bool)
            else:
                codes = np.zeros_like(tokens)
                codes[:, 1:] = previous[:, :-1] * self.vocabulary + tokens[:, 1:]
                known = np.zeros_like(tokens, bool)
                known[:, 1:] = previous[:, :-1] >= 0
            slot = np.searchsorted(level.codes, codes).clip(max=len(level.codes) - 1)
            found = known & (level.codes[slot] == codes)
            here[found] = slot[found]
            context = previous[:, :-1] if k > 1 else np.zeros((rows, length - 1), np.int64)
            seen = context >= 0
            total = np.where(seen, level.context_total[context.clip(min=0)], 0.0)
            types = np.where(seen, level.context_types[context.clip(min=0)], 0.0)
            target = here[:, 1:]
            count = np.where(target >= 0, level.counts[target.clip(min=0)], 0)
            mixed = (np.maximum(count - level.discount, 0.0) + level.discount * types * probability) \
                / np.where(total > 0, total, 1.0)
            probability = np.where(total > 0, mixed, probability)
            previous = here
        return np.log(probability)


@dataclass(frozen=True)
class KneserNeyBaseline(Baseline):
    """An interpolated Kneser-Ney n-gram on the training tokens, scored on the test streams by the task's metric.

    Args:
        name: the baseline's name.
        order: the n-gram order.
        vocabulary: the vocabulary's size.
        train: the training split's token ids (one stream).
        test: the test streams (``batchify`` with the evaluation batch size), as the cells read them.
        metrics: a fresh collection of the task's metrics, fed ``(summed NLL in nats, tokens)``.
    """

    name: str
    order: int
    vocabulary: int
    train: np.ndarray
    test: np.ndarray
    metrics: Callable[[], MetricCollection]

    def ignores_seed(self) -> bool:
        return True  # the counts draw no random numbers: every seed fits the same model

    def fit_and_test(self, seed: int) -> dict[str, float]:
        model = KneserNey.fit(self.train, self.order, self.vocabulary)
        logs = model.log_prob(self.test)
        metrics = self.metrics().clone(prefix="test/")
        metrics.update(torch.tensor(-logs.sum(), dtype=torch.float64), logs.size)
        return {key: float(value) for key, value in metrics.compute().items()}
