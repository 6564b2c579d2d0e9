"""The cell registry: recurrent layers by name, and the helpers that treat every cell's state alike.

Each registered layer takes ``nn.GRU``'s constructor keywords and returns ``(outputs, state)``; a
state is LSTM's ``(h, c)`` tuple or a GRU/RNN/min-cell tensor, and ``map_state`` handles both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

import torch
from torch import Tensor, nn

from gatelab.models.mincells import MinGRU, MinLSTM

__all__ = ["CELLS", "HiddenState", "detach_state", "map_state", "set_forget_bias"]

#: Recurrent layers by name (the names of ``gatelab.settings.CELL_NAMES``); each takes ``nn.GRU``'s constructor
#: keywords and returns ``(outputs, state)``.
CELLS: dict[str, type[nn.Module]] = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN, "mingru": MinGRU,
                                     "minlstm": MinLSTM}

#: A recurrent layer's state: one tensor (GRU, RNN, the min-cells) or a tuple of states (LSTM's ``(h, c)``).
HiddenState: TypeAlias = Tensor | tuple["HiddenState", ...]


def map_state(fn: Callable[[Tensor], Tensor], state: HiddenState) -> HiddenState:
    """Apply ``fn`` to every tensor of a hidden state: LSTM's ``(h, c)`` or a GRU/RNN tensor."""
    if isinstance(state, Tensor):
        return fn(state)
    return tuple(map_state(fn, part) for part in state)


def detach_state(state: HiddenState) -> HiddenState:
    """Cut a hidden state from the graph that produced it (truncated backpropagation)."""
    return map_state(Tensor.detach, state)


def set_forget_bias(rnn: nn.Module, value: float) -> None:
    """Set an ``nn.LSTM``'s forget-gate bias (gate order i, f, g, o) to ``value`` in total; minLSTM's likewise.

    Other cells are left as they are.
    """
    if isinstance(rnn, MinLSTM):
        rnn.init_forget_bias(value)
    if not isinstance(rnn, nn.LSTM):
        return
    size = rnn.hidden_size
    with torch.no_grad():
        for name, bias in rnn.named_parameters():
            if name.startswith("bias_ih"):
                bias[size : 2 * size].fill_(value)
            elif name.startswith("bias_hh"):
                bias[size : 2 * size].zero_()
