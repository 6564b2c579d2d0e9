"""Card precision@k: the fraud handbook's operational metric.

Investigators check a fixed number of cards a day. Per day: each card's score is the maximum of
its transactions' scores; the ``k`` highest-scoring cards are checked; the day's card precision is
the share of those ``k`` with a fraud that day (divided by ``k`` even when fewer cards were
active). The metric is the mean over the days present in the data.

With ``drop_detected=True`` (the rule of the book's tables), a card that was in an earlier day's
top ``k`` and had a fraud that day is detected (blocked) and dropped from the later days'
rankings; without it the figure on the book's test week reads about 0.07 higher. Say which rule
a reported figure uses. Ties in score are broken by the lower card id.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

__all__ = ["CardPrecisionAtK", "card_precision_at_k"]


class CardPrecisionAtK(Metric):
    """Mean over days of the share of the day's ``k`` top-scored cards that had a fraud that day.

    Args:
        k: cards checked per day (>= 1).
        drop_detected: drop cards detected (in the top ``k`` with a fraud) on an earlier day from
            later days' rankings, as the book's tables do.
        kwargs: passed to ``torchmetrics.Metric``.
    """

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    def __init__(self, k: int = 100, drop_detected: bool = True, **kwargs: object) -> None:
        super().__init__(**kwargs)
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise ValueError(f"k: must be a whole number >= 1, got {k!r}.")
        self.k = k
        self.drop_detected = drop_detected
        for name in ("preds", "target", "card", "day"):
            self.add_state(name, default=[], dist_reduce_fx="cat")

    def update(self, preds: Tensor, target: Tensor, card: Tensor, day: Tensor) -> None:  # type: ignore[override]
        """Add a batch of scored transactions.

        Args:
            preds: scores (probabilities or logits: only their order counts), shape (n,).
            target: fraud labels 0/1, shape (n,).
            card: card ids (integers), shape (n,).
            day: integer day indices, shape (n,).
        """
        preds, target, card, day = (torch.as_tensor(t).reshape(-1) for t in (preds, target, card, day))
        if not len(preds) == len(target) == len(card) == len(day):
            raise ValueError(
                f"CardPrecisionAtK.update: preds, target, card and day must have the same length, got "
                f"{len(preds)}, {len(target)}, {len(card)}, {len(day)}."
            )
        self.preds.append(preds.detach().float())
        self.target.append(target.detach().long())
        self.card.append(card.detach().long())
        self.day.append(day.detach().long())

    def compute(self) -> Tensor:
        """The mean daily card precision@k, a 0-dim float tensor (0 before any update)."""
        if len(self.preds) == 0:  # a list, or one tensor once DDP has gathered the processes' states
            return torch.tensor(0.0, device=self.device)
        return card_precision_at_k(
            dim_zero_cat(self.preds),
            dim_zero_cat(self.target),
            dim_zero_cat(self.card),
            dim_zero_cat(self.day),
            k=self.k,
            drop_detected=self.drop_detected,
        )


def card_precision_at_k(
    preds: Tensor, target: Tensor, card: Tensor, day: Tensor, k: int = 100, drop_detected: bool = True
) -> Tensor:
    """Card precision@k of all transactions at once (see the module docstring).

    Args:
        preds: scores, shape (n,).
        target: fraud labels 0/1, shape (n,).
        card: card ids, shape (n,).
        day: integer day indices, shape (n,).
        k: cards checked per day.
        drop_detected: drop cards detected on an earlier day from later rankings.
    """
    detected = card.new_empty(0)
    daily = []
    for d in torch.unique(day):  # sorted: days in time order
        on_day = day == d
        cards, scores, frauds = _per_card(preds[on_day], target[on_day], card[on_day])
        if drop_detected and len(detected):
            keep = ~torch.isin(cards, detected)
            cards, scores, frauds = cards[keep], scores[keep], frauds[keep]
        top = torch.sort(scores, descending=True, stable=True).indices[:k]
        hits = frauds[top] > 0
        daily.append(hits.sum().float() / k)
        if drop_detected:
            detected = torch.cat([detected, cards[top][hits]])
    return torch.stack(daily).mean()


def _per_card(preds: Tensor, target: Tensor, card: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Distinct cards (ascending) with their maximum score and maximum label."""
    cards, inverse = torch.unique(card, return_inverse=True)
    scores = torch.full((len(cards),), -torch.inf, dtype=preds.dtype, device=preds.device)
    scores = scores.scatter_reduce(0, inverse, preds, reduce="amax")
    frauds = torch.zeros(len(cards), dtype=target.dtype, device=target.device)
    frauds = frauds.scatter_reduce(0, inverse, target, reduce="amax")
    return cards, scores, frauds
