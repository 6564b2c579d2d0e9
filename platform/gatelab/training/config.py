"""The config parser that builds a run: YAML files validated into the settings and a task's DataModule.

A task's file (``configs/<task>.yaml``) names its DataModule by class path and gives the model,
optimiser, trainer and sweep settings plus the search space. A user's files are layered over
it, later keys winning. Every unknown key or bad value is a ``ConfigError`` naming the key.

These are the parser's steps; the rest of gatelab reads a config through the ``Experiment`` that owns the
parser and its validated settings (``gatelab.training.experiment.load_experiment``). ``check_options`` runs the same
steps first on the tasks' options classes (``gatelab.training.options``), so that a mistake is reported before the
DataModule's module, torch and Lightning are imported; nothing in this module imports them at import time.
"""

from __future__ import annotations

import argparse
import importlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from jsonargparse import ArgumentParser, Namespace

from gatelab.errors import ConfigError
from gatelab.settings import (
    CELL_NAMES,
    ModelConfig,
    OptimConfig,
    ReproductionConfig,
    SearchParam,
    SweepConfig,
    TrainerConfig,
    check_cell,
)
from gatelab.training.config_errors import Source, config_error, config_sources, entry_name, source_of, suggestion
from gatelab.training.distributions import distribution, extremes
from gatelab.training.options import TaskOptions

if TYPE_CHECKING:
    from gatelab.training.task import SequenceDataModule

__all__ = [
    "NOT_TASKS",
    "RunConfig",
    "build_parser",
    "check_options",
    "configs_dir",
    "instantiate_run",
    "list_tasks",
    "load_config",
    "resolve_config",
    "with_overrides",
]


@dataclass
class RunConfig:
    """Everything one training run needs, instantiated."""

    task: str
    data: SequenceDataModule
    model: ModelConfig
    optim: OptimConfig
    trainer: TrainerConfig
    seed: int = 0


def configs_dir() -> Path:
    """The folder of task configs: ``GATELAB_CONFIGS``, else ``configs/`` beside the engine's source."""
    return Path(os.environ.get("GATELAB_CONFIGS", Path(__file__).resolve().parents[3] / "configs"))


#: Config files of ``configs/`` that are not tasks: ``make claims``' experiments and budgets.
NOT_TASKS = ("claims",)


def list_tasks() -> list[str]:
    """The tasks that have a config file."""
    return sorted(path.stem for path in configs_dir().glob("*.yaml") if path.stem not in NOT_TASKS)


def build_parser() -> ArgumentParser:
    """The parser every config file is checked against."""
    parser = ArgumentParser(exit_on_error=False, default_env=False)
    parser.add_argument("--config", action="config")
    parser.add_argument("--task", type=str, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_subclass_arguments(TaskOptions, "data", required=True)  # a DataModule, or a task's options class
    parser.add_class_arguments(ModelConfig, "model")
    parser.add_class_arguments(OptimConfig, "optim")
    parser.add_class_arguments(TrainerConfig, "trainer")
    parser.add_class_arguments(SweepConfig, "sweep")
    parser.add_class_arguments(ReproductionConfig, "reproduce")
    parser.add_argument("--search_space", type=list[SearchParam], default=[])
    return parser


def _config_error(error: Exception, parser: ArgumentParser, sources: Sequence[Source] = (),
                  cfg: Namespace | None = None) -> ConfigError:
    """jsonargparse's ``error`` as one line naming the key (and the layer of ``sources`` that set it)."""
    return config_error(error, parser, sources, cfg)


def load_config(parser: ArgumentParser, task: str, extra: Sequence[str | Path] = (),
                overrides: Mapping[str, Any] | None = None, *, search_space: bool = True) -> Namespace:
    """Read a task's config with ``parser`` (``build_parser``), layer the user's files or presets and ``overrides``
    (dotted keys) over it, validate.

    Args:
        search_space: check every search-space entry's values (most of the time a load takes); False where
            ``check_options`` has checked them on the same options already.

    Raises:
        ConfigError: unknown task, missing file, unknown key, bad value or bad search space.
    """
    files = _layer_files(task, extra)
    return _validated(parser, task, files, [str(path) for path in files], overrides, search_space)


def check_options(parser: ArgumentParser, task: str, extra: Sequence[str | Path] = (),
                  overrides: Mapping[str, Any] | None = None) -> bool:
    """``load_config``'s checks with each layer's ``data.class_path`` read as its task's options class
    (``OPTIONS`` of the DataModule's package): the same errors, raised before the DataModule's module, torch and
    Lightning are imported. Nothing is checked where a layer names a DataModule that has no options class.

    Returns:
        Whether the config was checked.

    Raises:
        ConfigError: as ``load_config``.
    """
    files = _layer_files(task, extra)
    layers = [_options_layer(path) for path in files]
    if any(layer is None for layer in layers):
        return False
    _validated(parser, task, files, [layer for layer in layers if layer is not None], overrides)
    return True


def _layer_files(task: str, extra: Sequence[str | Path]) -> list[Path]:
    base = configs_dir() / f"{task}.yaml"
    if task in NOT_TASKS or not base.is_file():
        raise ConfigError(f"unknown task '{task}'; valid tasks: {', '.join(list_tasks()) or 'none'}.")
    return [base, *(resolve_config(task, name) for name in extra)]


def _options_layer(path: Path) -> str | None:
    """The layer ``path`` for ``check_options``: the file's path where it names no ``data.class_path`` (or is no
    readable mapping: ``load_config`` reports that), else its YAML with the options class in its place; None where
    that class path has no options class."""
    try:
        values = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return str(path)
    data = values.get("data") if isinstance(values, dict) else None
    if not isinstance(data, dict) or "class_path" not in data:
        return str(path)
    options = _options_class(data["class_path"])
    if options is None:
        return None
    data["class_path"] = f"{options.__module__}.{options.__qualname__}"
    return yaml.safe_dump(values, sort_keys=False)


def _options_class(class_path: Any) -> type[TaskOptions] | None:
    """The options class ``OPTIONS`` of the class path's module names for it (``tasks.fraud.FraudDataModule`` ->
    ``tasks.fraud.options.FraudOptions``), or None."""
    module, _, name = str(class_path).rpartition(".")
    try:
        options = getattr(importlib.import_module(module), "OPTIONS", {}).get(name) if module else None
    except ImportError:
        return None
    return options if isinstance(options, type) and issubclass(options, TaskOptions) else None


def _validated(parser: ArgumentParser, task: str, files: Sequence[Path], layers: Sequence[str],
               overrides: Mapping[str, Any] | None, search_space: bool = True) -> Namespace:
    """The config of the ``layers`` (file paths, or YAML texts standing for ``files``), validated."""
    sources = config_sources(files)
    try:
        cfg = parser.parse_args([f"--config={layer}" for layer in layers])
    except (argparse.ArgumentError, ValueError, TypeError) as error:
        raise _config_error(error, parser, sources) from None
    overrides = dict(overrides or {})
    try:
        parser.instantiate(cfg)  # the DataModule's own checks, before any data or store is touched
    except (argparse.ArgumentError, ValueError, TypeError) as error:
        raise _config_error(error, parser, sources, cfg) from None
    except ConfigError as error:  # a settings dataclass's own check (ModelConfig's cell)
        raise _from_layer(error, sources, ()) from None
    if cfg.task != task:
        raise ConfigError(f"{files[0]}: 'task' is '{cfg.task}' but the file is for task '{task}'.")
    cfg = with_overrides(parser, cfg, overrides)
    try:
        _check_cells(cfg.sweep.cells, cfg.model.bidirectional)
    except ConfigError as error:
        raise _from_layer(error, sources, overrides) from None
    if search_space:
        _check_search_space(parser, cfg, sources)
    return cfg


def _from_layer(error: ConfigError, sources: Sequence[Source], overridden: Iterable[str]) -> ConfigError:
    """A check's line (``model.cell: ...``) with the layer that set its key in front (``source_of``, as every other
    config error names it); as it is where the key was overridden (a command-line option)."""
    key = str(error).split(":", 1)[0]
    label = None if key in overridden else source_of(key, sources)[0]
    return ConfigError(f"{label}: {error}") if label else error


def resolve_config(task: str, name: str | Path) -> Path:
    """A user's config: a YAML file path, or the name of a preset in ``configs/<task>/``."""
    if Path(name).is_file():
        return Path(name)
    preset = configs_dir() / task / f"{name}.yaml"
    if preset.is_file():
        return preset
    presets = sorted(path.stem for path in (configs_dir() / task).glob("*.yaml"))
    raise ConfigError(f"config '{name}' is neither a YAML file nor a preset of task '{task}' "
                      f"(presets: {', '.join(presets) or 'none'}); give an existing file's path.")


def with_overrides(parser: ArgumentParser, cfg: Namespace, overrides: Mapping[str, Any]) -> Namespace:
    """A validated copy of ``cfg`` with dotted keys set to new values."""
    cfg = cfg.clone()
    for key, value in overrides.items():
        if key not in cfg:
            raise ConfigError(f"unknown config key '{key}'.")
        cfg[key] = value
    try:
        parser.validate(cfg)
    except (argparse.ArgumentError, ValueError, TypeError) as error:
        raise _config_error(error, parser) from None
    return cfg


def _check_cells(cells: Sequence[str], bidirectional: bool) -> None:
    unknown = [cell for cell in cells if cell not in CELL_NAMES]
    if unknown or not cells:
        raise ConfigError(f"sweep.cells: unknown or no cells {unknown}; choose from {sorted(CELL_NAMES)}.")
    if len(set(cells)) != len(cells):
        raise ConfigError(f"sweep.cells: {list(cells)} names a cell twice.")
    for cell in cells:
        check_cell(cell, bidirectional)


def _check_search_space(parser: ArgumentParser, cfg: Namespace, sources: Sequence[Source] = ()) -> None:
    """Each entry must be a distribution Optuna accepts over a tunable config key named once, and its every
    value must be valid there (a DataModule's own checks included); one line naming the entry otherwise. The
    config as it stands (overrides included) must build first, so that no entry is blamed for an override."""
    try:
        parser.instantiate(cfg)
    except (argparse.ArgumentError, ValueError, TypeError) as error:
        raise _config_error(error, parser, (), cfg) from None
    label = source_of("search_space", sources)[0]
    seen: set[str] = set()
    for index, param in enumerate(cfg.search_space):
        where = f"{label + ': ' if label else ''}{entry_name(index, param)}"
        if param.name == "model.cell" or param.name not in cfg:
            hint = suggestion(param.name, [key for key in cfg.keys() if key not in ("task", "model.cell")])
            raise ConfigError(f"{where}: not a tunable config key{hint or ' (e.g. model.hidden_size, optim.lr).'}")
        if param.name in seen:
            raise ConfigError(f"{where}: the key has an entry above already; keep one.")
        seen.add(param.name)
        try:
            values = extremes(distribution(param))
        except ValueError as error:
            raise ConfigError(f"{where}: {error}") from None
        for value in values:
            try:
                tried = with_overrides(parser, cfg, {param.name: value})
                if param.name.startswith("data."):
                    parser.instantiate(tried)
            except ConfigError as error:
                raise ConfigError(f"{where}: {value!r} is not valid: {error}") from None
            except (argparse.ArgumentError, ValueError, TypeError) as error:
                line = _config_error(error, parser, (), tried)
                raise ConfigError(f"{where}: {value!r} is not valid: {line}") from None


def instantiate_run(parser: ArgumentParser, cfg: Namespace) -> RunConfig:
    """Build the DataModule and the typed settings of one run from a validated config.

    Raises:
        ConfigError: the DataModule refuses its arguments, or ``data.class_path`` names no ``SequenceDataModule``.
    """
    from gatelab.training.task import SequenceDataModule  # torch and Lightning: not needed to check a config

    try:
        objects = parser.instantiate(cfg)
    except (argparse.ArgumentError, ValueError, TypeError) as error:
        raise _config_error(error, parser) from None
    if not isinstance(objects.data, SequenceDataModule):
        raise ConfigError(f"data.class_path: {cfg.data.class_path} is a task's options class, not its DataModule; "
                          "name the DataModule (e.g. tasks.fraud.FraudDataModule).")
    return RunConfig(
        task=objects.task,
        data=objects.data,
        model=objects.model,
        optim=objects.optim,
        trainer=objects.trainer,
        seed=objects.seed,
    )
