"""Streaming scoring: one recurrent state carried per key, each new event scored with one cell step.

A windowed model scores an event by running its cell over the key's last ``history`` events again (a
card's last transactions in fraud). ``StreamingScorer`` keeps each key's recurrent state instead and
advances it by a single time step per event: ``nn.LSTM``, ``nn.GRU`` and ``nn.RNN`` get a one-step input
and the carried state, minGRU and minLSTM take their step form (``gatelab.models.mincells``). Bidirectional
models read a window backwards from its last event, so they cannot be streamed and are refused.

**The rule: equal to the window while a key has at most ``history`` events.** A task whose window is
shorter than ``history`` pads it on the left (fraud: all-zero steps, whose presence flag is 0). The
``n``-th event of a key (``n <= history``) is scored by the window model from the state after
``history - n`` padding steps, which differs for every ``n``; no single carried state gives all of them.
So a new key starts with ``history`` candidate states, the states after ``history - 1, ..., 1, 0``
padding steps (computed once), all advanced together by each event (one cell step over a batch of
candidates); event ``n`` is scored from the candidate that started after ``history - n`` padding steps,
which is then dropped. From the ``history``-th event on one state is left: the one that started from
zero, i.e. the cell run over all of the key's events. So event ``n`` of a key gets, to float tolerance,
the window model's score of ``[padding] * (history - n) + events[1..n]`` while ``n <= history``, and the
model's score of all its events ``events[1..n]`` after that: the carried state then sees more than the
window did. ``history=None`` starts every key from the zero state (a task that does not pad, such as a
text stream).

Inputs are the task's per-event feature vectors as its windows hold them (fraud:
``PreparedSplits.events``). Computing those features online (the fraud task's card and terminal
aggregates over 1, 7 and 30 days) is out of scope: the caller supplies each event's vector.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Iterable, Sequence
from typing import cast

import torch
from torch import Tensor

from gatelab.errors import ConfigError
from gatelab.models import HiddenState, map_state
from gatelab.training.module import SequenceClassifier

__all__ = ["StreamingScorer"]


class StreamingScorer:
    """Scores a stream of events per key with one cell step each, holding each key's recurrent state.

    Args:
        model: the trained classifier (the windowed model); put in evaluation mode here.
        history: the window length the model was trained with, to reproduce its left padding for a
            key's first ``history`` events; None starts each key from the zero state.
        padding: (input_size,) the step a short window is padded with; all zeros when None.

    Raises:
        ConfigError: the model is bidirectional.
    """

    def __init__(self, model: SequenceClassifier, history: int | None = None, padding: Tensor | None = None) -> None:
        net = model.net
        if net.cfg.bidirectional:
            raise ConfigError("model.bidirectional: a bidirectional model reads each window backwards from its last "
                              "event, so it cannot score events one at a time; stream a model trained with "
                              "model.bidirectional: false.")
        if history is not None and history < 1:
            raise ValueError(f"history={history}: give the window length (1 or more) or None")
        self.model = model.eval()
        self.net = net
        device = next(net.parameters()).device
        with torch.inference_mode():
            step = torch.zeros(net.encoder.in_features, device=device) if padding is None else padding.to(device)
            _, state = net(step.view(1, 1, -1))
            starts = [map_state(torch.zeros_like, state)]  # after 0 padding steps
            for _ in range(1, history or 1):
                starts.append(state)
                _, state = net(step.view(1, 1, -1), state)
            # Candidates ordered by padding steps taken, fewest first: event n is scored from the last one alive.
            self._start = _cat(starts)
        self._device = device
        self._pool: HiddenState = map_state(lambda part: part[:, :0], self._start)
        self._rows: dict[Hashable, list[int]] = {}
        self._free: list[int] = []

    def __len__(self) -> int:
        """Keys holding a state."""
        return len(self._rows)

    def score(self, keys: Sequence[Hashable], events: Tensor) -> Tensor:
        """Advance each key's state by its event and score it.

        Args:
            keys: one key per event (a card id), each at most once per call; a key seen for the first
                time starts a new state.
            events: (len(keys), input_size) each key's next event.

        Returns:
            (len(keys),) positive-class probabilities (binary) or (len(keys), classes) class probabilities.

        Raises:
            ValueError: keys and events differ in number, or a key comes twice in one call.
        """
        if len(keys) != len(events):
            raise ValueError(f"{len(keys)} keys for {len(events)} events: give one key per event")
        if len(set(keys)) != len(keys):
            raise ValueError("a key comes twice in one call: score a key's later event in a later call")
        with torch.inference_mode():
            rows = [self._rows.get(key) or self._admit(key) for key in keys]
            flat = list(itertools.chain.from_iterable(rows))
            index = torch.tensor(flat, device=self._device)
            x = events.to(self._device)
            if len(flat) > len(keys):  # some keys still carry candidates: each gets its key's event
                counts = torch.tensor([len(key_rows) for key_rows in rows], device=self._device)
                x = x.repeat_interleave(counts, dim=0)
            logits, state = self.net(x.unsqueeze(1), map_state(lambda part: part[:, index], self._pool))
            _assign(self._pool, index, state)
            last = logits[:, 0] if len(flat) == len(keys) else logits[counts.cumsum(0) - 1, 0]
            for key_rows in rows:
                if len(key_rows) > 1:  # that candidate's window is scored; it is not needed again
                    self._free.append(key_rows.pop())
            return self.model.probabilities(last.squeeze(-1) if last.shape[-1] == 1 else last)

    def score_stream(self, keys: Sequence[Hashable], events: Tensor, batch: int = 1024) -> Tensor:
        """Score a recorded stream in time order: consecutive events of distinct keys, up to ``batch`` of
        them, share one call of ``score``.

        Args:
            keys: each event's key, in time order.
            events: (len(keys), input_size) the events, in time order.
            batch: the most events per call.

        Returns:
            ``score``'s probabilities for every event, in the order given.
        """
        scores: list[Tensor] = []
        start, seen = 0, set[Hashable]()
        for end, key in enumerate(keys):
            if key in seen or end - start == batch:
                scores.append(self.score(keys[start:end], events[start:end]))
                start, seen = end, set()
            seen.add(key)
        scores.append(self.score(keys[start:], events[start:]))
        return torch.cat(scores)

    def forget(self, keys: Iterable[Hashable]) -> None:
        """Drop the states of ``keys`` (a closed card); a key not held is ignored."""
        for key in keys:
            self._free.extend(self._rows.pop(key, ()))

    def _admit(self, key: Hashable) -> list[int]:
        """Give a new key its starting candidate states; returns their rows in the pool."""
        needed = _batch(self._start)
        if len(self._free) < needed:
            size = _batch(self._pool)
            grown = max(size, needed - len(self._free), 64)
            self._pool = map_state(lambda part: torch.cat([part, part.new_zeros(part.shape[0], grown,
                                                                               *part.shape[2:])], dim=1), self._pool)
            self._free.extend(range(size + grown - 1, size - 1, -1))
        rows = [self._free.pop() for _ in range(needed)]
        _assign(self._pool, torch.tensor(rows, device=self._device), self._start)
        self._rows[key] = rows
        return rows


def _cat(states: list[HiddenState]) -> HiddenState:
    """States side by side along the batch dimension (dimension 1 of every recurrent state here)."""
    if isinstance(states[0], Tensor):
        return torch.cat(cast(list[Tensor], states), dim=1)  # states of one model: all like the first
    return tuple(_cat([state[part] for state in states]) for part in range(len(states[0])))


def _batch(state: HiddenState) -> int:
    return state.shape[1] if isinstance(state, Tensor) else _batch(state[0])


def _assign(pool: HiddenState, index: Tensor, state: HiddenState) -> None:
    """Write ``state`` into the pool's rows ``index``, in place."""
    if isinstance(pool, Tensor):
        pool[:, index] = cast(Tensor, state)  # a state has the pool's structure
        return
    for target, source in zip(pool, state):
        _assign(target, index, source)
