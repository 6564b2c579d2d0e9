"""The language-modelling baseline: interpolated Kneser-Ney, checked against a direct reading of Chen & Goodman's
formula, a proper distribution, and scored on the fixture corpus by the task's own metric."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from tasks.lm import LanguageModelDataModule, TextFiles
from tasks.lm.batching import batchify
from tasks.lm.ngram import ORDER, KneserNey, KneserNeyBaseline

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"


def reference(train: list[int], stream: list[int], order: int, vocabulary: int) -> list[float]:
    """log P of every token after the first of ``stream``, by the formula itself (slow, plain Python)."""
    grams = {k: Counter(tuple(train[i - k + 1 : i + 1]) for i in range(k - 1, len(train))) for k in range(1, order + 1)}
    counts = {order: grams[order]} | {k: Counter(gram[1:] for gram in grams[k + 1]) for k in range(1, order)}

    def discount(k: int) -> float:
        values = list(counts[k].values())
        n1, n2 = values.count(1), values.count(2)
        return n1 / (n1 + 2 * n2) if n1 else 0.5

    def probability(token: int, history: tuple[int, ...]) -> float:
        k = len(history) + 1
        lower = 1 / vocabulary if k == 1 else probability(token, history[1:])
        after = {gram: count for gram, count in counts[k].items() if gram[:-1] == history}
        total = sum(after.values())
        if total == 0:
            return lower
        types = sum(1 for count in after.values() if count > 0)
        return (max(counts[k][(*history, token)] - discount(k), 0) + discount(k) * types * lower) / total

    return [float(np.log(probability(stream[j], tuple(stream[max(0, j - order + 1) : j]))))
            for j in range(1, len(stream))]


def test_the_counts_give_chen_and_goodmans_probabilities() -> None:
    rng = np.random.default_rng(3)
    train = [int(token) for token in rng.choice(6, 400, p=[0.4, 0.2, 0.15, 0.1, 0.1, 0.05])]
    streams = np.array([train[:30], [int(token) for token in rng.integers(0, 7, 30)]])  # token 6: never seen
    model = KneserNey.fit(np.array(train), 3, 7)
    got = model.log_prob(streams)
    for row, stream in zip(got, streams.tolist()):
        assert row == pytest.approx(reference(train, stream, 3, 7), abs=1e-9)


def test_every_history_gets_a_distribution_over_the_vocabulary() -> None:
    train = np.array([0, 1, 2, 0, 1, 3, 0, 1, 2, 2, 4, 0, 1])
    model = KneserNey.fit(train, 3, 6)
    for history in ([0, 1], [2, 2], [5, 5], [4, 0]):
        streams = np.array([[*history, token] for token in range(6)])
        assert np.exp(model.log_prob(streams)[:, -1]).sum() == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(ValueError, match="at least 3 tokens"):
        KneserNey.fit(train[:2], 3, 6)


def test_the_baseline_scores_the_test_streams_the_cells_read(tmp_path: Path) -> None:
    text = (FIXTURES / "tinyshakespeare_head.txt").read_text()
    cut = int(len(text) * 0.8)
    files = {name: tmp_path / f"{name}.txt" for name in ("train", "valid", "test")}
    for path, part in zip(files.values(), (text[:cut], text[cut : cut + 500], text[cut + 500 :])):
        path.write_text(part)
    data = LanguageModelDataModule(corpus=TextFiles(train=str(files["train"]), valid=str(files["valid"]),
                                                    test=str(files["test"]), level="char"), eval_batch_size=4)
    data.setup("fit")
    (baseline,) = data.baselines()
    assert isinstance(baseline, KneserNeyBaseline) and baseline.name == f"Kneser-Ney {ORDER}-gram"
    assert np.array_equal(baseline.test, batchify(data.prepared.ids["test"], 4).numpy())
    metrics = baseline.fit_and_test(0)
    model = KneserNey.fit(data.prepared.ids["train"].numpy(), ORDER, len(data.vocabulary))
    bits = -model.log_prob(baseline.test).mean() / np.log(2)
    assert set(metrics) == {"test/bpc"} and metrics["test/bpc"] == pytest.approx(bits, rel=1e-5)
    unigram = KneserNey.fit(data.prepared.ids["train"].numpy(), 1, len(data.vocabulary))
    assert bits < -unigram.log_prob(baseline.test).mean() / np.log(2)  # context helps on English text
