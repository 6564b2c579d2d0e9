"""Config mistakes read as one line: the YAML layer that set the key, the full key, what is wrong, the nearest key."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from gatelab.errors import ConfigError
from gatelab.training.config import configs_dir
from gatelab.training.experiment import load_experiment

# Per task, one mistake of each kind: an unknown key, a value of the wrong type, a value out of its type's range and
# one the DataModule's own checks refuse (its __init__, or a dataclass of its settings, raising); with the line each
# must print. series and synthetic state their ranges in their own checks.
CASES = {
    ("fraud", "unknown"): ("data: {init_args: {top_kk: 5}}",
                           "data.init_args.top_kk: unknown option; did you mean top_k?"),
    ("fraud", "type"): ("data: {init_args: {history: many}}",
                        "data.init_args.history: expected PositiveInt (invalid literal for int() with base 10: "
                        "'many')"),
    ("fraud", "range"): ("data: {init_args: {eval_batch_size: -8}}",
                         "data.init_args.eval_batch_size: -8 must be > 0 (PositiveInt)"),
    ("fraud", "check"): ("data: {init_args: {split: {val_days: 0}}}",
                         "data.init_args.split.val_days: must be a whole number >= 1 of days, got 0."),
    ("physio", "unknown"): ("data: {init_args: {split: {protocl: inter}}}",
                            "data.init_args.split.protocl: unknown option; did you mean protocol?"),
    ("physio", "type"): ("data: {init_args: {rr_features: often}}",
                         "data.init_args.rr_features: expected bool, got often"),
    ("physio", "range"): ("data: {init_args: {num_workers: -1}}",
                          "data.init_args.num_workers: -1 must be >= 0 (NonNegativeInt)"),
    ("physio", "check"): ("data: {init_args: {record_rr: true, rr_features: false}}",
                          "data.init_args.record_rr: true needs rr_features: true (they extend the RR features)."),
    ("lm", "unknown"): ("data: {init_args: {tie_weight: true}}",
                        "data.init_args.tie_weight: unknown option; did you mean tie_weights?"),
    ("lm", "type"): ("data: {init_args: {loss_per: word}}",
                     "data.init_args.loss_per: 'word' is not one of token, stream"),
    ("lm", "range"): ("data: {init_args: {corpus: {init_args: {valid_fraction: 1.5}}}}",
                      "data.init_args.corpus.init_args.valid_fraction: 1.5 must be > 0 and < 1 (OpenUnitInterval)"),
    ("lm", "check"): ("data: {init_args: {corpus: {init_args: {valid_fraction: 0.6, test_fraction: 0.5}}}}",
                      "data.init_args.corpus: valid_fraction + test_fraction must be below 1."),
    ("series", "unknown"): ("data: {init_args: {horizn: 6}}",
                            "data.init_args.horizn: unknown option; did you mean horizon?"),
    ("series", "type"): ("data: {init_args: {context: long}}",
                         "data.init_args.context: expected int, got long"),
    ("series", "range"): ("data: {init_args: {context: 0}}",
                          "data.init_args.context: 0 is too small for the series task; set it to 1 or more."),
    ("series", "check"): ("data: {init_args: {val_share: 1.5}}",
                          "data.init_args.val_share: 1.5 is not a share; give a number in (0, 1)."),
    ("synthetic", "unknown"): ("data: {init_args: {symbol: 4}}",
                               "data.init_args.symbol: unknown option; did you mean symbols?"),
    ("synthetic", "type"): ("data: {init_args: {symbols: [1]}}",
                            "data.init_args.symbols: expected int, got [1]"),
    ("synthetic", "range"): ("data: {init_args: {distractors: 0}}",
                             "data.init_args.distractors: 0 is too small for the synthetic recall task; set it to 1 "
                             "or more."),
    ("synthetic", "check"): ("data: {init_args: {symbols: 1}}",
                             "data.init_args.symbols: 1 is too small for the synthetic recall task; set it to 2 or "
                             "more."),
}


def refusal(folder: Path, task: str, yaml: str, *more: str) -> str:
    """The one line ``load_experiment`` refuses ``yaml`` (as ``mine.yaml`` in ``folder``, the working folder) with."""
    (folder / "mine.yaml").write_text(yaml + "\n")
    with pytest.raises(ConfigError) as refused:
        load_experiment(task, ["mine.yaml", *more])
    return str(refused.value)


@pytest.mark.parametrize(("task", "kind"), sorted(CASES))
def test_each_kind_of_mistake_is_one_line_naming_the_file_and_the_full_key(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, task: str, kind: str) -> None:
    monkeypatch.chdir(tmp_path)
    yaml, line = CASES[task, kind]
    assert refusal(tmp_path, task, yaml) == f"mine.yaml: {line}"


def test_every_task_has_a_case_of_each_kind() -> None:
    tasks = sorted(path.stem for path in configs_dir().glob("*.yaml") if path.stem != "claims")
    assert sorted(CASES) == sorted((task, kind) for task in tasks for kind in ("check", "range", "type", "unknown"))


#: What a config's check must not import: the tasks' options classes (``gatelab.training.options``) stand for them.
HEAVY = ("torch", "lightning", "torchmetrics", "mlflow", "sklearn", "scipy", "wfdb", "aeon", "sktime", "statsmodels",
         "matplotlib")


@pytest.mark.parametrize("task", sorted({task for task, _ in CASES}))
def test_every_mistake_is_refused_before_torch_lightning_or_a_data_library_is_imported(tmp_path: Path,
                                                                                      task: str) -> None:
    """In a fresh interpreter, as a command meets them: the same lines as above, and none of ``HEAVY`` imported."""
    cases = {kind: yaml for (named, kind), (yaml, _) in CASES.items() if named == task}
    program = f"""
import json, pathlib, sys
from gatelab.errors import ConfigError
from gatelab.training.experiment import load_experiment
lines = {{}}
for kind, yaml in {cases!r}.items():
    pathlib.Path("mine.yaml").write_text(yaml + "\\n")
    try:
        load_experiment({task!r}, ["mine.yaml"])
    except ConfigError as error:
        lines[kind] = str(error)
print(json.dumps({{"lines": lines, "heavy": [name for name in {HEAVY!r} if name in sys.modules]}}))
"""
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result == {"lines": {kind: f"mine.yaml: {CASES[task, kind][1]}" for kind in cases}, "heavy": []}


@pytest.mark.parametrize(
    ("yaml", "line"),
    [
        ("modle: {hidden_size: 3}", "mine.yaml: modle.hidden_size: unknown option 'modle'; did you mean "
                                    "model.hidden_size?"),
        ("optim: {name: adamm}", "mine.yaml: optim.name: 'adamm' is not one of adam, adamw, sgd; did you mean adam?"),
        ("trainer: {devices: [0, 1]}", "mine.yaml: trainer.devices: expected int or str, got [0, 1]"),
        ("data: {class_path: tasks.fraud.Missing}",
         "mine.yaml: data.class_path: tasks.fraud.Missing: No tasks.fraud attribute Missing"),
        ("sweep: {trials: 2\n", "mine.yaml: line 3, column 1: expected ',' or '}', but got '<stream end>' (while "
                                "parsing a flow mapping); fix the YAML syntax."),
        ("[model, optim]", "mine.yaml: holds a list, where a mapping of keys (model:, data:, ...) is expected."),
        ("search_space: [{name: optim.lr, type: float, low: 0.001, high: 0.1}, {name: model.num_layers, type: integer, "
         "low: 1, high: 2}]",
         "mine.yaml: search_space[model.num_layers].type: 'integer' is not one of int, float, categorical; did you "
         "mean int?"),
        ("search_space: [{name: optim.lr, type: float, low: 0.001, high: 0.1, scale: log}]",
         "mine.yaml: search_space[optim.lr].scale: unknown option; valid options here: choices, high, log, low, name, "
         "step, type"),
        ("model: {cell: grru}", "mine.yaml: model.cell: unknown cell 'grru'; choose one of "
                                "['gru', 'lstm', 'mingru', 'minlstm', 'rnn']."),
        ("sweep: {cells: [lstm, rnnn]}", "mine.yaml: sweep.cells: unknown or no cells ['rnnn']; choose from "
                                         "['gru', 'lstm', 'mingru', 'minlstm', 'rnn']."),
        ("{model: {bidirectional: true}, sweep: {cells: [gru, minlstm]}}",
         "mine.yaml: model.bidirectional: cell 'minlstm' reads sequences forwards only; set model.bidirectional: "
         "false or choose lstm, gru or rnn."),
    ],
)
def test_keys_classes_files_and_entries_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, yaml: str,
                                                   line: str) -> None:
    monkeypatch.chdir(tmp_path)
    assert refusal(tmp_path, "fraud", yaml) == line


def test_the_layer_that_set_the_key_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Of two user files the later one set the bad value; a preset is named by its path under the working folder."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "later.yaml").write_text("optim: {lr: 0}\n")
    assert refusal(tmp_path, "fraud", "optim: {lr: 0.01}", "later.yaml") == \
        "later.yaml: optim.lr: 0 must be > 0 (PositiveFloat)"
    configs = tmp_path / "configs"
    (configs / "fraud").mkdir(parents=True)
    (configs / "fraud.yaml").write_text((configs_dir() / "fraud.yaml").read_text())
    (configs / "fraud" / "wide.yaml").write_text("model: {hidden_size: 0}\n")
    monkeypatch.setenv("GATELAB_CONFIGS", str(configs))
    assert refusal(tmp_path, "fraud", "optim: {lr: 0.01}", "wide") == \
        "configs/fraud/wide.yaml: model.hidden_size: 0 must be > 0 (PositiveInt)"


# Issue 23, kind 6: each entry checked against Optuna's distribution rules when the config loads. The inputs differ
# from the (a float with log and step): other types, keys and rules.
SPACES = [
    ("{name: model.num_layers, type: int, low: 1, high: 4, log: true, step: 2}",
     "search_space[model.num_layers]: Samplers and other components in Optuna only accept step is 1 when `log` "
     "argument is True."),
    ("{name: model.dropout, type: float, low: 0.5, high: 0.1}",
     "search_space[model.dropout]: `low <= high` must hold, but got (low=0.5, high=0.1)."),
    ("{name: data.init_args.history, type: int, low: 0, high: 16, log: true}",
     "search_space[data.init_args.history]: `low >= 1` must hold for `log=True`, but got (low=0, high=16)."),
    ("{name: optim.momentum, type: float, low: -1.0, high: 0.9, log: true}",
     "search_space[optim.momentum]: `low > 0` must hold for `log=True`, but got (low=-1.0, high=0.9)."),
    ("{name: data.init_args.batch_size, type: int, low: 32, high: 200, step: 64}",
     "search_space[data.init_args.batch_size]: the range 32..200 is not a whole number of steps of 64, and Optuna "
     "would narrow it to 32..160: set high: 160 (or another step)."),
    ("{name: model.dropout, type: float, low: 0.0, high: 0.5, step: 0.2}",
     "search_space[model.dropout]: the range 0.0..0.5 is not a whole number of steps of 0.2, and Optuna would narrow "
     "it to 0.0..0.4: set high: 0.4 (or another step)."),
    ("{name: model.num_layers, type: int, low: 1, high: 2.5}",
     "search_space[model.num_layers]: high: 2.5 is not a whole number, which type int needs."),
    ("{name: optim.name, type: categorical, choices: []}",
     "search_space[optim.name]: The `choices` must contain one or more elements."),
    ("{name: optim.name, type: categorical, choices: [adam, sgd], log: true}",
     "search_space[optim.name]: log: apply to types int and float; type categorical takes 'choices' only."),
    ("{name: trainer.gradient_clip_val, type: float, choices: [0.5, 1.0]}",
     "search_space[trainer.gradient_clip_val]: choices: applies to type categorical; type float takes 'low' and "
     "'high'."),
    ("{name: model.hidden_size, type: int, low: 8}",
     "search_space[model.hidden_size]: type int needs 'low' and 'high'."),
    ("{name: model.hiden_size, type: int, low: 8, high: 16}",
     "search_space[model.hiden_size]: not a tunable config key; did you mean hidden_size?"),
    ("{name: data.init_args.card_fraction, type: float, low: 0.0, high: 0.5}",
     "search_space[data.init_args.card_fraction]: 0.0 is not valid: data.init_args.card_fraction=0.0: give a "
     "fraction of the cards in (0, 1], e.g. 0.25."),
    ("{name: model.hidden_size, type: int, low: 8, high: 16}, {name: model.hidden_size, type: int, low: 4, high: 8}",
     "search_space[model.hidden_size]: the key has an entry above already; keep one."),
]


@pytest.mark.parametrize(("entries", "line"), SPACES)
def test_each_search_space_entry_is_checked_against_optunas_rules_when_the_config_loads(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entries: str, line: str) -> None:
    monkeypatch.chdir(tmp_path)
    space = f"search_space: [{{name: optim.lr, type: float, low: 0.0001, high: 0.01, log: true}}, {entries}]"
    assert refusal(tmp_path, "fraud", space) == f"mine.yaml: {line}"


def test_an_override_the_datamodule_refuses_is_named_when_the_config_loads() -> None:
    """Not blamed on a search-space entry nor on a file: the key and the DataModule's own words."""
    with pytest.raises(ConfigError) as refused:
        load_experiment("fraud", overrides={"data.init_args.card_fraction": 1.5})
    assert str(refused.value) == "data.init_args.card_fraction=1.5: give a fraction of the cards in (0, 1], e.g. 0.25."


def test_a_cell_given_on_the_command_line_is_not_blamed_on_a_file(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.yaml").write_text("sweep: {cells: [lstm, gru]}\n")
    with pytest.raises(ConfigError) as refused:
        load_experiment("synthetic", ["mine.yaml"], {"sweep.cells": ["lstm", "grux"]})
    assert str(refused.value) == ("sweep.cells: unknown or no cells ['grux']; choose from "
                                  "['gru', 'lstm', 'mingru', 'minlstm', 'rnn'].")
