"""The ``gatelab`` command: subcommands are plain functions, their options read from their signatures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from jsonargparse import ArgumentParser

from gatelab.config import build_parser, instantiate_run, load_config
from gatelab.errors import GatelabError
from gatelab.sweep import Sweep
from gatelab.tracking import Tracker, flatten, git_sha, run_loggers, tracking_uri
from gatelab.train import train

__all__ = ["main"]


def _overrides(trials: int | None = None, epochs: int | None = None, cells: list[str] | None = None,
               seed: int | None = None, cell: str | None = None) -> dict[str, object]:
    given = {"sweep.trials": trials, "trainer.max_epochs": epochs, "sweep.cells": cells, "seed": seed,
             "model.cell": cell}
    return {key: value for key, value in given.items() if value is not None}


def sweep_command(task: str = "fraud", config: str | None = None, trials: int | None = None,
                  epochs: int | None = None, cells: list[str] | None = None, seed: int | None = None,
                  store: Path = Path("mlruns"), progress: bool = True) -> None:
    """Run (or resume) a fair LSTM-vs-GRU sweep and print its verdict.

    Args:
        task: the task, a file name in configs/ (fraud, ...).
        config: a YAML file, or a preset name from configs/<task>/, layered over the task's config.
        trials: finished trials per cell.
        epochs: maximum epochs per trial.
        cells: the cells to compare, e.g. [lstm,gru].
        seed: the sweep's seed; a new seed starts a new sweep.
        store: folder of the MLflow store and the Optuna journal.
        progress: show progress bars.
    """
    cfg = load_config(task, [config] if config else [], _overrides(trials=trials, epochs=epochs, cells=cells, seed=seed))
    runner = Sweep(build_parser(), cfg, store, progress=progress)
    print(f"gatelab: sweep {runner.id} of task '{task}': cells {', '.join(runner.cells)}, "
          f"{runner.budget} trials each, up to {cfg.trainer.max_epochs} epochs per trial; store {store}/",
          flush=True)
    verdict = runner.run()
    print(verdict.to_markdown(), flush=True)
    print(f"Results: {tracking_uri(store)} (experiment gatelab-{task}, parent run {runner.parent}); "
          f"browse them with `make ui`.")


def train_command(task: str = "fraud", config: str | None = None, cell: str | None = None,
                  epochs: int | None = None, seed: int | None = None, store: Path = Path("mlruns")) -> None:
    """Train one model with the task's config (no search) and print its metrics.

    Args:
        task: the task, a file name in configs/.
        config: a YAML file, or a preset name from configs/<task>/, layered over the task's config.
        cell: the recurrent cell (lstm, gru, rnn, mingru, minlstm).
        epochs: training epochs.
        seed: the run's seed.
        store: folder of the MLflow store.
    """
    parser = build_parser()
    cfg = load_config(task, [config] if config else [], _overrides(epochs=epochs, seed=seed, cell=cell))
    run_cfg = instantiate_run(parser, cfg)
    tracker = Tracker(store, task)
    tags = {"gatelab.task": task, "gatelab.cell": run_cfg.model.cell, "gatelab.sweep": "-", "gatelab.trial": "-",
            "gatelab.seed": str(run_cfg.seed), "gatelab.git_sha": git_sha(), "gatelab.role": "train"}
    params = cfg.clone()
    for key in ("search_space", "sweep"):
        del params[key]
    run_id = tracker.start_run(f"train-{run_cfg.model.cell}", tags, flatten(params.as_dict()))
    try:
        metrics = train(run_cfg, run_loggers(tracker, run_id), progress_name=run_cfg.model.cell)
    except BaseException:
        tracker.end_run(run_id, "FAILED")
        raise
    tracker.set_tags(run_id, {"gatelab.data_fingerprint": run_cfg.data.fingerprint()})
    tracker.log_metrics(run_id, metrics)
    tracker.end_run(run_id, "FINISHED")
    width = max(map(len, metrics))
    for key, value in metrics.items():
        print(f"{key:<{width}}  {value:.4f}")


def ui_command(host: str = "127.0.0.1", port: int = 5000, store: Path = Path("mlruns")) -> None:
    """Serve the MLflow UI over the local store (bound to 127.0.0.1 unless told otherwise).

    Args:
        host: address to bind.
        port: port to listen on.
        store: folder of the MLflow store.
    """
    store.mkdir(parents=True, exist_ok=True)
    uri = tracking_uri(store)
    print(f"gatelab: MLflow UI on http://{host}:{port}/#/experiments (store {uri}); Ctrl-C stops it.", flush=True)
    command = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", uri,
               "--default-artifact-root", (store.resolve() / "artifacts").as_uri(), "--host", host, "--port", str(port)]
    raise SystemExit(subprocess.call(command, env=os.environ.copy()))


COMMANDS = {"sweep": sweep_command, "train": train_command, "ui": ui_command}


def build_cli() -> ArgumentParser:
    """One subcommand per function of ``COMMANDS``, its options taken from the signature and docstring."""
    parser = ArgumentParser(prog="gatelab", description="Fair, tuned LSTM-vs-GRU experiments.")
    subcommands = parser.add_subcommands(dest="command")
    for name, function in COMMANDS.items():
        subparser = ArgumentParser()
        subparser.add_function_arguments(function)
        subcommands.add_subcommand(name, subparser, help=(function.__doc__ or "").splitlines()[0])
    return parser


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``gatelab`` console script."""
    cfg = build_cli().parse_args(argv)
    try:
        COMMANDS[cfg.command](**cfg[cfg.command].as_dict())
    except GatelabError as error:
        print(f"gatelab: error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        print("gatelab: interrupted; run the same command again to resume.", file=sys.stderr)
        raise SystemExit(130) from None

if __name__ == "__main__":
    main()
