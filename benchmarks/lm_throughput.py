"""Training throughput of gatelab's Zaremba-small run next to a plain PyTorch loop in word_language_model's style.

Both train the same model (2-layer LSTM, 200 units, 10,000-word PTB vocabulary, 20 streams x 20 steps,
SGD lr 1, gradient norm 5, uniform +-0.1 init) on the same PTB training stream, in the same process, for
the same number of batches. The plain loop follows pytorch/examples' ``word_language_model``: a
sequence-first model (encoder, dropout, ``nn.LSTM``, dropout, decoder), ``log_softmax`` + ``NLLLoss``,
hidden state detached every step (``repackage_hidden``), ``clip_grad_norm_`` and a hand-written SGD update.

Run: ``python -m benchmarks.lm_throughput [batches]`` (needs the PTB files, see configs/lm/ptb.yaml).
"""

from __future__ import annotations

import statistics
import sys
import time

import torch
from gatelab.models import CELLS, detach_state
from gatelab.training.experiment import load_experiment
from gatelab.training.train import train
from torch import Tensor, nn

from benchmarks.common import Figure

__all__ = ["PlainRNNModel", "lm_throughput", "measure", "plain_loop_seconds"]


class PlainRNNModel(nn.Module):
    """word_language_model's ``RNNModel``: ``(time, batch)`` ids to ``(time * batch, vocab)`` log-probabilities."""

    def __init__(self, cell: str, vocab_size: int, hidden_size: int, num_layers: int, init_range: float) -> None:
        super().__init__()
        self.drop = nn.Dropout(0.0)
        self.encoder = nn.Embedding(vocab_size, hidden_size)
        self.rnn = CELLS[cell](hidden_size, hidden_size, num_layers)
        self.decoder = nn.Linear(hidden_size, vocab_size)
        for parameter in self.parameters():
            nn.init.uniform_(parameter, -init_range, init_range)

    def forward(self, ids: Tensor, hidden: Tensor | tuple[Tensor, ...] | None) -> tuple[Tensor, object]:
        output, hidden = self.rnn(self.drop(self.encoder(ids)), hidden)
        decoded = self.decoder(self.drop(output)).view(-1, self.decoder.out_features)
        return torch.log_softmax(decoded, dim=1), hidden


def plain_loop_seconds(train_ids: Tensor, cell: str, batches: int, batch_size: int = 20, bptt: int = 20,
                       lr: float = 1.0, clip: float = 5.0) -> float:
    """Wall seconds of ``batches`` training steps of the plain loop (loss summed over time, Zaremba's scale).

    It runs on the accelerator Lightning's ``accelerator: auto`` picks (a GPU where there is one), else the CPU.
    """
    torch.manual_seed(0)
    device = torch.accelerator.current_accelerator() or torch.device("cpu")
    model = PlainRNNModel(cell, int(train_ids.max()) + 1, 200, 2, 0.1).to(device)
    length = len(train_ids) // batch_size
    data = train_ids[: length * batch_size].view(batch_size, -1).t().contiguous().to(device)
    criterion = nn.NLLLoss()
    model.train()
    hidden = None
    start = time.perf_counter()
    for step, i in enumerate(range(0, data.size(0) - 1, bptt)):
        if step == batches:
            break
        seq_len = min(bptt, len(data) - 1 - i)
        source, targets = data[i : i + seq_len], data[i + 1 : i + 1 + seq_len].reshape(-1)
        model.zero_grad()
        hidden = detach_state(hidden) if hidden is not None else None
        output, hidden = model(source, hidden)
        loss = criterion(output, targets) * seq_len
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        for parameter in model.parameters():
            if parameter.grad is not None:
                parameter.data.add_(parameter.grad, alpha=-lr)
    if device.type != "cpu":
        torch.accelerator.synchronize()
    return time.perf_counter() - start


def _gatelab_seconds(cell: str, batches: int) -> tuple[float, Tensor]:
    """Seconds of one training epoch of ``batches`` batches through ``gatelab.train``, and the training ids."""
    overrides = {"model.cell": cell, "trainer.max_epochs": 1, "trainer.limit_train_batches": batches,
                 "trainer.limit_eval_batches": 2}
    run = load_experiment("lm", ["zaremba-small"], overrides).run()
    metrics = train(run, test=False)
    return metrics["seconds_per_epoch"], run.data.prepared.ids["train"]


def measure(batches: int = 300, cell: str = "lstm", repeats: int = 2) -> dict[str, float]:
    """Tokens per second of gatelab and of the plain loop, alternated ``repeats`` times; medians and their ratio."""
    tokens = batches * 20 * 20
    ours, plain = [], []
    for _ in range(repeats):
        seconds, ids = _gatelab_seconds(cell, batches)
        ours.append(tokens / seconds)
        plain.append(tokens / plain_loop_seconds(ids, cell, batches))
    result = {"batches": float(batches), "cpu_threads": float(torch.get_num_threads()),
              "gatelab_tokens_per_s": statistics.median(ours), "plain_tokens_per_s": statistics.median(plain)}
    result["gatelab_vs_plain_ratio"] = result["gatelab_tokens_per_s"] / result["plain_tokens_per_s"]
    return result


def lm_throughput(quick: bool) -> list[Figure]:
    """Item 6 of ``make bench``: Zaremba-small training throughput, gatelab vs the plain loop."""
    result = measure(batches=20 if quick else 300, repeats=1 if quick else 3)
    note = f"Zaremba-small PTB LSTM, {int(result['batches'])} batches of 20 x 20 tokens, alternated"
    return [
        Figure("lm.gatelab_vs_plain_throughput_ratio", result["gatelab_vs_plain_ratio"], "x", at_least=1.0, note=note),
        Figure("lm.gatelab_tokens_per_s", result["gatelab_tokens_per_s"], "tokens/s"),
        Figure("lm.plain_tokens_per_s", result["plain_tokens_per_s"], "tokens/s"),
    ]


if __name__ == "__main__":
    for key, value in measure(int(sys.argv[1]) if len(sys.argv) > 1 else 300).items():
        print(f"{key:<24} {value:,.3f}")
