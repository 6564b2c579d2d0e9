"""The language model: embedding, a fused recurrent layer chosen by name, dropout and a softmax layer."""

from __future__ import annotations

import torch
from gatelab.models import CELLS, HiddenState, ModelConfig, set_forget_bias
from torch import Tensor, nn

__all__ = ["LanguageModel"]


class LanguageModel(nn.Module):
    """Token ids ``(batch, time)`` to next-token logits ``(batch, time, vocab)`` and the last hidden state.

    Dropout (``model.dropout``) acts on the embeddings, between stacked layers and before the softmax
    layer (Zaremba et al. 2014).

    Args:
        vocab_size: tokens in the vocabulary.
        cfg: the recurrent layer's shape and cell.
        embedding_size: embedding width; the softmax layer shares the embedding's weights when ``tie_weights``.
        tie_weights: one matrix for the embedding and the softmax layer (needs ``embedding_size == hidden_size``).
        init_range: initialise every weight and bias uniformly in ``[-init_range, init_range]``; None keeps
            PyTorch's initialisation and sets the LSTM forget-gate bias to ``cfg.forget_bias``.
    """

    def __init__(self, vocab_size: int, cfg: ModelConfig, embedding_size: int, tie_weights: bool,
                 init_range: float | None) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_size)
        self.dropout = nn.Dropout(cfg.dropout)
        self.rnn = CELLS[cfg.cell](
            input_size=embedding_size,
            hidden_size=cfg.hidden_size,
            num_layers=cfg.num_layers,
            dropout=cfg.dropout if cfg.num_layers > 1 else 0.0,
            batch_first=True,
        )
        self.decoder = nn.Linear(cfg.hidden_size, vocab_size)
        if tie_weights:
            self.decoder.weight = self.embedding.weight
        if init_range is not None:
            with torch.no_grad():
                for parameter in self.parameters():
                    parameter.uniform_(-init_range, init_range)
        else:
            set_forget_bias(self.rnn, cfg.forget_bias)

    def forward(self, ids: Tensor, state: HiddenState | None = None) -> tuple[Tensor, HiddenState]:
        """Logits for the token after each position of ``ids``, and the state after the last one."""
        outputs, state = self.rnn(self.dropout(self.embedding(ids)), state)
        return self.decoder(self.dropout(outputs)), state
