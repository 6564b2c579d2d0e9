"""The MLflow client of one task: the store, its experiment, runs created and logged in batches."""

from __future__ import annotations

import functools
import inspect
import logging
import os
import re
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunStatus, RunTag
from mlflow.exceptions import MlflowException
from mlflow.utils.time import get_current_time_millis

from gatelab.errors import ConfigError
from gatelab.tracking import tags as tag
from gatelab.tracking.processes import owner_alive, owner_token
from gatelab.tracking.store import StoreError, store_errors, wait_for_locks

if TYPE_CHECKING:
    from gatelab.training.experiment import Experiment

__all__ = ["StoreClient", "Tracker", "artifact_root", "flatten", "git_sha", "redact", "run_params", "store_name",
           "store_relative_uri", "tracking_uri"]

_CREDENTIALS = re.compile(r"(?P<head>[a-zA-Z][\w+.-]*://[^:/@\s]*):(?P<password>[^@\s]*)@")
# MLflow caps a param value's length; longer values are cut rather than refused.
_MAX_PARAM = 6000
# MLflow's limit of metrics per log_batch call.
_MAX_METRICS = 1000

logging.getLogger("alembic").setLevel(logging.WARNING)
# MLflow logs every SQLAlchemy error of its store with a traceback before raising it; the error itself is reported.
logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)


def redact(text: str) -> str:
    """``scheme://user:secret@host`` -> ``scheme://user:***@host``, wherever it occurs in ``text``."""
    return _CREDENTIALS.sub(r"\g<head>:***@", text)


def tracking_uri(store: Path) -> str:
    """``MLFLOW_TRACKING_URI`` if set, else a SQLite database in ``store``.

    Raises:
        ConfigError: ``MLFLOW_TRACKING_URI`` names a plain folder (MLflow's file store, which MLflow 3
            refuses unless ``MLFLOW_ALLOW_FILE_STORE=true``).
    """
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        return f"sqlite:///{store.resolve() / 'mlflow.db'}"
    file_store = urlsplit(uri).scheme in ("", "file")
    if file_store and os.environ.get("MLFLOW_ALLOW_FILE_STORE", "").lower() != "true":
        folder = Path(urlsplit(uri).path).expanduser().resolve()
        raise ConfigError(f"MLFLOW_TRACKING_URI={uri}: a plain folder is MLflow's file store, which MLflow 3 refuses; "
                          f"set MLFLOW_TRACKING_URI=sqlite:///{folder / 'mlflow.db'} (a database in that folder), "
                          "unset it to use the store's own database, or set MLFLOW_ALLOW_FILE_STORE=true for the "
                          "file store.")
    return uri


def store_relative_uri(uri: str, store: Path) -> str:
    """``uri`` with its password redacted and the store folder's path written ``<store>``: how a sweep's studies
    record where its runs go, so that a store folder moved or copied whole still pairs with its runs."""
    return redact(uri).replace(str(store.resolve()), "<store>")


def store_name(uri: str) -> str:
    """A tracking store as messages name it: a SQLite database by its path, another store by its URI (redacted)."""
    return uri.removeprefix("sqlite:///") if uri.startswith("sqlite:///") else redact(uri)


_Method = TypeVar("_Method", bound=Callable[..., Any])


def _raising_store_errors(method: _Method) -> _Method:
    @functools.wraps(method)
    def call(self: StoreClient, *args: Any, **kwargs: Any) -> Any:
        with store_errors(self.store_name):
            return method(self, *args, **kwargs)

    return call  # type: ignore[return-value]  # same signature as ``method``, which ``functools.wraps`` does not say


class StoreClient(MlflowClient):
    """``MlflowClient`` whose every public method raises ``StoreError`` (naming the store) when the store stays
    locked past the limit or its disk is full (``gatelab.tracking.store``)."""

    def __init__(self, uri: str) -> None:
        wait_for_locks()
        self.store_name = store_name(uri)
        with store_errors(self.store_name):
            super().__init__(uri)


for _name, _method in vars(MlflowClient).items():
    if not _name.startswith("_") and inspect.isfunction(_method):
        setattr(StoreClient, _name, _raising_store_errors(_method))


def artifact_root(uri: str, store: Path) -> Path:
    """Where a local tracking store keeps artifacts: beside its SQLite database, else ``store/artifacts``."""
    if uri.startswith("sqlite:///"):
        return Path(uri.removeprefix("sqlite:///")).resolve().parent / "artifacts"
    return store.resolve() / "artifacts"


@functools.cache
def git_sha() -> str:
    """The source's commit, with ``-dirty`` when it has uncommitted changes; ``unknown`` outside git.

    Read once per process: two ``git`` calls per trial would add to every trial's start-up.
    """
    root = Path(__file__).resolve().parents[3]
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return sha.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def run_params(experiment: Experiment, leave_out: tuple[str, ...] = ("search_space", "sweep")) -> dict[str, Any]:
    """A run's params: its settings flattened, without the keys ``leave_out`` (a trial's run: the search space
    and the sweep's settings; a sweep's parent run keeps its settings)."""
    return flatten(experiment.settings(leave_out))


class Tracker:
    """One task's MLflow experiment (``gatelab-<task>``, or ``experiment``), with its artifacts under
    ``store/artifacts``.

    Every run it creates or reopens is tagged with this process (``gatelab.worker``, ``host:pid:start``) until
    it ends: a run left RUNNING by a process that is gone is closed as killed when its parent is reopened.
    """

    def __init__(self, store: Path, task: str, experiment: str | None = None) -> None:
        store.mkdir(parents=True, exist_ok=True)
        self.client = StoreClient(tracking_uri(store))
        # Asynchronous logging runs on one worker thread of ours rather than through MLflow's async
        # queue: ending a run shuts that queue down, which waits on its polling thread (~0.5 s a run).
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gatelab-mlflow")
        self._pending: dict[str, list[Future[Any]]] = {}
        #: set once closing a run after a store failure failed too: later closes are not waited for.
        self._unwritable = False
        #: the store failure of an asynchronous batch, raised by the next write of the training thread.
        self._failure: StoreError | None = None
        name = experiment or f"gatelab-{task}"
        found = self.client.get_experiment_by_name(name)
        if found is None:
            # A tracking server keeps the artifacts itself; a local store keeps them beside its database.
            remote = self.client.tracking_uri.startswith(("http://", "https://"))
            artifacts = None if remote else artifact_root(self.client.tracking_uri, store).as_uri()
            try:
                self.experiment_id = self.client.create_experiment(name, artifact_location=artifacts)
            except MlflowException:  # another worker created it first
                created = self.client.get_experiment_by_name(name)
                if created is None:
                    raise
                self.experiment_id = created.experiment_id
        else:
            self.experiment_id = found.experiment_id

    def find_parent(self, sweep_id: str) -> str | None:
        """The run id of a sweep's parent run, if the sweep ran before."""
        runs = self.client.search_runs(
            [self.experiment_id],
            filter_string=f"tags.`{tag.SWEEP}` = '{sweep_id}' and tags.`{tag.ROLE}` = '{tag.ROLE_SWEEP}'",
            max_results=1,
        )
        return runs[0].info.run_id if runs else None

    def start_run(self, name: str, tags: Mapping[str, str], params: Mapping[str, Any] = {},
                  parent: str | None = None) -> str:
        """Create a run with its tags and params in one batch; returns its id."""
        all_tags = ({key: redact(str(value)) for key, value in tags.items()} | {tag.WORKER: owner_token()}
                    | ({tag.PARENT: parent} if parent else {}))
        run = self.client.create_run(self.experiment_id, run_name=name, tags=all_tags)
        self.log_params(run.info.run_id, params)
        return run.info.run_id

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Log params in batches of 100 (MLflow's limit per call), with any password in a URL redacted."""
        items = [Param(key, redact(str(value))[:_MAX_PARAM]) for key, value in params.items()]
        for start in range(0, len(items), 100):
            self.client.log_batch(run_id, params=items[start : start + 100])

    def log_metrics(self, run_id: str, metrics: Mapping[str, float], step: int = 0,
                    synchronous: bool = True) -> None:
        """Log several metrics at one step in one call."""
        now = get_current_time_millis()
        self._log_batch(run_id, [Metric(key, float(value), now, step) for key, value in metrics.items()], synchronous)

    def log_series(self, run_id: str, key: str, values: Sequence[float], steps: Sequence[int],
                   timestamps: Sequence[int]) -> None:
        """Log many points of one metric asynchronously, in as few calls as MLflow allows."""
        points = [Metric(key, value, time, step) for value, step, time in zip(values, steps, timestamps)]
        for start in range(0, len(points), _MAX_METRICS):
            self._log_batch(run_id, points[start : start + _MAX_METRICS], synchronous=False)

    def _log_batch(self, run_id: str, metrics: list[Metric], synchronous: bool) -> None:
        if self._failure is not None:  # an asynchronous batch failed: the command is ending, say so now
            raise self._failure
        if synchronous:
            self.client.log_batch(run_id, metrics=metrics)
        else:
            self._pending.setdefault(run_id, []).append(self._worker.submit(self._log_queued, run_id, metrics))

    def _log_queued(self, run_id: str, metrics: list[Metric]) -> None:
        """One asynchronous batch; after one has failed, the batches still queued are dropped (each would wait
        for the store again)."""
        if self._failure is None:
            try:
                self.client.log_batch(run_id, metrics=metrics)
            except StoreError as failure:
                self._failure = failure
                raise

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        """Set tags, with any password in a URL redacted."""
        self.client.log_batch(run_id, tags=[RunTag(key, redact(str(value))) for key, value in tags.items()])

    def wait(self, run_id: str) -> None:
        """Wait until a run's asynchronous logging has reached the store.

        Raises:
            StoreError: the store stayed locked past the limit, or its disk is full.
        """
        for pending in self._pending.pop(run_id, []):
            pending.result()

    def end_run(self, run_id: str, status: str) -> None:
        """Close a run as ``FINISHED``, ``FAILED`` or ``KILLED``, after its pending async logging."""
        self.wait(run_id)
        self.client.set_terminated(run_id, status=status)

    def close(self, run_id: str, status: str, state: str) -> None:
        """Tag the run's ``gatelab.state`` and end it with MLflow ``status``, after its pending async logging."""
        self.wait(run_id)
        self.set_tags(run_id, {tag.STATE: state})
        self.end_run(run_id, status)

    def close_after_failure(self, run_id: str, status: str, state: str, failure: StoreError) -> None:
        """Close a run after the store failed with ``failure``: once, waiting for the store as any write does;
        if that fails too, this and every later run closed so are left for the next start (no more waits),
        noted in ``failure.unclosed``. The run's pending asynchronous logging is dropped."""
        for pending in self._pending.pop(run_id, []):
            pending.cancel()
        if not self._unwritable:
            try:
                self.close(run_id, status, state)
                return
            except StoreError:
                self._unwritable = True
        failure.unclosed.append(run_id)

    def __getstate__(self) -> dict[str, Any]:
        """A copy for another process (DDP): the same store and experiment, a client and logging thread of its own."""
        return {"uri": self.client.tracking_uri, "experiment_id": self.experiment_id}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.client, self.experiment_id = StoreClient(state["uri"]), state["experiment_id"]
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gatelab-mlflow")
        self._pending = {}
        self._unwritable, self._failure = False, None

    def copy_artifacts(self, source: str, target: str, path: str, dest: str) -> None:
        """Copy the artifact folder ``path`` of run ``source`` to folder ``dest`` of run ``target``, if it exists."""
        if not self.client.list_artifacts(source, path):
            return
        with tempfile.TemporaryDirectory() as temp:
            self.client.log_artifacts(target, self.client.download_artifacts(source, path, temp), dest)

    def reopen(self, run_id: str) -> None:
        """Mark a run RUNNING again, held by this process, and close as killed its children left RUNNING by a
        process that is gone (a command that ended while the store was unwritable, a killed worker)."""
        self.client.update_run(run_id, status=RunStatus.to_string(RunStatus.RUNNING))
        self.set_tags(run_id, {tag.WORKER: owner_token()})
        for run in self.children(run_id, status="RUNNING"):
            owner = run.data.tags.get(tag.WORKER)
            if owner and not owner_alive(owner):
                self.close(run.info.run_id, "KILLED", "killed")

    def children(self, parent: str, status: str | None = None) -> list[Any]:
        """The child runs of a parent run, only those with ``status`` (e.g. ``RUNNING``) if given."""
        where = f"tags.`{tag.PARENT}` = '{parent}'" + (f" and attributes.status = '{status}'" if status else "")
        return self.client.search_runs([self.experiment_id], filter_string=where, max_results=10000)
