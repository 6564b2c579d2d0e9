"""Recurrent cells by name, and the one backbone every comparison shares.

Only the recurrent layer differs between cells: the input encoder, the head, dropout and
initialisation are the same, so a comparison compares cells and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Union

import torch
from jsonargparse.typing import ClosedUnitInterval, PositiveInt
from torch import Tensor, nn

from gatelab.errors import ConfigError
from gatelab.mincells import MinGRU, MinLSTM

__all__ = ["CELLS", "HiddenState", "ModelConfig", "SequenceModel", "check_cell", "detach_state", "map_state",
           "set_forget_bias"]

#: Recurrent layers by name; each takes ``nn.GRU``'s constructor keywords and returns ``(outputs, state)``.
CELLS: dict[str, type[nn.Module]] = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN, "mingru": MinGRU,
                                     "minlstm": MinLSTM}

HiddenState = Union[Tensor, tuple[Tensor, ...]]


@dataclass
class ModelConfig:
    """The backbone's shape.

    Args:
        cell: the recurrent layer, a name from ``CELLS``.
        hidden_size: units per direction and layer.
        num_layers: stacked recurrent layers.
        dropout: dropout between stacked layers and before the head.
        bidirectional: read the sequence both ways (only where the task allows it).
        forget_bias: initial forget-gate bias of LSTM (Jozefowicz et al. 2015) and minLSTM (before its
            gate normalisation); ignored by the other cells.
    """

    cell: str = "lstm"
    hidden_size: PositiveInt = 64
    num_layers: PositiveInt = 1
    dropout: ClosedUnitInterval = 0.0
    bidirectional: bool = False
    forget_bias: float = 1.0

    def __post_init__(self) -> None:
        check_cell(self.cell, self.bidirectional)


def check_cell(cell: str, bidirectional: bool) -> None:
    """Raise a ``ConfigError`` if ``cell`` is unknown, or cannot read sequences both ways when asked to."""
    if cell not in CELLS:
        raise ConfigError(f"model.cell: unknown cell '{cell}'; choose one of {sorted(CELLS)}.")
    if bidirectional and not getattr(CELLS[cell], "supports_bidirectional", True):
        raise ConfigError(f"model.bidirectional: cell '{cell}' reads sequences forwards only; "
                          "set model.bidirectional: false or choose lstm, gru or rnn.")


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


class SequenceModel(nn.Module):
    """Linear encoder, a recurrent layer chosen by name, dropout and a linear head.

    Args:
        input_size: features per time step.
        output_size: outputs per time step (1 for a binary logit).
        cfg: the backbone's shape.
    """

    def __init__(self, input_size: int, output_size: int, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = nn.Linear(input_size, cfg.hidden_size)
        self.rnn = CELLS[cfg.cell](
            input_size=cfg.hidden_size,
            hidden_size=cfg.hidden_size,
            num_layers=cfg.num_layers,
            dropout=cfg.dropout if cfg.num_layers > 1 else 0.0,
            bidirectional=cfg.bidirectional,
            batch_first=True,
        )
        self.dropout = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.hidden_size * (2 if cfg.bidirectional else 1), output_size)
        set_forget_bias(self.rnn, cfg.forget_bias)

    def forward(self, x: Tensor, state: HiddenState | None = None) -> tuple[Tensor, HiddenState]:
        """Map ``(batch, time, input_size)`` to ``(batch, time, output_size)`` and the last state."""
        outputs, state = self.rnn(torch.relu(self.encoder(x)), state)
        return self.head(self.dropout(outputs)), state
