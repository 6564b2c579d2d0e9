"""The experiment: one task's validated settings and the parser that checked them, in one frozen object.

``load_experiment`` reads a task's config (``gatelab.training.config``); every layer below the CLI takes the
``Experiment`` it returns: typed settings (``sweep``, ``trainer``, ...), ``with_overrides`` for a trial's or a
seed's values, ``run`` for the instantiated ``RunConfig`` of one training run, ``dump`` for the YAML a worker
or a later report reads back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonargparse import ArgumentParser, Namespace

from gatelab.settings import ModelConfig, OptimConfig, SearchParam, SweepConfig, TrainerConfig
from gatelab.training.config import RunConfig, build_parser, check_options, instantiate_run, load_config, with_overrides

__all__ = ["FOLD_ARG", "TEST_FOLDS_ARG", "Experiment", "load_experiment"]

#: The DataModule init argument that picks a fold (0 .. folds - 1).
FOLD_ARG = "data.init_args.fold"
#: The DataModule init argument that picks the test folds instead of the validation folds (``test_per_fold`` tasks).
TEST_FOLDS_ARG = "data.init_args.test_folds"


@dataclass(frozen=True, eq=False)
class Experiment:
    """A task's validated settings, with the parser that checked them.

    Build it with ``load_experiment``; a changed copy with ``with_overrides``.

    Args:
        parser: the config parser (``gatelab.training.config.build_parser``).
        config: the settings ``parser`` validated.
    """

    parser: ArgumentParser = field(repr=False)
    config: Namespace

    @property
    def task(self) -> str:
        return str(self.config.task)

    @property
    def seed(self) -> int:
        return int(self.config.seed)

    @property
    def model(self) -> ModelConfig:
        return ModelConfig(**self.config.model.as_dict())

    @property
    def optim(self) -> OptimConfig:
        return OptimConfig(**self.config.optim.as_dict())

    @property
    def trainer(self) -> TrainerConfig:
        return TrainerConfig(**self.config.trainer.as_dict())

    @property
    def sweep(self) -> SweepConfig:
        return SweepConfig(**self.config.sweep.as_dict())

    @property
    def search_space(self) -> list[SearchParam]:
        return [SearchParam(**param.as_dict()) for param in self.config.search_space]

    def with_overrides(self, overrides: Mapping[str, Any]) -> Experiment:
        """A validated copy with dotted keys (``optim.lr``, ``data.init_args.batch_size``) set to new values.

        Raises:
            ConfigError: an unknown key or a bad value.
        """
        return Experiment(self.parser, with_overrides(self.parser, self.config, overrides))

    def run(self, fold: int | None = None, *, test_folds: bool = False) -> RunConfig:
        """The instantiated settings and DataModule of one training run.

        Args:
            fold: the task's fold to train (its ``fold`` init argument); None: the config's own.
            test_folds: pick among the test folds instead of the validation folds (``test_per_fold`` tasks).

        Raises:
            ConfigError: the DataModule refuses its arguments, or takes no ``fold``.
        """
        chosen = {FOLD_ARG: fold} if fold is not None else {}
        chosen |= {TEST_FOLDS_ARG: True} if test_folds else {}
        return instantiate_run(self.parser, self.with_overrides(chosen).config if chosen else self.config)

    def settings(self, leave_out: Sequence[str] = ()) -> dict[str, Any]:
        """The settings as nested plain values, without the dotted keys ``leave_out``."""
        tree = self.config.clone()
        for key in leave_out:
            tree.pop(key, None)
        return tree.as_dict()

    def dump(self) -> str:
        """The whole validated config as YAML, which ``load_experiment`` reads back as the same experiment."""
        return str(self.parser.dump(self.config))


def load_experiment(task: str, layers: Sequence[str | Path] = (),
                    overrides: Mapping[str, Any] | None = None) -> Experiment:
    """Read a task's config, layer the user's files or presets (``layers``) and ``overrides`` (dotted keys) over it,
    validate every key: first against the tasks' options classes (``check_options``: a mistake answers in well under
    2 s, before torch and Lightning are imported), then against the DataModules themselves (the search space's
    values only where the first pass could not check them: the same ``__init__`` would refuse the same values).

    Raises:
        ConfigError: unknown task, missing file, unknown key, bad value or bad search space.
    """
    parser = build_parser()
    checked = check_options(parser, task, layers, overrides)
    return Experiment(parser, load_config(parser, task, layers, overrides, search_space=not checked))
