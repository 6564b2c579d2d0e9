"""The champion over HTTP: finding it in the store, and measuring the server from a local client.

``gatelab serve`` runs MLflow's own scoring server (``mlflow models serve``) on a task's champion. The
server takes ``POST /invocations`` with ``{"inputs": [...]}``, a batch of sequences of shape ``(n,
history, features)`` as nested lists (MLflow's tensor input, checked against the model's signature; a
wrong shape or type is answered with 400), and answers ``{"predictions": [...]}``, one probability per
sequence.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import requests
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from torch import nn
from torchmetrics import MetricCollection

from gatelab.errors import GatelabError, MissingResultsError
from gatelab.settings import OptimConfig
from gatelab.tracking.client import redact
from gatelab.tracking.model_registry import CHAMPION, MODEL_ARTIFACT, registered_name, saved_example
from gatelab.training.experiment import Experiment, load_experiment
from gatelab.training.module import SequenceClassifier

__all__ = ["ServerBench", "bench_server", "champion", "champion_classifier", "input_example", "run_classifier"]


def champion(task: str, uri: str) -> ModelVersion:
    """The version of ``gatelab-<task>`` with the alias ``champion`` in the store at ``uri``.

    Raises:
        MissingResultsError: there is none (no sweep of the task has ended with a verdict yet).
    """
    name = registered_name(task)
    # A SQLite store that is not there yet stays so: MlflowClient would create an empty one.
    missing = uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists()
    try:
        if not missing:
            return MlflowClient(uri).get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        pass
    raise MissingResultsError(f"{redact(uri)}: no champion model of task '{task}' ({name}@{CHAMPION}); run "
                              f"`gatelab sweep --task {task}` first (its verdict registers the champion), or "
                              f"`gatelab report --task {task}` after a sweep run with --seeds 0.", task)


def _run_of(version: ModelVersion) -> str:
    """The run a model version was registered from (gatelab registers every version from a run).

    Raises:
        MissingResultsError: the version names no run (registered by hand from a path).
    """
    if version.run_id is None:
        raise MissingResultsError(f"model version {version.name}/{version.version} names no run (it was registered "
                                  "from a path): register the champion with `gatelab report`.",
                                  version.name.removeprefix("gatelab-"))
    return version.run_id


def champion_classifier(task: str, uri: str) -> tuple[SequenceClassifier, Experiment]:
    """The champion of a classification task as a ``SequenceClassifier`` whose cell can be stepped (for
    ``gatelab.training.streaming.StreamingScorer``), and the config of the run that trained it
    (``run_classifier`` of the champion's run).

    Raises:
        MissingResultsError: the task has no champion.
    """
    return run_classifier(task, MlflowClient(uri), _run_of(champion(task, uri)))


def run_classifier(task: str, client: MlflowClient, run_id: str) -> tuple[SequenceClassifier, Experiment]:
    """The model a run of a classification task saved, as a ``SequenceClassifier`` whose cell can be stepped,
    and the run's config.

    The saved model is an exported program, whose recurrent layer is traced into its graph and cannot
    take one step at a time; its weights (``module.net.*``) go into the backbone its run's ``config.yaml``
    describes.
    """
    import mlflow.pytorch  # here: importing it configures logging, which a plain sweep does not need

    with tempfile.TemporaryDirectory() as folder:
        experiment = load_experiment(task, [client.download_artifacts(run_id, "config.yaml", folder)])
        exported = mlflow.pytorch.load_model(client.download_artifacts(run_id, MODEL_ARTIFACT, folder))
    weights = {key.removeprefix("module.net."): value for key, value in exported.state_dict().items()
               if key.startswith("module.net.")}
    input_size, output_size = weights["encoder.weight"].shape[1], weights["head.weight"].shape[0]
    classifier = SequenceClassifier(input_size, output_size, experiment.model, OptimConfig(),
                                    nn.Identity(), MetricCollection({}))
    classifier.net.load_state_dict(weights)
    return classifier.eval(), experiment


def input_example(version: ModelVersion, uri: str) -> np.ndarray:
    """The real test sequences stored with the model version as its input example, ``(rows, history, features)``."""
    with tempfile.TemporaryDirectory() as folder:
        return saved_example(MlflowClient(uri).download_artifacts(_run_of(version), MODEL_ARTIFACT, folder))


@dataclass(frozen=True)
class ServerBench:
    """Requests answered by the server, timed at the client.

    Args:
        requests: timed requests (after the warm-up).
        sequences: sequences per request.
        seconds: wall seconds of the timed requests.
        p50_ms: median latency of a request, milliseconds.
        p99_ms: 99th-percentile latency, milliseconds.
    """

    requests: int
    sequences: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def per_second(self) -> float:
        """Requests per second, one client sending one request at a time."""
        return self.requests / self.seconds


def bench_server(url: str, sequences: np.ndarray, batch: int = 1, count: int = 500, seconds: float = 30.0,
                 warmup: int = 5) -> ServerBench:
    """Send ``batch`` sequences per request to ``url`` (``.../invocations``), one request at a time, until
    ``count`` are timed or ``seconds`` have passed.

    Args:
        url: the server's invocations endpoint.
        sequences: ``(rows, history, features)`` sequences to send, cycled through.
        batch: sequences per request.
        count: the most timed requests.
        seconds: the most wall seconds of timed requests.
        warmup: untimed requests first.

    Raises:
        GatelabError: the server is not there, or answers with an error.
    """
    rows = np.resize(np.arange(len(sequences)), (count + warmup, batch))
    bodies = [{"inputs": sequences[index].tolist()} for index in rows]
    latencies = []
    with requests.Session() as session:
        start = time.perf_counter()
        for number, body in enumerate(bodies):
            if number == warmup:
                start = time.perf_counter()
            sent = time.perf_counter()
            try:
                answer = session.post(url, json=body, timeout=60)
            except requests.ConnectionError:
                raise GatelabError(f"{url}: no server answers; start one with `gatelab serve` (--port for another "
                                   "port) and run the bench beside it.") from None
            if answer.status_code != 200:
                raise GatelabError(f"{url}: the server answered {answer.status_code}: {answer.text[:300]}")
            if number >= warmup:
                latencies.append(time.perf_counter() - sent)
                if time.perf_counter() - start > seconds:
                    break
        wall = time.perf_counter() - start
    milliseconds = np.array(latencies) * 1000
    return ServerBench(len(latencies), batch, wall, statistics.median(milliseconds),
                       float(np.percentile(milliseconds, 99)))

