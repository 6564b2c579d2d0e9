"""Gate telemetry: recomputed gates reproduce the layers' own outputs; the summary, the callback, the figures."""

from __future__ import annotations

import io
import json
import math

import lightning.pytorch as pl
import pytest
import torch
from gatelab.models import CELLS, ModelConfig, SequenceModel
from gatelab.models.gates import CANDIDATE, GATES, LayerGates, gate_activations, gate_summary, rnn_input
from gatelab.report.gate_plots import gate_means, gate_saturation
from gatelab.training.callbacks import GateTelemetry
from gatelab.training.experiment import load_experiment
from gatelab.training.train import train
from matplotlib import image
from torch import nn


@pytest.mark.parametrize("initial", ["zero", "nonzero"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_recomputed_hidden_states_equal_the_fused_layer(cell: str, num_layers: int, bidirectional: bool,
                                                        initial: str) -> None:
    torch.manual_seed(0)
    directions = 2 if bidirectional else 1
    rnn = CELLS[cell](input_size=5, hidden_size=8, num_layers=num_layers, batch_first=True,
                      bidirectional=bidirectional, dropout=0.3 if num_layers > 1 else 0.0).eval()
    x = torch.randn(4, 12, 5)
    state = None
    if initial == "nonzero":
        h0 = torch.randn(num_layers * directions, 4, 8)
        state = (h0, torch.randn_like(h0)) if cell == "lstm" else h0
    outputs, final = rnn(x, state)
    h_n = final[0] if cell == "lstm" else final

    layers = gate_activations(rnn, x, state)

    expected = [(layer, direction) for layer in range(num_layers) for direction in ("forward", "backward")[:directions]]
    assert [(layer.layer, layer.direction) for layer in layers] == expected
    torch.testing.assert_close(torch.cat([layer.hidden for layer in layers[-directions:]], dim=-1), outputs)
    for index, layer in enumerate(layers):
        torch.testing.assert_close(layer.hidden[:, -1 if layer.direction == "forward" else 0], h_n[index])
        assert list(layer.gates) == list(GATES[cell])
        for name, values in layer.gates.items():
            assert values.shape == (4, 12, 8)
            low = -1.0 if name == CANDIDATE else 0.0
            assert bool(((values > low) & (values < 1)).all()), name


def test_lstm_with_a_projection_is_recomputed_too() -> None:
    torch.manual_seed(0)
    rnn = nn.LSTM(5, 8, num_layers=2, proj_size=3, batch_first=True)
    x = torch.randn(2, 7, 5)
    outputs, _ = rnn(x)
    layers = gate_activations(rnn, x)
    torch.testing.assert_close(layers[-1].hidden, outputs)
    assert layers[0].gates["forget"].shape == (2, 7, 8)


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_min_cell_gates_drive_the_layers_recurrence(cell: str) -> None:
    torch.manual_seed(0)
    rnn = CELLS[cell](input_size=5, hidden_size=8, num_layers=2, batch_first=True).eval()
    x, state = torch.randn(3, 9, 5), torch.rand(2, 3, 8) + 0.1
    outputs, _ = rnn(x, state)

    layers = gate_activations(rnn, x, state)

    torch.testing.assert_close(layers[-1].hidden, outputs, rtol=1e-4, atol=1e-5)
    for layer in layers:
        gates = layer.gates
        keep, write = (1 - gates["update"], gates["update"]) if cell == "mingru" else (gates["forget"], gates["input"])
        previous = state[layer.layer]
        for step in range(x.shape[1]):  # the recurrence, one step at a time, from the reported gates
            expected = keep[:, step] * previous + write[:, step] * gates[CANDIDATE][:, step]
            torch.testing.assert_close(layer.hidden[:, step], expected, rtol=1e-4, atol=1e-5)
            previous = layer.hidden[:, step]
    if cell == "minlstm":
        torch.testing.assert_close(gates["forget"] + gates["input"], torch.ones_like(gates["input"]))


def test_layers_without_gates_or_in_training_with_dropout_are_refused() -> None:
    with pytest.raises(ValueError, match=r"RNN has no gates .* covers lstm, gru, mingru, minlstm"):
        gate_activations(nn.RNN(3, 4, batch_first=True), torch.randn(2, 5, 3))
    with pytest.raises(ValueError, match=r"training mode with dropout 0.2 .* call .eval\(\) first"):
        gate_activations(nn.GRU(3, 4, num_layers=2, dropout=0.2, batch_first=True), torch.randn(2, 5, 3))
    with pytest.raises(ValueError, match=r"\(batch, time, features\) input, got shape \(5, 3\)"):
        gate_activations(nn.GRU(3, 4, batch_first=True), torch.randn(5, 3))


def test_the_rnn_reads_the_relu_of_the_encoded_input() -> None:
    net = SequenceModel(3, 1, ModelConfig(cell="gru", hidden_size=4))
    x = torch.randn(2, 5, 3)
    inputs, state = rnn_input(net, x)
    torch.testing.assert_close(inputs, torch.relu(net.encoder(x)))
    assert state is None


def test_summary_gives_means_and_saturation_per_step_and_overall() -> None:
    # 4 sequences, 3 steps, 2 units: step 0 shut, step 1 open, step 2 half open and half in between.
    forget = torch.tensor([0.05, 0.95, 0.5]).view(1, 3, 1).repeat(4, 1, 2)
    forget[:2, 2] = 0.95
    layer = LayerGates(0, "forward", {"forget": forget, CANDIDATE: torch.zeros(4, 3, 2)}, torch.zeros(4, 3, 2))

    summary = gate_summary([layer])

    gate = summary["layers"][0]["gates"]["forget"]
    assert set(summary["layers"][0]["gates"]) == {"forget"}  # the candidate is not a gate
    assert (summary["sequences"], summary["steps"], summary["low"], summary["high"]) == (4, 3, 0.1, 0.9)
    assert gate["per_step"] == {"mean": [0.05, 0.95, 0.725], "saturated_low": [1.0, 0.0, 0.0],
                                "saturated_high": [0.0, 1.0, 0.5]}
    assert gate["mean"] == pytest.approx((0.05 + 0.95 + 0.725) / 3, abs=1e-5)
    assert (gate["saturated_low"], gate["saturated_high"]) == (pytest.approx(1 / 3, abs=1e-5), 0.5)
    assert json.loads(json.dumps(summary)) == summary


def test_a_strongly_biased_lstm_gate_is_saturated_at_every_step() -> None:
    rnn = nn.LSTM(3, 4, batch_first=True)
    with torch.no_grad():
        for parameter in rnn.parameters():
            parameter.zero_()
        rnn.bias_ih_l0[:4] = -6.0  # input gate shut
        rnn.bias_ih_l0[4:8] = 6.0  # forget gate open
    gates = gate_summary(gate_activations(rnn, torch.randn(5, 6, 3)))["layers"][0]["gates"]
    assert gates["input"]["per_step"]["saturated_low"] == [1.0] * 6
    assert gates["forget"]["per_step"]["saturated_high"] == [1.0] * 6
    assert gates["output"] == {"mean": 0.5, "saturated_low": 0.0, "saturated_high": 0.0,
                               "per_step": {"mean": [0.5] * 6, "saturated_low": [0.0] * 6,
                                            "saturated_high": [0.0] * 6}}


class _ModeAndGenerator(pl.Callback):
    """Records, after the telemetry, whether every submodule trains and the state of torch's generator."""

    def __init__(self) -> None:
        self.seen: list[tuple[bool, torch.Tensor]] = []

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.seen.append((all(module.training for module in pl_module.modules()), torch.get_rng_state()))


def test_telemetry_logs_every_epoch_and_leaves_training_as_it_was(tiny_config) -> None:
    # Dropout between and after two layers: a left-over eval mode or a random draw would change the results.
    cfg = load_experiment("fraud", [tiny_config(epochs=2)],
                      overrides={"model.num_layers": 2, "model.dropout": 0.3, "model.hidden_size": 8})
    data = cfg.run().data
    data.prepare_data()
    data.setup("fit")
    first = next(iter(data.val_dataloader()))["x"][:32]
    drawn, given = [], []
    before, after = _ModeAndGenerator(), _ModeAndGenerator()

    with_telemetry = train(cfg.run(), test=False, callbacks=[
        before, GateTelemetry(32, lambda epoch, summary: drawn.append((epoch, summary))),
        GateTelemetry(first, lambda epoch, summary: given.append((epoch, summary))), after])
    without = train(cfg.run(), test=False)

    assert [epoch for epoch, _ in drawn] == [0, 1]
    assert drawn == given  # the count draws the first sequences of the validation loader
    summary = drawn[-1][1]
    assert (summary["sequences"], summary["steps"]) == (32, first.shape[1])
    assert [set(layer["gates"]) for layer in summary["layers"]] == [{"input", "forget", "output"}] * 2
    assert json.loads(json.dumps(summary)) == summary
    assert all(training for training, _ in after.seen)
    assert all(torch.equal(a, b) for (_, a), (_, b) in zip(before.seen, after.seen))
    timing = {"seconds_per_epoch", "seconds_to_best_epoch"}
    assert {key: value for key, value in with_telemetry.items() if key not in timing} == \
        {key: value for key, value in without.items() if key not in timing}


def _summary(layers: int, steps: int, shift: float) -> dict:
    values = torch.linspace(0.02, 0.98, 4 * steps * 3).view(4, steps, 3) ** (1 + shift)
    return gate_summary([LayerGates(index, "forward", {"reset": values, "update": 1 - values}, values)
                         for index in range(layers)])


@pytest.mark.parametrize("layers", [1, 2])
def test_gate_figures_are_pngs_with_a_panel_per_layer(layers: int) -> None:
    means = image.imread(io.BytesIO(gate_means(_summary(layers, 10, 0.0), "gru", 3)), format="png")
    saturation = image.imread(io.BytesIO(gate_saturation({epoch: _summary(layers, 10, epoch / 2) for epoch in range(4)},
                                                         "gru")), format="png")
    for picture in (means, saturation):
        height, width = picture.shape[:2]
        assert height > 300 and width > 400
        assert math.isclose(width / height, (4.2 * layers + 1.5) / 4, rel_tol=0.25)
