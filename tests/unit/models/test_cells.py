"""The backbone: every cell, both hidden-state kinds, the forget-gate bias, the fused layers."""

from __future__ import annotations

import pytest
import torch
from gatelab.errors import ConfigError
from gatelab.models import CELLS, FORWARD_ONLY, ModelConfig, SequenceModel, detach_state, map_state
from gatelab.settings import CELL_NAMES
from gatelab.training.costs import macs_per_sequence
from torch import nn

# Every cell both ways, except the forwards-only cells read backwards (their rejection: test_mincells.py).
SHAPES = [(cell, bidirectional) for cell in sorted(CELLS) for bidirectional in (False, True)
          if not bidirectional or cell not in FORWARD_ONLY]


@pytest.mark.parametrize(("cell", "bidirectional"), SHAPES)
def test_shapes_for_every_cell(cell: str, bidirectional: bool) -> None:
    cfg = ModelConfig(cell=cell, hidden_size=8, num_layers=2, dropout=0.1, bidirectional=bidirectional)
    model = SequenceModel(input_size=5, output_size=3, cfg=cfg)
    outputs, state = model(torch.randn(4, 7, 5))
    assert outputs.shape == (4, 7, 3)
    layers = 2 * (2 if bidirectional else 1)
    if cell == "lstm":
        h, c = state
        assert h.shape == c.shape == (layers, 4, 8)
    else:
        assert isinstance(state, torch.Tensor) and state.shape == (layers, 4, 8)


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_uses_the_registered_layer(cell: str) -> None:
    model = SequenceModel(3, 1, ModelConfig(cell=cell, hidden_size=4))
    assert type(model.rnn) is CELLS[cell] and model.rnn.batch_first


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_carried_state_matches_one_pass(cell: str) -> None:
    torch.manual_seed(0)
    model = SequenceModel(3, 2, ModelConfig(cell=cell, hidden_size=6)).eval()
    x = torch.randn(2, 10, 3)
    whole, _ = model(x)
    first, state = model(x[:, :4])
    second, _ = model(x[:, 4:], detach_state(state))
    torch.testing.assert_close(torch.cat([first, second], dim=1), whole)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_head_hidden_layer_sits_between_the_cell_and_the_output(cell: str) -> None:
    plain = SequenceModel(5, 1, ModelConfig(cell=cell, hidden_size=6))
    layered = SequenceModel(5, 1, ModelConfig(cell=cell, hidden_size=6, head_hidden_size=11))
    def count(model: nn.Module) -> int:
        return sum(p.numel() for p in model.parameters())

    assert count(layered) - count(plain) == (6 * 11 + 11) + (11 * 1 + 1) - (6 * 1 + 1)
    assert isinstance(plain.head_hidden, nn.Identity)
    x = torch.randn(3, 4, 5)
    assert layered(x)[0].shape == (3, 4, 1)
    assert macs_per_sequence(layered, x[:1]) - macs_per_sequence(plain, x[:1]) == 4 * (6 * 11 + 11 - 6)
    with torch.no_grad():  # a ReLU layer: with a negative bias and no weights, every output is the head's bias
        layered.head_hidden[0].weight.zero_()
        layered.head_hidden[0].bias.fill_(-1.0)
        torch.testing.assert_close(layered(x)[0], layered.head.bias.expand(3, 4, 1))


def test_detach_and_map_state_handle_tuples_and_tensors() -> None:
    h = torch.ones(1, 2, 3, requires_grad=True) * 2
    detached = detach_state((h, h))
    assert isinstance(detached, tuple) and not any(part.requires_grad for part in detached)
    assert not detach_state(h).requires_grad
    doubled = map_state(lambda t: t * 2, (h, (h,)))
    assert doubled[1][0].sum().item() == pytest.approx(24.0)


def test_lstm_forget_gate_bias_is_set_in_total() -> None:
    model = SequenceModel(3, 1, ModelConfig(cell="lstm", hidden_size=4, num_layers=2, forget_bias=1.0))
    params = dict(model.rnn.named_parameters())
    for layer in range(2):
        total = params[f"bias_ih_l{layer}"] + params[f"bias_hh_l{layer}"]
        assert torch.allclose(total[4:8], torch.ones(4))


def test_cells_differ_only_in_the_recurrent_layer() -> None:
    shapes = {}
    for cell in ("lstm", "gru"):
        model = SequenceModel(5, 1, ModelConfig(cell=cell, hidden_size=8))
        shapes[cell] = {name: p.shape for name, p in model.named_parameters() if not name.startswith("rnn.")}
    assert shapes["lstm"] == shapes["gru"]


def test_unknown_cell_is_rejected() -> None:
    with pytest.raises(ConfigError, match="model.cell.*unknown cell 'transformer'"):
        ModelConfig(cell="transformer")


def test_gradients_flow_through_every_cell() -> None:
    for cell in CELLS:
        model = SequenceModel(3, 1, ModelConfig(cell=cell, hidden_size=4))
        outputs, _ = model(torch.randn(2, 5, 3))
        outputs.sum().backward()
        assert all(p.grad is not None for p in model.parameters() if isinstance(model.rnn, nn.Module))


def test_the_registry_holds_a_layer_for_each_name_a_config_is_checked_against() -> None:
    assert list(CELLS) == list(CELL_NAMES) and FORWARD_ONLY <= set(CELL_NAMES)
