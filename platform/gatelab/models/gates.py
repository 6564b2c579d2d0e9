"""Gate telemetry: what the gates of an LSTM, GRU, minGRU or minLSTM do on real sequences.

The fused kernels (cuDNN, oneDNN) compute the gates of ``nn.LSTM`` and ``nn.GRU`` inside and return
only hidden states, so ``gate_activations`` recomputes them from the layer's own weights with a
step-by-step reference. Besides the tests, this is the one place where a Python loop over time steps
is right: it runs in evaluation mode on a small fixed sample (a few hundred sequences), never in
training. minGRU's and minLSTM's gates read only the input, so theirs come out for all steps at once.

Equations (PyTorch's ``nn.LSTM`` and ``nn.GRU`` documentation; gate order i, f, g, o and r, z, n in
``weight_ih_l{k}``):

- LSTM: ``i, f, o = sigmoid(.)``, ``g = tanh(.)``, ``c_t = f * c_{t-1} + i * g``, ``h_t = o * tanh(c_t)``
  (times ``weight_hr_l{k}`` with ``proj_size``).
- GRU: ``r, z = sigmoid(.)``, ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, ``h_t = (1 - z) * n + z * h_{t-1}``.
- minGRU: ``h_t = (1 - z) * h_{t-1} + z * g(W_h x)``; minLSTM: ``h_t = f' * h_{t-1} + i' * g(W_h x)`` with the
  gates normalised, ``f' = f / (f + i)``, ``i' = i / (f + i)`` (``gatelab.models.mincells``).

``nn.RNN`` has no gates and is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gatelab.models.cells import CELLS, HiddenState
from gatelab.models.mincells import MinGRU, MinLSTM, g, parallel_scan_log

__all__ = ["CANDIDATE", "GATES", "LayerGates", "cell_name", "gate_activations", "gate_summary",
           "rnn_input"]

#: The name of each cell's candidate state: ``tanh`` (LSTM's g, GRU's n) or minGRU's ``g``, not a gate in (0, 1).
CANDIDATE = "candidate"
#: The activations ``gate_activations`` returns, by cell name, in the order of the layer's weights.
#: Every name but ``CANDIDATE`` is a sigmoid gate in (0, 1) (minLSTM's after normalisation).
GATES: dict[str, tuple[str, ...]] = {
    "lstm": ("input", "forget", CANDIDATE, "output"),
    "gru": ("reset", "update", CANDIDATE),
    "mingru": ("update", CANDIDATE),
    "minlstm": ("forget", "input", CANDIDATE),
}


@dataclass(frozen=True)
class LayerGates:
    """One layer's (and direction's) gate activations and hidden states on a batch of sequences.

    Attributes:
        layer: position in the stack, 0 for the layer that reads the input.
        direction: ``forward``, or ``backward`` for the second direction of a bidirectional layer.
        gates: name (``GATES``) -> ``(batch, time, hidden_size)`` activations, in the input's time order.
        hidden: ``(batch, time, hidden_size)`` hidden states ``h_t`` (``proj_size`` wide with a projection).
    """

    layer: int
    direction: Literal["forward", "backward"]
    gates: dict[str, Tensor]
    hidden: Tensor


def cell_name(rnn: nn.Module) -> str:
    """The ``CELLS`` name of a recurrent layer that has gates.

    Raises:
        ValueError: the layer has no gates (``nn.RNN``) or is not one of ``CELLS``.
    """
    for name, layer in CELLS.items():
        if name in GATES and type(rnn) is layer:
            return name
    raise ValueError(f"{type(rnn).__name__} has no gates that gate telemetry knows; it covers "
                     f"{', '.join(GATES)} (nn.RNN has no gates).")


def gate_activations(rnn: nn.Module, x: Tensor, state: HiddenState | None = None) -> list[LayerGates]:
    """Every layer's gate activations and hidden states for ``x``, recomputed from ``rnn``'s own weights.

    The result is the layer's evaluation-mode computation: no dropout between stacked layers. Run it
    under ``torch.no_grad()`` unless gradients through the gates are wanted.

    Args:
        rnn: an ``nn.LSTM``, ``nn.GRU`` (either with ``bias``, ``proj_size`` (LSTM) and ``bidirectional``
            as constructed), ``MinGRU`` or ``MinLSTM``.
        x: ``(batch, time, features)`` input of the layer, batch first whatever the layer's ``batch_first``.
        state: the initial state as the layer itself takes it (``(h_0, c_0)`` for LSTM, else ``h_0``, each
            ``(num_layers * directions, batch, hidden)``), or None for zeros.

    Returns:
        One ``LayerGates`` per layer, the two directions of a bidirectional layer forward first; the last
        layer's ``hidden`` (both directions concatenated) equals the layer's own outputs to float rounding.

    Raises:
        ValueError: a layer without gates (``nn.RNN``), an input not 3-dimensional, or a layer in training
            mode with dropout between its layers (its outputs would differ; call ``rnn.eval()`` first).
    """
    cell_name(rnn)  # raises for a layer without gates
    gated = cast(nn.LSTM | nn.GRU | MinGRU | MinLSTM, rnn)  # the types cell_name accepts
    if x.dim() != 3:
        raise ValueError(f"gate_activations needs a (batch, time, features) input, got shape {tuple(x.shape)}")
    if gated.training and gated.dropout and gated.num_layers > 1:
        raise ValueError(f"{type(gated).__name__} is in training mode with dropout {gated.dropout} between layers; "
                         "call .eval() first (telemetry recomputes the evaluation-mode layer)")
    if isinstance(gated, (MinGRU, MinLSTM)):
        return _min_cell(gated, x, cast(Tensor | None, state))  # a min-cell's state is one tensor
    return _fused(gated, x, state)


def _fused(rnn: nn.LSTM | nn.GRU, x: Tensor, state: HiddenState | None) -> list[LayerGates]:
    """``nn.LSTM`` and ``nn.GRU``: per layer and direction, the input term for all steps at once, then the loop."""
    lstm = isinstance(rnn, nn.LSTM)
    directions = 2 if rnn.bidirectional else 1
    width = rnn.proj_size or rnn.hidden_size
    if state is None:
        zeros = x.new_zeros(rnn.num_layers * directions, len(x), width)
        state = (zeros, x.new_zeros(rnn.num_layers * directions, len(x), rnn.hidden_size)) if lstm else zeros
    # LSTM's state is (h_0, c_0), GRU's h_0 alone.
    h0, c0 = cast(tuple[Tensor, Tensor], state) if lstm else (cast(Tensor, state), None)
    layers, inputs = [], x
    for layer in range(rnn.num_layers):
        outputs = []
        for direction in range(directions):
            suffix = f"_l{layer}" + ("_reverse" if direction else "")
            index = layer * directions + direction
            weight_ih: Tensor = getattr(rnn, f"weight_ih{suffix}")
            weight_hh: Tensor = getattr(rnn, f"weight_hh{suffix}")
            bias_ih, bias_hh, weight_hr = (getattr(rnn, f"{key}{suffix}", None)
                                           for key in ("bias_ih", "bias_hh", "weight_hr"))
            sequence = inputs.flip(1) if direction else inputs
            projected = F.linear(sequence, weight_ih, bias_ih)
            if c0 is not None:  # LSTM
                gates, hidden = _lstm_steps(projected, weight_hh, bias_hh, weight_hr, h0[index], c0[index])
            else:
                gates, hidden = _gru_steps(projected, weight_hh, bias_hh, h0[index])
            if direction:
                gates, hidden = {key: value.flip(1) for key, value in gates.items()}, hidden.flip(1)
            layers.append(LayerGates(layer, "backward" if direction else "forward", gates, hidden))
            outputs.append(hidden)
        inputs = torch.cat(outputs, dim=-1)
    return layers


def _lstm_steps(projected: Tensor, weight_hh: Tensor, bias_hh: Tensor | None, weight_hr: Tensor | None,
                h: Tensor, c: Tensor) -> tuple[dict[str, Tensor], Tensor]:
    """The LSTM reference loop over time; ``projected`` is ``W_ih x + b_ih`` for every step, ``(batch, time, 4H)``."""
    activations, hidden = [], []
    for step in range(projected.shape[1]):  # the reference loop over time (see the module's docstring)
        i, f, candidate, o = (projected[:, step] + F.linear(h, weight_hh, bias_hh)).chunk(4, dim=-1)
        i, f, candidate, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(candidate), torch.sigmoid(o)
        c = f * c + i * candidate
        h = o * torch.tanh(c)
        if weight_hr is not None:
            h = F.linear(h, weight_hr)
        activations.append(torch.stack([i, f, candidate, o]))
        hidden.append(h)
    stacked = torch.stack(activations, dim=2)  # (4, batch, time, H)
    return dict(zip(GATES["lstm"], stacked.unbind(0))), torch.stack(hidden, dim=1)


def _gru_steps(projected: Tensor, weight_hh: Tensor, bias_hh: Tensor | None,
               h: Tensor) -> tuple[dict[str, Tensor], Tensor]:
    """The GRU reference loop over time; ``projected`` is ``W_ih x + b_ih`` for every step, ``(batch, time, 3H)``."""
    activations, hidden = [], []
    for step in range(projected.shape[1]):  # the reference loop over time (see the module's docstring)
        input_r, input_z, input_n = projected[:, step].chunk(3, dim=-1)
        hidden_r, hidden_z, hidden_n = F.linear(h, weight_hh, bias_hh).chunk(3, dim=-1)
        r, z = torch.sigmoid(input_r + hidden_r), torch.sigmoid(input_z + hidden_z)
        candidate = torch.tanh(input_n + r * hidden_n)
        h = (1 - z) * candidate + z * h
        activations.append(torch.stack([r, z, candidate]))
        hidden.append(h)
    stacked = torch.stack(activations, dim=2)  # (3, batch, time, H)
    return dict(zip(GATES["gru"], stacked.unbind(0))), torch.stack(hidden, dim=1)


def _min_cell(rnn: MinGRU | MinLSTM, x: Tensor, state: Tensor | None) -> list[LayerGates]:
    """minGRU and minLSTM: gates of all steps at once; hidden states by the layer's own log-space scan."""
    layers = []
    for index, linear in enumerate(rnn.layers):
        pre = linear(x)
        if isinstance(rnn, MinGRU):
            update, candidate = pre.chunk(2, dim=-1)
            gates = {"update": torch.sigmoid(update), CANDIDATE: g(candidate)}
        else:
            forget, input_, candidate = pre.chunk(3, dim=-1)
            forget, input_ = torch.sigmoid(forget), torch.sigmoid(input_)
            gates = {"forget": forget / (forget + input_), "input": input_ / (forget + input_), CANDIDATE: g(candidate)}
        x = parallel_scan_log(*rnn.log_coefficients(pre), None if state is None else state[index])
        layers.append(LayerGates(index, "forward", gates, x))
    return layers


def gate_summary(layers: Sequence[LayerGates], low: float = 0.1, high: float = 0.9) -> dict[str, Any]:
    """A small JSON-able summary of the gates (candidates left out: they are not gates in (0, 1)).

    For each layer and gate: the mean activation, and the fractions saturated (below ``low``, above
    ``high``), over all sequences, steps and units, and per time step (lists of ``time`` values, step 0
    first; with left-padded sequences the last step is the one a sequence classifier scores).

    Returns:
        ``{"low", "high", "sequences", "steps", "layers": [{"layer", "direction", "gates": {name: {"mean",
        "saturated_low", "saturated_high", "per_step": {"mean": [...], "saturated_low": [...],
        "saturated_high": [...]}}}}]}``, numbers rounded to 5 decimals.
    """
    entries = [(position, name, values) for position, layer in enumerate(layers)
               for name, values in layer.gates.items() if name != CANDIDATE]
    # One (gate, statistic, step) tensor, copied to the host once.
    per_step = torch.stack([torch.stack([values.mean(dim=(0, 2)), (values < low).float().mean(dim=(0, 2)),
                                         (values > high).float().mean(dim=(0, 2))]) for _, _, values in entries])
    per_step = per_step.double().cpu()
    overall, by_step = per_step.mean(dim=2).tolist(), per_step.tolist()  # every step weighs the same
    statistics = ("mean", "saturated_low", "saturated_high")
    summary: list[dict[str, Any]] = [{"layer": layer.layer, "direction": layer.direction, "gates": {}}
                                     for layer in layers]
    for (position, name, _), totals, steps in zip(entries, overall, by_step):
        gate: dict[str, Any] = {key: round(value, 5) for key, value in zip(statistics, totals)}
        gate["per_step"] = {key: [round(value, 5) for value in values] for key, values in zip(statistics, steps)}
        summary[position]["gates"][name] = gate
    first = layers[0].hidden
    return {"low": low, "high": high, "sequences": first.shape[0], "steps": first.shape[1], "layers": summary}


def rnn_input(net: nn.Module, x: Tensor) -> tuple[Tensor, HiddenState | None]:
    """What ``net``'s recurrent layer ``net.rnn`` reads when ``net`` reads ``x``: its input and initial state.

    Caught by a hook while ``net`` runs on ``x``, so it holds for any backbone with an ``rnn``
    (``SequenceModel``: ``relu(encoder(x))``; a language model: the embeddings).
    """
    seen: list[tuple[Tensor, HiddenState | None]] = []

    def catch(module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        seen.append((args[0], args[1] if len(args) > 1 else kwargs.get("hx")))

    handle = net.get_submodule("rnn").register_forward_pre_hook(catch, with_kwargs=True)
    try:
        net(x)
    finally:
        handle.remove()
    return seen[0]
