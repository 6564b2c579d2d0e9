"""Configs: every shipped YAML loads against the code; bad keys and values are named."""

from __future__ import annotations

from dataclasses import is_dataclass
from pathlib import Path

import pytest
from gatelab.errors import ConfigError
from gatelab.training.config import configs_dir, list_tasks
from gatelab.training.experiment import load_experiment


@pytest.mark.parametrize("task", list_tasks())
def test_every_shipped_config_loads_and_instantiates(task: str) -> None:
    cfg = load_experiment(task)
    run = cfg.run()
    assert run.task == task
    assert cfg.search_space, "a task config needs a search space"
    assert set(cfg.sweep.cells) >= {"lstm", "gru"}


@pytest.mark.parametrize(("task", "preset"), [(task, preset) for task in list_tasks()
                                               for preset in [None, *sorted(path.stem for path in
                                                                            (configs_dir() / task).glob("*.yaml"))]])
def test_a_saved_config_reads_back_as_the_same_run(tmp_path: Path, task: str, preset: str | None) -> None:
    """Workers, Slurm jobs, `make serve` and `make report` read the config a sweep saved (``Experiment.dump``); None is
    the task's own config."""
    cfg = load_experiment(task, [preset] if preset else [])
    saved = tmp_path / "saved.yaml"
    saved.write_text(cfg.dump())
    again = load_experiment(task, [saved])
    assert again.dump() == saved.read_text()
    first, second = cfg.run(), again.run()
    assert type(second.data) is type(first.data) and vars(second.data).keys() == vars(first.data).keys()
    for name, value in vars(first.data).items():
        if is_dataclass(value):  # the splits, preprocessing settings and the like
            assert getattr(second.data, name) == value, name


def test_the_fraud_task_exists() -> None:
    assert "fraud" in list_tasks() and (configs_dir() / "fraud.yaml").is_file()


def test_user_file_layers_over_task_defaults(tmp_path: Path) -> None:
    user = tmp_path / "mine.yaml"
    user.write_text("model: {hidden_size: 12}\ndata: {init_args: {history: 3}}\n")
    cfg = load_experiment("fraud", [user])
    assert cfg.model.hidden_size == 12 and cfg.config.data.init_args.history == 3
    assert cfg.optim.lr == load_experiment("fraud").optim.lr


@pytest.mark.parametrize(
    ("yaml", "names"),
    [
        ("model: {hidden_size: 0}", "model.hidden_size"),
        ("optim: {lr: -0.1}", "optim.lr"),
        ("model: {hiden_size: 3}", "hiden_size"),
        ("data: {init_args: {batchsize: 3}}", "batchsize"),
        ("sweep: {trials: 0}", "sweep.trials"),
        ("sweep: {cells: [lstm, transformer]}", "sweep.cells"),
        ("search_space: [{name: model.hidden_size, type: int, low: 0, high: 8}]", "model.hidden_size"),
        ("search_space: [{name: model.width, type: int, low: 1, high: 8}]", "model.width"),
        ("search_space: [{name: optim.lr, type: float, low: 0.1, high: 0.01}]", "optim.lr"),
    ],
)
def test_bad_values_are_rejected_naming_the_key(tmp_path: Path, yaml: str, names: str) -> None:
    user = tmp_path / "bad.yaml"
    user.write_text(yaml + "\n")
    with pytest.raises(ConfigError, match=names.replace(".", r"\.")):
        load_experiment("fraud", [user])


def test_unknown_cell_is_rejected_before_training() -> None:
    with pytest.raises(ConfigError, match="model.cell"):
        cfg = load_experiment("fraud", overrides={"model.cell": "transformer"})
        cfg.run()


def test_unknown_task_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match="unknown task 'frod'.*fraud"):
        load_experiment("frod")


def test_missing_user_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nothere.yaml"):
        load_experiment("fraud", [tmp_path / "nothere.yaml"])


def test_overrides_are_validated() -> None:
    cfg = load_experiment("fraud")
    assert cfg.with_overrides({"trainer.max_epochs": 2}).trainer.max_epochs == 2
    with pytest.raises(ConfigError, match="trainer.max_epochs"):
        cfg.with_overrides({"trainer.max_epochs": 0})


def test_a_datamodule_without_an_options_class_is_checked_by_the_datamodule_itself(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A class path that no ``OPTIONS`` names (here the DataModule's own module) skips the quick first pass; the
    second pass still names the mistake."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.yaml").write_text("data: {class_path: tasks.fraud.datamodule.FraudDataModule, "
                                        "init_args: {top_kk: 5}}\n")
    with pytest.raises(ConfigError, match=r"^mine\.yaml: data\.init_args\.top_kk: unknown option; did you mean "
                                          r"top_k\?$"):
        load_experiment("fraud", ["mine.yaml"])
    (tmp_path / "mine.yaml").write_text("data: {class_path: tasks.fraud.datamodule.FraudDataModule}\n"
                                        "search_space: [{name: data.init_args.history, type: int, low: 0, high: 4}]\n")
    with pytest.raises(ConfigError, match=r"^mine\.yaml: search_space\[data\.init_args\.history\]: 0 is not valid"):
        load_experiment("fraud", ["mine.yaml"])


def test_an_options_class_is_no_datamodule_to_train(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text("data: {class_path: tasks.fraud.options.FraudOptions}\n")
    experiment = load_experiment("fraud", [tmp_path / "mine.yaml"])
    with pytest.raises(ConfigError, match=r"^data\.class_path: tasks\.fraud\.options\.FraudOptions is a task's options "
                                          r"class, not its DataModule"):
        experiment.run()
