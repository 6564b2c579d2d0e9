"""The ``gatelab`` command: subcommands are plain functions, their options read from their signatures."""

from __future__ import annotations

import argparse
import inspect
import os
import re
import sys
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Literal

from jsonargparse import ArgumentParser
from jsonargparse.typing import PositiveInt

from gatelab.errors import ConfigError, GatelabError, MissingResultsError
from gatelab.launch.services import dashboard_command, serve_bench_command, serve_command, ui_command
from gatelab.settings import DEFAULT_SEEDS, check_seeds

# torch, Lightning, MLflow and the engine's modules are imported inside the commands that use them, so that
# `gatelab --help` and a mistyped option answer at once (the imports take seconds).

__all__ = ["main"]


def _overrides(trials: int | None = None, epochs: int | None = None, cells: list[str] | None = None,
               seed: int | None = None, cell: str | None = None, devices: int | None = None) -> dict[str, object]:
    given = {"sweep.trials": trials, "trainer.max_epochs": epochs, "sweep.cells": cells, "seed": seed,
             "model.cell": cell, "trainer.devices": devices}
    return {key: value for key, value in given.items() if value is not None}


def _layers(config: str | list[str] | None) -> list[str]:
    """The config layers given: none, one file or preset, or a list of them."""
    return [config] if isinstance(config, str) else list(config or [])


def sweep_command(task: str = "fraud", config: str | list[str] | None = None, trials: PositiveInt | None = None,
                  epochs: PositiveInt | None = None, cells: list[str] | None = None, seed: int | None = None,
                  seeds: int | Literal["auto"] = DEFAULT_SEEDS, store: Path = Path("mlruns"), progress: bool = True,
                  workers: int = 1, repeats: int = 1,
                  launcher: Literal["local", "slurm"] = "local", storage: str | None = None,
                  devices: PositiveInt | None = None, heartbeat: int = 10, slurm: str | None = None) -> None:
    """Run (or resume) a fair LSTM-vs-GRU sweep, then retrain each cell's best on several seeds and print the verdict.

    Args:
        task: the task, a file name in configs/ (fraud, ...).
        config: a YAML file or a preset name from configs/<task>/, or a list of them ([ptb,my.yaml]),
            layered in order over the task's config.
        trials: finished trials per cell.
        epochs: maximum epochs per trial.
        cells: the cells to compare, e.g. [lstm,gru].
        seed: the sweep's seed; a new seed starts a new sweep.
        seeds: seeds each cell's best configuration is retrained with for the verdict (at least 2); 0 skips
            the selection and the verdict (make them later with `gatelab report`); auto retrains in rounds up
            to sweep.max_seeds until the best and the runner-up are resolved to the tie tolerance.
        store: folder of the MLflow store and (by default) the Optuna journal.
        progress: show progress bars.
        workers: worker processes sharing the sweep (local: on this machine; slurm: array tasks).
        repeats: how many times the whole search runs, each with its own TPE sampler seed (same splits and
            budget); the verdict pools each cell's best configuration of every repeat (in this process).
        launcher: ``local`` runs the workers here and waits; ``slurm`` submits them as a job array plus a
            dependent job that writes the verdict, and returns.
        storage: the Optuna storage: a postgresql:// URL, a .journal path, or none for a journal in the
            store; defaults to $GATELAB_STORAGE.
        devices: devices per trial; more than 1 trains each trial with DDP.
        heartbeat: seconds between a running trial's heartbeats (PostgreSQL storage); a trial silent
            for three of them is failed and retried.
        slurm: Slurm settings layered over configs/cluster/slurm.yaml: a YAML file or an inline mapping
            such as '{partition: gpu, time_min: 120}'.
    """
    if workers < 1:
        raise ConfigError(f"--workers {workers}: give 1 or more worker processes.")
    if seeds != 0:
        check_seeds(seeds)
    if repeats > 1 and (workers > 1 or launcher == "slurm"):
        raise ConfigError(f"repeats={repeats}: search repeats run in this process; drop WORKERS (--workers) and "
                          "use --launcher local, or run REPEATS=1.")
    from gatelab.training.experiment import load_experiment

    experiment = load_experiment(task, _layers(config),
                                 _overrides(trials=trials, epochs=epochs, cells=cells, seed=seed, devices=devices))
    from gatelab.launch.local import LocalLaunch  # after the config: a config error answers before these imports
    from gatelab.pipeline import Sweep, SweepGroup

    sweep = Sweep(experiment, store, progress=progress, storage=storage, heartbeat=heartbeat,
                  launch=LocalLaunch(workers, devices or 1) if workers > 1 else None)
    runner = sweep if repeats == 1 else SweepGroup(sweep, repeats)
    if launcher == "slurm":
        from gatelab.launch.slurm import load_slurm_config, submit

        jobs = submit(sweep, workers, devices or 1, load_slurm_config(slurm))
        print(f"gatelab: sweep {runner.id}: {workers} workers submitted as Slurm job array "
              f"{jobs.workers[0].job_id.split('_')[0]}, then job {jobs.verdict.job_id} writes the verdict once they "
              f"end; logs in {jobs.folder}/. Follow them with `squeue --me`; `gatelab worker` with the same options "
              "adds a worker from any machine.", flush=True)
        return
    where = f"{workers} workers" if workers > 1 else "1 worker"
    print(f"gatelab: sweep {runner.id} of task '{task}': cells {', '.join(runner.cells)}, "
          f"{runner.budget} trials each, up to {experiment.trainer.max_epochs} epochs per trial"
          f"{f', searched {repeats} times' if repeats > 1 else ''}; {where}; store {store}/",
          flush=True)
    report = runner.run(seeds)
    if report is None:
        print(f"gatelab: search done; selection and verdict skipped (seeds=0): make them with "
              f"`make report TASK={task} SWEEP={runner.id}`.")
    else:
        _print_report(report.to_markdown(), task, runner.id, runner.parent_run(), store)


def _print_report(markdown: str, task: str, sweep: str, parent: str | None, store: Path) -> None:
    """The report, then where its files are: ``parent`` is the sweep's parent MLflow run."""
    from gatelab.tracking.client import redact, tracking_uri

    print(markdown, flush=True)
    print(f"Results: {redact(tracking_uri(store))} (experiment gatelab-{task}, parent run sweep-{sweep}: {parent}) "
          f"with verdict.md, verdict.json, report.html and plots/; browse them with `make ui`, the Optuna studies "
          f"with `make dashboard SWEEP={sweep}`.")


def report_command(task: str = "fraud", sweep: str | None = None, seeds: int | Literal["auto"] = DEFAULT_SEEDS,
                   store: Path = Path("mlruns")) -> None:
    """Make a sweep's verdict and report again (retraining only seeds not trained before) and print it.

    Args:
        task: the task, a file name in configs/.
        sweep: the sweep's id (as printed by `gatelab sweep`); the latest sweep of the task when omitted.
        seeds: seeds each cell's best configuration is retrained with (at least 2), or auto (see `gatelab sweep`).
        store: folder of the MLflow store and the Optuna journal.
    """
    check_seeds(seeds)
    from gatelab.pipeline import stored_sweep

    runner = stored_sweep(task, store, sweep, progress=False)
    print(f"gatelab: report of sweep {runner.id} of task '{task}' (cells {', '.join(runner.cells)}, {seeds} seeds)",
          flush=True)
    _print_report(runner.report(seeds).to_markdown(), task, runner.id, runner.parent_run(), store)


def worker_command(task: str = "fraud", config: str | list[str] | None = None, trials: PositiveInt | None = None,
                   epochs: PositiveInt | None = None, cells: list[str] | None = None, seed: int | None = None,
                   store: Path = Path("mlruns"), storage: str | None = None, devices: PositiveInt | None = None,
                   heartbeat: int = 10, threads: int | None = None, progress: bool = True) -> None:
    """Join a sweep as one more worker: run its trials until the budget is met (no verdict).

    Give the same options as the sweep's command (or the config it wrote under <store>/sweeps/); any
    machine that reaches the storage (and the MLflow tracking URI) can run one.

    Args:
        task: the task, a file name in configs/.
        config: a YAML file, or a preset name from configs/<task>/, layered over the task's config.
        trials: finished trials per cell.
        epochs: maximum epochs per trial.
        cells: the cells to compare, e.g. [lstm,gru].
        seed: the sweep's seed.
        store: folder of the MLflow store and (by default) the Optuna journal.
        storage: the Optuna storage URL (see `gatelab sweep`); defaults to $GATELAB_STORAGE.
        devices: devices per trial; more than 1 trains each trial with DDP.
        heartbeat: seconds between a running trial's heartbeats (PostgreSQL storage).
        threads: torch threads for this worker (default: torch's own choice).
        progress: show progress bars.
    """
    from gatelab.launch.local import die_with_launcher

    die_with_launcher()
    import torch

    from gatelab.training.experiment import load_experiment

    if threads:
        torch.set_num_threads(threads)
    experiment = load_experiment(task, _layers(config),
                                 _overrides(trials=trials, epochs=epochs, cells=cells, seed=seed, devices=devices))
    from gatelab.pipeline import Sweep  # after the config: a config error answers before these imports
    from gatelab.search.storage import owner_token

    opened = Sweep(experiment, store, progress=progress, storage=storage, heartbeat=heartbeat).open()
    print(f"gatelab: worker {owner_token()} joins sweep {opened.sweep.id} (studies in {opened.study_store.display}).",
          flush=True)
    opened.work()


def train_command(task: str = "fraud", config: str | list[str] | None = None, cell: str | None = None,
                  epochs: PositiveInt | None = None, seed: int | None = None, store: Path = Path("mlruns")) -> None:
    """Train one model with the task's config (no search) and print its metrics; a task with folds trains and tests
    its lead fold 0 (the latest test fold where each fold has a test split). A config with ``reproduce.seeds``
    trains every test fold with that many seeds and prints them beside the published row (``gatelab.reproduction``).

    Args:
        task: the task, a file name in configs/.
        config: a YAML file or a preset name from configs/<task>/, or a list of them, layered in order.
        cell: the recurrent cell (lstm, gru, rnn, mingru, minlstm).
        epochs: training epochs.
        seed: the run's seed.
        store: folder of the MLflow store.
    """
    from gatelab.training.experiment import load_experiment

    experiment = load_experiment(task, _layers(config), _overrides(epochs=epochs, seed=seed, cell=cell))
    from gatelab.reproduction import reproduce, reproduction_table  # after the config, as the imports below
    from gatelab.tracking import tags as tag
    from gatelab.tracking.client import Tracker, git_sha, run_params
    from gatelab.tracking.lifecycle import tracked_run
    from gatelab.tracking.loggers import run_loggers
    from gatelab.tracking.tags import run_tags
    from gatelab.training.folds import fold_runs
    from gatelab.training.task import describe_data_report
    from gatelab.training.train import train

    tracker = Tracker(store, task)
    if experiment.config.reproduce.seeds:  # the config reproduces a published result: every test fold, several seeds
        print(reproduction_table(reproduce(experiment, tracker)))
        return
    run_cfg = fold_runs(experiment, test=True)[0]
    run_cfg.data.prepare_data()
    run_cfg.data.setup("fit")  # bad data stops here, before a run is recorded
    report = run_cfg.data.data_report()
    print(describe_data_report(report), end="", file=sys.stderr, flush=True)
    tags = run_tags(task, run_cfg.model.cell, run_cfg.seed, git_sha()) | {tag.ROLE: tag.ROLE_TRAIN}
    with tracked_run(tracker, f"train-{run_cfg.model.cell}", tags, run_params(experiment) | report) as run_id:
        metrics = train(run_cfg, run_loggers(tracker, run_id), progress_name=run_cfg.model.cell, test=True)
        tracker.set_tags(run_id, {tag.DATA_FINGERPRINT: run_cfg.data.fingerprint()})
        tracker.log_metrics(run_id, metrics)
    width = max(map(len, metrics))
    for key, value in metrics.items():
        print(f"{key:<{width}}  {value:.4f}")


#: gatelab's own commands, by name.
COMMANDS: dict[str, Callable[..., None]]
COMMANDS = {"sweep": sweep_command, "worker": worker_command, "train": train_command, "ui": ui_command,
            "report": report_command, "dashboard": dashboard_command, "serve": serve_command,
            "serve-bench": serve_bench_command}
#: The entry point group where applications built on gatelab add commands (``gatelab claims``): name -> function.
COMMAND_GROUP = "gatelab.commands"


def _applications() -> dict[str, EntryPoint]:
    """The commands the installed applications declare in ``COMMAND_GROUP``, not yet imported (an application's
    command may not replace one of gatelab's)."""
    return {point.name: point for point in sorted(entry_points(group=COMMAND_GROUP), key=lambda point: point.name)
            if point.name not in COMMANDS}


def commands() -> dict[str, Callable[..., None]]:
    """gatelab's own commands and the installed applications' ones (the engine never imports an application)."""
    return COMMANDS | {name: point.load() for name, point in _applications().items()}


def _make_spelling(error: GatelabError) -> str:
    """The Makefile's spelling of the fix, where the error names one (the engine speaks in ``gatelab`` options)."""
    if not isinstance(error, MissingResultsError):
        return ""
    report = f" then `make report TASK={error.task} SWEEP={error.sweep}`" if error.sweep else ""
    return (f" With make: `make sweep TASK={error.task}` (with the sweep's other settings; CELLS=\"lstm gru\", "
            f"TRIALS=n),{report}.")


def build_cli(command: str | None = None) -> ArgumentParser:
    """One subcommand per command, its options taken from the signature and docstring.

    Args:
        command: the subcommand asked for: an application's command is imported only when it is this one (an
            application may import the whole engine, which takes seconds), the others are listed by name.
    """
    parser = ArgumentParser(prog="gatelab", description="Fair, tuned LSTM-vs-GRU experiments.", exit_on_error=False)
    subcommands = parser.add_subcommands(dest="command")
    for name, function in COMMANDS.items():
        subcommands.add_subcommand(name, _function_parser(function), help=_summary(function))
    for name, point in _applications().items():
        if name == command:
            function = point.load()
            subcommands.add_subcommand(name, _function_parser(function), help=_summary(function))
        else:
            subcommands.add_subcommand(name, ArgumentParser(), help=f"{point.value} (`gatelab {name} --help`)")
    return parser


def _function_parser(function: Callable[..., None]) -> ArgumentParser:
    parser = ArgumentParser(exit_on_error=False)
    parser.add_function_arguments(function)
    return parser


def _summary(function: Callable[..., None]) -> str:
    return (function.__doc__ or "").splitlines()[0]


def _option_error(error: argparse.ArgumentError, command: str | None) -> str:
    """A bad command line as one line: ``--epochs: 0 must be > 0 (PositiveInt) (options: `gatelab sweep --help`)``;
    an unknown command or option with the nearest one."""
    from gatelab.training.config_errors import read_error, suggestion

    names = [*COMMANDS, *_applications()]
    if command is None:
        return f"give a command first, one of {', '.join(names)} (`gatelab --help`)"
    if command not in names:
        return f"unknown command '{command}'{suggestion(command, names)} (commands: `gatelab --help`)"
    problem = read_error(error)
    where = f" (options: `gatelab {command} --help`)"
    if problem.path:
        return problem.line(f"--{problem.key}") + where
    function = COMMANDS.get(command)
    unknown = re.findall(r"--([\w.-]+)", problem.message) if problem.message.startswith("unrecognized") else []
    if function is None or not unknown:
        return problem.message + where
    nearest = suggestion(unknown[0], list(inspect.signature(function).parameters))
    return problem.message + nearest.replace("did you mean ", "did you mean --") + where


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``gatelab`` console script."""
    argv = sys.argv[1:] if argv is None else argv
    command = argv[0] if argv and not argv[0].startswith("-") else None
    try:
        cfg = build_cli(command).parse_args(argv)
    except argparse.ArgumentError as error:
        print(f"gatelab: error: {_option_error(error, command)}", file=sys.stderr)
        raise SystemExit(2) from None
    # MLflow draws a download bar for every artifact read back from the store (verdicts, gate summaries,
    # models): noise between gatelab's own lines and progress bars.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    function = COMMANDS.get(cfg.command) or _applications()[cfg.command].load()
    try:
        function(**cfg[cfg.command].as_dict())
    except GatelabError as error:
        print(f"gatelab: error: {error}{_make_spelling(error)}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        print("gatelab: interrupted; run the same command again to resume.", file=sys.stderr)
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
