"""The one backbone every comparison shares, and its shape (``ModelConfig``).

Only the recurrent layer differs between cells: the input encoder, the head, dropout and
initialisation are the same, so a comparison compares cells and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from jsonargparse.typing import ClosedUnitInterval, NonNegativeInt, PositiveInt
from torch import Tensor, nn

from gatelab.models.cells import CELLS, HiddenState, check_cell, set_forget_bias

__all__ = ["ModelConfig", "SequenceModel"]


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


class SequenceModel(nn.Module):
    """Linear encoder, a recurrent layer chosen by name, dropout, an optional ReLU layer and a linear head.

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
        width = cfg.hidden_size * (2 if cfg.bidirectional else 1)
        self.head_hidden = (nn.Sequential(nn.Linear(width, cfg.head_hidden_size), nn.ReLU())
                            if cfg.head_hidden_size else nn.Identity())
        self.head = nn.Linear(cfg.head_hidden_size or width, output_size)
        set_forget_bias(self.rnn, cfg.forget_bias)

    def forward(self, x: Tensor, state: HiddenState | None = None) -> tuple[Tensor, HiddenState]:
        """Map ``(batch, time, input_size)`` to ``(batch, time, output_size)`` and the last state."""
        outputs, state = self.rnn(torch.relu(self.encoder(x)), state)
        return self.head(self.head_hidden(self.dropout(outputs))), state
