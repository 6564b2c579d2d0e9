"""The language-modelling task end to end through the command line, read back from MLflow."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from conftest import FIXTURES
from gatelab.cli import main
from gatelab.search.space import suggest
from gatelab.training.experiment import load_experiment
from mlflow import MlflowClient

TINY_PTB = f"""
data:
  init_args:
    corpus: {{class_path: tasks.lm.PennTreebank, init_args: {{root: {FIXTURES / "ptb_synthetic"}}}}}
    batch_size: 4
    bptt: 10
    eval_batch_size: 2
trainer: {{max_epochs: 2, limit_train_batches: 6}}
sweep: {{trials: 1, startup_trials: 1}}
search_space:
  - {{name: model.hidden_size, type: int, low: 8, high: 16}}
  - {{name: optim.lr, type: float, low: 0.5, high: 2.0, log: true}}
"""


def gatelab(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the `gatelab` command as a user does, in its own process."""
    return subprocess.run([sys.executable, "-m", "gatelab.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def test_tiny_word_level_sweep_layers_the_ptb_preset_and_reports_perplexity(tmp_path: Path) -> None:
    tiny = tmp_path / "tiny.yaml"
    tiny.write_text(TINY_PTB)
    store = tmp_path / "mlruns"
    result = gatelab("sweep", "--task", "lm", "--config", f"[ptb,{tiny}]", "--store", str(store),
                     "--progress", "false", "--seeds", "2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "**Verdict:**" in result.stdout and "| LSTM" in result.stdout and "| GRU" in result.stdout

    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("gatelab-lm")
    runs = client.search_runs([experiment.experiment_id], max_results=100)
    (parent,) = [run for run in runs if run.data.tags.get("gatelab.role") == "sweep"]
    assert parent.data.params["data.init_args.lr_schedule.kind"] == "step"  # from the ptb preset
    children = [run for run in runs if run.data.tags.get("mlflow.parentRunId") == parent.info.run_id
                and run.data.tags.get("gatelab.role") not in ("selection", "baseline")]
    assert sorted(run.data.tags["gatelab.cell"] for run in children) == ["gru", "lstm"]
    ngrams = [run for run in runs if run.data.tags.get("gatelab.role") == "baseline"]  # the counts ignore the seed:
    assert len(ngrams) == 1  # one fit stands for both seeds
    assert all(run.data.tags["gatelab.baseline"] == "Kneser-Ney 5-gram" and "test/ppl" in run.data.metrics
               for run in ngrams)
    for child in children:
        assert child.data.tags["gatelab.state"] == "complete"
        metrics = child.data.metrics
        assert 1 < metrics["best_val/ppl"] < 60  # 46 words: uniform is 46
        assert not any(key.startswith("test/") for key in metrics), "a trial scored the test split"
        assert len(client.get_metric_history(child.info.run_id, "val/ppl")) == 2
    report = json.loads(Path(client.download_artifacts(parent.info.run_id, "verdict.json", str(tmp_path))).read_text())
    verdict = report["verdict"]
    assert verdict["metric"] == "test/ppl" and verdict["direction"] == "minimize"


def test_char_level_train_command_prints_bits_per_character(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    tiny = tmp_path / "tiny.yaml"
    tiny.write_text(f"data: {{init_args: {{corpus: {{init_args: {{path: {FIXTURES / 'tinyshakespeare_head.txt'}}}}}, "
                    "batch_size: 4, bptt: 16, eval_batch_size: 2}}\nmodel: {hidden_size: 16}\n"
                    "trainer: {max_epochs: 1, limit_train_batches: 10}\n")
    main(["train", "--task", "lm", "--config", str(tiny), "--cell", "gru", "--store", str(tmp_path / "mlruns")])
    out = capsys.readouterr().out
    printed = dict(line.split() for line in out.splitlines() if line.startswith(("test/", "best_val/")))
    assert 0 < float(printed["test/bpc"]) < 6.0 and "best_val/bpc" in printed


def test_bad_corpus_file_exits_2_with_one_clear_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("Fran\u00e7ais\n".encode("latin-1"))
    user = tmp_path / "bad.yaml"
    user.write_text(f"data: {{init_args: {{corpus: {{init_args: {{path: {bad}}}}}}}}}\n")
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--task", "lm", "--config", str(user), "--store", str(tmp_path / "mlruns")])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip() == (
        f"gatelab: error: {bad}: not UTF-8 text (byte 4 is 0xe7); convert it to UTF-8, e.g. with `iconv -t UTF-8`.")


@pytest.mark.parametrize("preset", ["ptb", "zaremba-small", "zaremba-medium", "ptb-tuned"])
def test_presets_load_and_zaremba_small_is_the_paper_setting(preset: str) -> None:
    cfg = load_experiment("lm", [preset])
    run = cfg.run()
    assert run.data.objective == "val/ppl"
    if preset == "zaremba-small":
        model, optim, trainer, data = run.model, run.optim, run.trainer, run.data
        assert (model.cell, model.num_layers, model.hidden_size, model.dropout) == ("lstm", 2, 200, 0.0)
        assert (optim.name, optim.lr, optim.momentum, optim.weight_decay) == ("sgd", 1.0, 0.0, 0.0)
        assert (trainer.max_epochs, trainer.gradient_clip_val, trainer.limit_train_batches) == (13, 5.0, 1.0)
        assert (data.batch_size, data.bptt, data.init_range, data.tie_weights, data.loss_per) == (20, 20, 0.1, False,
                                                                                                 "stream")
        assert [0.5 ** data.lr_schedule.decays(epoch) for epoch in range(6)] == [1, 1, 1, 1, 0.5, 0.25]


def test_zaremba_medium_is_the_paper_setting() -> None:
    run = load_experiment("lm", ["zaremba-medium"]).run()
    model, optim, trainer, data = run.model, run.optim, run.trainer, run.data
    assert (model.cell, model.num_layers, model.hidden_size, model.dropout) == ("lstm", 2, 650, 0.5)
    assert (optim.name, optim.lr, trainer.max_epochs, trainer.gradient_clip_val) == ("sgd", 1.0, 39, 5.0)
    assert (data.batch_size, data.bptt, data.init_range, data.loss_per) == (20, 35, 0.05, "stream")
    rates = [data.lr_schedule.factor ** data.lr_schedule.decays(epoch) for epoch in range(8)]
    assert rates == pytest.approx([1, 1, 1, 1, 1, 1, 1 / 1.2, 1 / 1.2 ** 2])  # lr 1 for 6 epochs, then / 1.2


def test_ptb_tuned_searches_each_cells_recipe_and_every_value_reaches_the_run() -> None:
    cfg = load_experiment("lm", ["ptb-tuned"])
    names = {param.name for param in cfg.search_space}
    assert names == {"optim.lr", "data.init_args.lr_schedule.after", "model.dropout", "trainer.gradient_clip_val"}
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    values = suggest(study.ask(), cfg.search_space)
    for cell in ("lstm", "gru"):
        run = cfg.with_overrides({**values, "model.cell": cell}).run()
        assert (run.model.cell, run.model.hidden_size, run.model.num_layers) == (cell, 200, 2)
        assert run.optim.lr == values["optim.lr"] and run.model.dropout == values["model.dropout"]
        assert run.data.lr_schedule.after == values["data.init_args.lr_schedule.after"]
        assert run.trainer.gradient_clip_val == values["trainer.gradient_clip_val"]
