"""minGRU and minLSTM (Feng et al. 2024, "Were RNNs All We Needed?"): gates that read only the input.

No gate depends on the previous hidden state, so each layer's recurrence is linear in it,
``h_t = a_t * h_{t-1} + b_t``, and a whole sequence is computed at once by a parallel scan. The scan
runs in log space (Heinsen 2023) for numerical stability:
``log h_t = A_t + logcumsumexp_s(log b_s - A_s)`` with ``A_t = sum_{s<=t} log a_s``; products of many
gates become sums of logs instead of underflowing, and ``logcumsumexp`` never overflows. ``b_t`` is kept
positive by the paper's activation ``g`` (``x + 0.5`` for ``x >= 0``, ``sigmoid(x)`` below), so every
hidden state is positive and has a logarithm.

A call with a single time step runs the recurrence directly in linear space: that is step-by-step
inference (generation, streaming), and it is an independent check of the log-space scan.

The layers take ``nn.GRU``'s constructor keywords and return ``(outputs, h_n)`` with ``h_n`` of shape
``(num_layers, batch, hidden_size)``, a plain tensor like GRU's state. Both read sequences forwards only.
"""

from __future__ import annotations

import abc
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gatelab.errors import ConfigError

__all__ = ["MinGRU", "MinLSTM", "g", "log_g", "logcumsumexp", "parallel_scan_log"]


def g(x: Tensor) -> Tensor:
    """The paper's positive activation for candidate states: ``x + 0.5`` for ``x >= 0``, else ``sigmoid(x)``."""
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def log_g(x: Tensor) -> Tensor:
    """``log(g(x))``, computed without forming ``g(x)`` for negative ``x``."""
    return torch.where(x >= 0, torch.log(F.relu(x) + 0.5), -F.softplus(-x))


def logcumsumexp(x: Tensor) -> Tensor:
    """``torch.logcumsumexp(x, dim=1)``; on the CPU as a doubling scan (log2(T) vectorised ``logaddexp``
    passes), which is about twice as fast forwards and backwards as torch's sequential CPU kernel."""
    if x.device.type != "cpu":
        return torch.logcumsumexp(x, dim=1)
    span = 1
    while span < x.shape[1]:
        x = torch.cat([x[:, :span], torch.logaddexp(x[:, span:], x[:, :-span])], dim=1)
        span *= 2
    return x


def _scan(log_a: Tensor, log_b: Tensor, h0: Tensor | None) -> Tensor:
    """One log-space scan over the whole of ``log_a``'s time axis (see ``parallel_scan_log``)."""
    a_star = torch.cumsum(log_a, dim=1)
    log_terms = log_b - a_star
    if h0 is None:
        return torch.exp(a_star + logcumsumexp(log_terms))
    log_h0 = h0.clamp_min(torch.finfo(h0.dtype).tiny).log().unsqueeze(1)
    log_terms = torch.cat([log_h0, log_terms], dim=1)
    return torch.exp(F.pad(a_star, (0, 0, 1, 0)) + logcumsumexp(log_terms))[:, 1:]


def parallel_scan_log(log_a: Tensor, log_b: Tensor, h0: Tensor | None = None, chunk: int = 256) -> Tensor:
    """All states of ``h_t = a_t * h_{t-1} + b_t`` from the logs of ``a`` and ``b``.

    ``log h_t`` comes out as the sum of two terms of size ``|A_t|``, so float rounding grows with the
    length scanned; scanning ``chunk`` steps at a time and carrying the state between chunks keeps the
    error of a long sequence at that of a ``chunk``-step one (about 1e-5 relative in float32).

    Args:
        log_a: ``(batch, time, hidden)`` logs of the coefficients on the previous state.
        log_b: ``(batch, time, hidden)`` logs of the (positive) inputs.
        h0: ``(batch, hidden)`` positive initial state, or None for a zero state.
        chunk: steps per scan.

    Returns:
        ``(batch, time, hidden)``: ``h_1 ... h_T``.
    """
    pieces, state = [], h0
    for start in range(0, log_a.shape[1], chunk):
        pieces.append(_scan(log_a[:, start : start + chunk], log_b[:, start : start + chunk], state))
        state = pieces[-1][:, -1]
    return pieces[0] if len(pieces) == 1 else torch.cat(pieces, dim=1)


class _MinRNN(nn.Module, abc.ABC):
    """A stack of min-RNN layers, each one fused linear map from its input to all its gates.

    Args:
        input_size: features of the input at each step.
        hidden_size: units per layer.
        num_layers: stacked layers.
        bias: linear maps with biases.
        batch_first: inputs and outputs are ``(batch, time, features)`` rather than ``(time, batch, features)``.
        dropout: dropout on the outputs of every layer but the last (as in ``nn.GRU``).
        bidirectional: not supported; ``True`` is a ``ConfigError``.
    """

    #: linear outputs per hidden unit (gates and candidate).
    chunks: ClassVar[int]

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False) -> None:
        super().__init__()
        if bidirectional:
            raise ConfigError(f"model.bidirectional: {type(self).__name__} reads sequences forwards only; "
                              "set model.bidirectional: false or choose lstm, gru or rnn.")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.batch_first, self.dropout, self.bidirectional = batch_first, float(dropout), False
        self.layers = nn.ModuleList(
            nn.Linear(input_size if index == 0 else hidden_size, self.chunks * hidden_size, bias=bias)
            for index in range(num_layers)
        )

    @abc.abstractmethod
    def log_coefficients(self, pre: Tensor) -> tuple[Tensor, Tensor]:
        """``log a`` and ``log b`` of the recurrence from one layer's linear outputs (parallel form)."""

    @abc.abstractmethod
    def coefficients(self, pre: Tensor) -> tuple[Tensor, Tensor]:
        """``a`` and ``b`` of the recurrence from one layer's linear outputs (step form, linear space)."""

    def forward(self, x: Tensor, state: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Outputs of the last layer at every step and each layer's last state.

        Args:
            x: ``(batch, time, input_size)`` (``batch_first``) or ``(time, batch, input_size)``.
            state: ``(num_layers, batch, hidden_size)`` states to continue from (positive, as
                returned by an earlier call), or None to start from zero.
        """
        if not self.batch_first:
            x = x.transpose(0, 1)
        finals = []
        for index, layer in enumerate(self.layers):
            pre = layer(x)
            h0 = None if state is None else state[index]
            if x.shape[1] == 1:
                a, b = self.coefficients(pre[:, 0])
                x = (b if h0 is None else a * h0 + b).unsqueeze(1)
            else:
                x = parallel_scan_log(*self.log_coefficients(pre), h0)
            finals.append(x[:, -1])
            if self.dropout and self.training and index < self.num_layers - 1:
                x = F.dropout(x, self.dropout, training=True)
        outputs = x if self.batch_first else x.transpose(0, 1)
        return outputs, torch.stack(finals)


class MinGRU(_MinRNN):
    """minGRU: ``z = sigmoid(W_z x)``, ``h = (1 - z) * h_prev + z * g(W_h x)``."""

    chunks = 2

    def log_coefficients(self, pre: Tensor) -> tuple[Tensor, Tensor]:
        k, candidate = pre.chunk(2, dim=-1)
        return -F.softplus(k), -F.softplus(-k) + log_g(candidate)

    def coefficients(self, pre: Tensor) -> tuple[Tensor, Tensor]:
        k, candidate = pre.chunk(2, dim=-1)
        z = torch.sigmoid(k)
        return 1 - z, z * g(candidate)


class MinLSTM(_MinRNN):
    """minLSTM: forget and input gates normalised to sum to one, ``h = f' * h_prev + i' * g(W_h x)``."""

    chunks = 3

    def log_coefficients(self, pre: Tensor) -> tuple[Tensor, Tensor]:
        f, i, candidate = pre.chunk(3, dim=-1)
        diff = F.softplus(-f) - F.softplus(-i)  # log sigmoid(i) - log sigmoid(f)
        return -F.softplus(diff), -F.softplus(-diff) + log_g(candidate)

    def coefficients(self, pre: Tensor) -> tuple[Tensor, Tensor]:
        f, i, candidate = pre.chunk(3, dim=-1)
        f, i = torch.sigmoid(f), torch.sigmoid(i)
        return f / (f + i), i / (f + i) * g(candidate)

    def init_forget_bias(self, value: float) -> None:
        """Set every layer's forget-gate bias (before normalisation) to ``value``: remember by default."""
        with torch.no_grad():
            for layer in self.layers:
                if isinstance(layer.bias, Tensor):  # None in a layer built with bias=False
                    layer.bias[: self.hidden_size].fill_(value)
