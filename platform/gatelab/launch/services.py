"""The commands that start a server rather than run an experiment: the MLflow UI, optuna-dashboard, the champion's
scoring server, and a client that measures that server.

Each imports MLflow and the engine inside itself, as the CLI's other commands do, so that ``gatelab --help``
and a mistyped option answer at once; ``ui``, ``dashboard`` and ``serve`` replace this process with the server
(``os.exec*``), so that signals reach it directly.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from gatelab.errors import ConfigError

__all__ = ["dashboard_command", "serve_bench_command", "serve_command", "ui_command"]


def ui_command(task: str = "fraud", host: str = "127.0.0.1", port: int = 5000, store: Path = Path("mlruns"),
               backend: str | None = None) -> None:
    """Serve MLflow (UI and tracking API) over the local store or a database (bound to 127.0.0.1 unless told otherwise).

    Workers anywhere can log to it with MLFLOW_TRACKING_URI=http://<host>:<port>; it keeps their
    artifacts under <store>/artifacts.

    Args:
        task: the task whose runs page is printed.
        host: address to bind (0.0.0.0 for every interface).
        port: port to listen on.
        store: folder of the MLflow store and its artifacts.
        backend: the runs' database, e.g. postgresql://user@host/mlflow; default:
            $MLFLOW_BACKEND_STORE_URI, else the store's (or $MLFLOW_TRACKING_URI when that is a database).
    """
    from mlflow import MlflowClient

    from gatelab.tracking.client import redact, tracking_uri

    store.mkdir(parents=True, exist_ok=True)
    uri = backend or os.environ.get("MLFLOW_BACKEND_STORE_URI") or tracking_uri(store)
    if uri.startswith(("http://", "https://")):
        raise ConfigError(f"the MLflow backend {redact(uri)} is a server, not a database: give --backend "
                          "postgresql://... or unset MLFLOW_TRACKING_URI to serve the local store.")
    experiment = MlflowClient(uri).get_experiment_by_name(f"gatelab-{task}")
    runs = (f"http://{host}:{port}/#/experiments/{experiment.experiment_id}/runs (expand a sweep-<id> run for its "
            "trials; search tags.`gatelab.cell` = 'gru' for one cell; tick runs and Compare)" if experiment else
            f"none yet (after `gatelab sweep --task {task}`, under http://{host}:{port}/#/experiments)")
    print(f"gatelab: MLflow on http://{host}:{port} (runs in {redact(uri)}); Ctrl-C stops it.\n"
          f"  runs of task '{task}': {runs}", flush=True)
    command = [sys.executable, "-m", "mlflow", "server", "--artifacts-destination", str(store.resolve() / "artifacts"),
               "--host", host, "--port", str(port)]
    # The database URL goes in the environment, so that a password in it stays off the process list; the
    # server replaces this process, so that signals reach it directly.
    os.execve(sys.executable, command, os.environ | {"MLFLOW_BACKEND_STORE_URI": uri})


def dashboard_command(task: str = "fraud", sweep: str | None = None, host: str = "127.0.0.1", port: int = 8080,
                      store: Path = Path("mlruns")) -> None:
    """Serve optuna-dashboard over the store's Optuna studies and print the links to a sweep's studies.

    Args:
        task: the task, a file name in configs/.
        sweep: the sweep's id; the latest sweep of the task when omitted.
        host: address to bind.
        port: port to listen on.
        store: folder of the MLflow store and the Optuna journal.
    """
    from gatelab.pipeline import stored_sweep
    from gatelab.search.storage import journal_path, open_store
    from gatelab.search.studies import study_name

    runner = stored_sweep(task, store, sweep)
    storage = open_store(None, store).storage
    links = [f"  {cell}{f' (repeat {member.repeat})' if runner.repeats > 1 else ''}: http://{host}:{port}/dashboard/"
             f"studies/{storage.get_study_id_from_name(study_name(task, member.id, cell))}"
             for member in runner.members for cell in runner.cells]
    print(f"gatelab: optuna-dashboard on http://{host}:{port}/dashboard (store {journal_path(store)}); "
          f"sweep {runner.id}'s studies:\n" + "\n".join(links) + "\nCtrl-C stops it.", flush=True)
    program = str(Path(sys.executable).parent / "optuna-dashboard")
    os.execv(program, [program, str(journal_path(store)), "--storage-class", "JournalFileStorage", "--host", host,
                       "--port", str(port)])


def serve_command(task: str = "fraud", host: str = "127.0.0.1", port: int = 5001, store: Path = Path("mlruns")) -> None:
    """Serve the task's champion over HTTP with MLflow's scoring server (bound to 127.0.0.1 unless told otherwise).

    POST /invocations takes {"inputs": [...]}, a batch of sequences (n, history, features), and answers
    {"predictions": [...]}, one probability per sequence; GET /ping answers once the model is loaded.

    Args:
        task: the task whose champion (gatelab-<task>@champion) is served.
        host: address to bind.
        port: port to listen on.
        store: folder of the MLflow store (or $MLFLOW_TRACKING_URI).
    """
    from gatelab.tracking.client import tracking_uri
    from gatelab.tracking.serving import champion

    uri = tracking_uri(store)
    version = champion(task, uri)
    model = f"models:/{version.name}/{version.version}"
    print(f"gatelab: serving {model} (the champion: {version.tags.get('gatelab.cell', '?')} of sweep "
          f"{version.tags.get('gatelab.sweep', '?')}) on http://{host}:{port}/invocations; POST "
          '{"inputs": [[[...]]]} (sequences x steps x features); Ctrl-C stops it.', flush=True)
    command = [sys.executable, "-m", "mlflow", "models", "serve", "--model-uri", model, "--host", host, "--port",
               str(port), "--env-manager", "local"]
    # MLflow starts uvicorn by name: this environment's scripts go first on the PATH. The server replaces
    # this process, so that signals reach it directly.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    os.execve(sys.executable, command, os.environ | {"MLFLOW_TRACKING_URI": uri, "PATH": path})


def serve_bench_command(task: str = "fraud", host: str = "127.0.0.1", port: int = 5001, batch: int = 1,
                        requests: int = 500, seconds: float = 30.0, store: Path = Path("mlruns")) -> None:
    """Measure a running `gatelab serve`: requests per second and p50/p99 latency from a local client.

    It sends the champion's stored input example (real test sequences), one request at a time, until
    `requests` are timed or `seconds` have passed (after 5 untimed requests).

    Args:
        task: the task whose champion the server serves.
        host: the server's address.
        port: the server's port.
        batch: sequences per request.
        requests: the most timed requests.
        seconds: the most seconds of timed requests.
        store: folder of the MLflow store (or $MLFLOW_TRACKING_URI), for the input example.
    """
    from gatelab.tracking.client import tracking_uri
    from gatelab.tracking.serving import bench_server, champion, input_example

    uri = tracking_uri(store)
    sequences = input_example(champion(task, uri), uri)
    url = f"http://{host}:{port}/invocations"
    result = bench_server(url, sequences, batch=batch, count=requests, seconds=seconds)
    print(f"gatelab: {url}: {result.requests} requests of {batch} sequence(s) of shape {sequences.shape[1:]} in "
          f"{result.seconds:.1f} s, one at a time: {result.per_second:.1f} requests/s; latency p50 "
          f"{result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms.", flush=True)
