"""minGRU and minLSTM: the log-space parallel scan against the step-by-step recurrence, gradients, long sequences."""

from __future__ import annotations

import pytest
import torch
from gatelab.errors import ConfigError
from gatelab.models import CELLS, ModelConfig, SequenceModel
from gatelab.models.mincells import MinGRU, MinLSTM, logcumsumexp, parallel_scan_log
from gatelab.training.experiment import load_experiment
from gatelab.training.train import train

MIN_CELLS = {"mingru": MinGRU, "minlstm": MinLSTM}


def step_by_step(layer: torch.nn.Module, x: torch.Tensor, state: torch.Tensor | None = None) -> torch.Tensor:
    """The recurrence run one step per call, carrying the state: the inference form."""
    outputs = []
    for t in range(x.shape[1]):
        out, state = layer(x[:, t : t + 1], state)
        outputs.append(out)
    return torch.cat(outputs, dim=1)


@pytest.mark.parametrize("name", sorted(MIN_CELLS))
def test_parallel_scan_equals_the_recurrence(name: str) -> None:
    torch.manual_seed(0)
    layer = MIN_CELLS[name](4, 6, num_layers=2, batch_first=True).double()
    x = torch.randn(3, 40, 4, dtype=torch.double)
    start = torch.rand(2, 3, 6, dtype=torch.double) + 0.1
    for state in (None, start):
        parallel, final = layer(x, state)
        torch.testing.assert_close(parallel, step_by_step(layer, x, state), rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(final[-1], parallel[:, -1])


@pytest.mark.parametrize("name", sorted(MIN_CELLS))
def test_gradients_of_both_forms_match(name: str) -> None:
    torch.manual_seed(1)
    layer = MIN_CELLS[name](3, 5, num_layers=2, batch_first=True).double()
    x = torch.randn(2, 25, 3, dtype=torch.double, requires_grad=True)
    grads = []
    for form in (lambda: layer(x)[0], lambda: step_by_step(layer, x)):
        layer.zero_grad()
        x.grad = None
        (form() * torch.linspace(-1, 1, 5, dtype=torch.double)).sum().backward()
        grads.append([x.grad.clone(), *(p.grad.clone() for p in layer.parameters())])
    for parallel, sequential in zip(*grads):
        torch.testing.assert_close(parallel, sequential, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("name", sorted(MIN_CELLS))
@pytest.mark.parametrize(("scale", "rtol"), [(1.0, 1e-4), (30.0, 2e-3)])
def test_long_float32_sequences_stay_finite_and_accurate(name: str, scale: float, rtol: float) -> None:
    """4096 steps in float32, with ordinary and with saturated gates (products of gates far below 1e-38).

    Saturated gates make the logs the scan adds up large, so their rounding costs more digits.
    """
    torch.manual_seed(2)
    layer = MIN_CELLS[name](4, 8, batch_first=True).double()
    with torch.no_grad():
        for p in layer.parameters():
            p.mul_(scale)
    x = torch.randn(2, 4096, 4, dtype=torch.double)
    reference = step_by_step(layer, x)
    outputs, _ = layer.float()(x.float())
    assert torch.isfinite(outputs).all()
    torch.testing.assert_close(outputs.double(), reference, rtol=rtol, atol=1e-6)
    outputs.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in layer.parameters())


@pytest.mark.parametrize("length", [1, 2, 7, 64, 100])
def test_doubling_logcumsumexp_equals_torch(length: int) -> None:
    x = (torch.randn(3, length, 4, dtype=torch.double) * 50).requires_grad_()
    ours, reference = logcumsumexp(x), torch.logcumsumexp(x, dim=1)
    torch.testing.assert_close(ours, reference)
    weights = torch.randn_like(ours)
    torch.testing.assert_close(*torch.autograd.grad([(ours * weights).sum()], [x]),
                               *torch.autograd.grad([(reference * weights).sum()], [x]))


def test_chunked_scan_equals_one_scan() -> None:
    torch.manual_seed(3)
    log_a, log_b = -torch.rand(2, 100, 3, dtype=torch.double), torch.randn(2, 100, 3, dtype=torch.double)
    h0 = torch.rand(2, 3, dtype=torch.double) + 0.5
    torch.testing.assert_close(parallel_scan_log(log_a, log_b, h0, chunk=7), parallel_scan_log(log_a, log_b, h0))


@pytest.mark.parametrize("name", sorted(MIN_CELLS))
def test_time_first_layout_and_dropout_between_layers(name: str) -> None:
    torch.manual_seed(4)
    batch_first = MIN_CELLS[name](3, 4, num_layers=2, batch_first=True, dropout=0.5)
    time_first = MIN_CELLS[name](3, 4, num_layers=2, dropout=0.5)
    time_first.load_state_dict(batch_first.state_dict())
    x = torch.randn(2, 9, 3)
    out, state = time_first.eval()(x.transpose(0, 1))
    expected, expected_state = batch_first.eval()(x)
    torch.testing.assert_close(out.transpose(0, 1), expected)
    torch.testing.assert_close(state, expected_state)
    assert not torch.equal(batch_first.train()(x)[0], expected)


def test_registered_for_every_task_and_sweep() -> None:
    assert CELLS["mingru"] is MinGRU and CELLS["minlstm"] is MinLSTM
    cfg = load_experiment("fraud", overrides={"sweep.cells": ["lstm", "gru", "mingru", "minlstm"]})
    assert cfg.sweep.cells == ["lstm", "gru", "mingru", "minlstm"]


def test_bidirectional_is_rejected_naming_the_key() -> None:
    with pytest.raises(ConfigError, match="model.bidirectional"):
        ModelConfig(cell="mingru", bidirectional=True)
    with pytest.raises(ConfigError, match="model.bidirectional"):
        MinLSTM(3, 4, bidirectional=True)
    with pytest.raises(ConfigError, match="model.bidirectional.*'minlstm'"):
        load_experiment("fraud", overrides={"model.bidirectional": True, "sweep.cells": ["gru", "minlstm"]})


def test_minlstm_forget_bias_comes_from_the_config() -> None:
    model = SequenceModel(3, 1, ModelConfig(cell="minlstm", hidden_size=4, num_layers=2, forget_bias=2.0))
    for layer in model.rnn.layers:
        assert torch.equal(layer.bias[:4], torch.full((4,), 2.0))
        assert not torch.equal(layer.bias[4:8], torch.full((4,), 2.0))


def test_trains_on_a_task(tiny_config) -> None:
    cfg = load_experiment("fraud", [tiny_config()], {"model.cell": "mingru", "model.hidden_size": 8})
    metrics = train(cfg.run(), test=True)
    assert metrics["epochs"] == 1 and 0.0 <= metrics["test/auprc"] <= 1.0
