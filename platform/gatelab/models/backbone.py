"""The one backbone every comparison shares; its shape is a ``ModelConfig`` (``gatelab.settings``).

Only the recurrent layer differs between cells: the input encoder, the head, dropout and
initialisation are the same, so a comparison compares cells and nothing else.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gatelab.models.cells import CELLS, HiddenState, set_forget_bias
from gatelab.settings import ModelConfig

__all__ = ["SequenceModel"]


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
