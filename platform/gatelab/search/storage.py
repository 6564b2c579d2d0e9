"""Where the Optuna studies live, chosen by URL, and what lets several workers share them.

- No URL (the default): a ``JournalStorage`` file, ``<store>/optuna.journal``, safe for several
  processes on one machine (Optuna's FAQ rules SQLite out for that). A path ending in ``.journal``
  (or a ``file:`` URL) puts the journal elsewhere.
- ``postgresql://user:password@host:port/database``: an ``RDBStorage`` with heartbeats, for
  workers on several machines; a dead worker's trial is failed once its heartbeat is older than
  the grace period, and retried.

Each store also gives workers a lock (claims of new trials are made under it, which keeps the
budget exact) and a way to find the trials whose worker died.
"""

from __future__ import annotations

import abc
import contextlib
import fcntl
import hashlib
import os
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import optuna
from optuna.storages import JournalStorage, RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages.journal import JournalFileBackend, JournalFileSymlinkLock
from optuna.trial import FrozenTrial, TrialState

from gatelab.errors import ConfigError, DataError
from gatelab.tracking.client import redact
from gatelab.tracking.processes import owner_alive, owner_token
from gatelab.tracking.store import TIMEOUT_ENV, StoreError, store_errors, store_timeout
from gatelab.tracking.tags import WORKER

__all__ = ["OWNER_ATTR", "STORAGE_ENV", "BoundedSymlinkLock", "JournalBackend", "JournalStore", "PostgresStore",
           "StudyStore", "journal_path", "open_store", "owner_token"]

#: The environment variable read when no ``--storage`` is given (keeps passwords off command lines).
STORAGE_ENV = "GATELAB_STORAGE"
#: The trial's user attribute naming the worker process that runs it (``host:pid:start``).
OWNER_ATTR = WORKER
#: A killed trial is retried with the same hyperparameters at most this many times.
MAX_RETRY = 2

# Heartbeats and their retry callback are marked experimental in Optuna (since 2.8); they are what its docs advise.
warnings.filterwarnings("ignore", r".*(heartbeat|RetryHeartbeatStaleTrialCallback|fail_stale_trials)",
                        optuna.exceptions.ExperimentalWarning)
# Workers ask for trials themselves (claims under a lock) and run the heartbeat thread themselves.
warnings.filterwarnings("ignore", "Heartbeat of storage is supposed to be used with Study.optimize")

class StudyStore(abc.ABC):
    """One Optuna storage plus the lock and liveness checks that workers sharing it rely on."""

    storage: optuna.storages.BaseStorage
    #: the location, password redacted, for messages.
    display: str

    @abc.abstractmethod
    def lock(self, name: str) -> contextlib.AbstractContextManager[None]:
        """Hold the lock called ``name`` (one per sweep) for the duration of a ``with`` block."""

    @abc.abstractmethod
    def keepalive(self, trial_id: int) -> contextlib.AbstractContextManager[None]:
        """Keep a running trial marked alive for the duration of a ``with`` block."""

    def fail_stale(self, study: optuna.Study) -> list[FrozenTrial]:
        """Fail the trials whose worker is gone and queue each for a retry; returns them. Call under the lock.

        A running trial without an owner is stale too: a worker sets the owner while it still
        holds the lock in which it created the trial, so an ownerless one outlived its worker.
        """
        orphans = [trial for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
                   if OWNER_ATTR not in trial.user_attrs]
        for trial in orphans:
            self._fail(study, trial)
        return orphans + self._fail_dead(study)

    @staticmethod
    def _fail(study: optuna.Study, trial: FrozenTrial) -> None:
        study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
        RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY)(study, trial)

    @abc.abstractmethod
    def _fail_dead(self, study: optuna.Study) -> list[FrozenTrial]:
        """Fail (and queue for a retry) the owned running trials whose worker is gone; returns them."""


class BoundedSymlinkLock(JournalFileSymlinkLock):
    """Optuna's journal lock (a symbolic link beside the journal; taken from a holder when the journal has not
    changed for its grace period, 30 s, as Optuna does), waited for at most ``GATELAB_STORE_TIMEOUT`` seconds.

    Raises (``acquire``):
        StoreError: the lock stayed held past the limit, or the disk is full.
    """

    def acquire(self) -> bool:
        limit, start = store_timeout(), time.monotonic()
        pause, seen, since = 0.001, 0.0, start
        while True:
            try:
                with store_errors(self._lock_target_file):
                    os.symlink(self._lock_target_file, self._lock_file)
                return True
            except FileExistsError:
                pass
            now = time.monotonic()
            try:
                changed = os.stat(self._lock_file).st_mtime
            except OSError:  # released meanwhile
                continue
            if changed != seen:
                seen, since = changed, now
            if self.grace_period is not None and now - since > self.grace_period:
                with contextlib.suppress(RuntimeError):  # another process took it first
                    self.release()
                continue
            if now - start > limit:
                raise StoreError(f"{self._lock_file}: the study journal's lock stayed held for more than {limit:g} s "
                                 f"({TIMEOUT_ENV}); let the process holding it finish (or set {TIMEOUT_ENV} higher), "
                                 "then run the same command again to resume.")
            time.sleep(pause)
            pause = min(2 * pause, 0.5)


class JournalBackend(JournalFileBackend):
    """Optuna's journal file, its lock waited for within the limit (``BoundedSymlinkLock``).

    Raises (``append_logs``):
        StoreError: the lock stayed held past the limit, or the disk is full.
    """

    def __init__(self, path: Path) -> None:
        super().__init__(str(path), BoundedSymlinkLock(str(path)))

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        with store_errors(self._file_path):
            super().append_logs(logs)


def set_aside_partial_record(path: Path) -> None:
    """If the journal's last record was cut short (a crash mid-write), move it to a backup file and say so.

    Optuna appends whole records ending in a newline under its journal lock (``JournalFileSymlinkLock``);
    bytes after the last newline are a record that was never completed, and the next append would glue a
    whole record to them, which makes every later read fail. The check holds the same lock, so it never
    cuts a record another process is writing.
    """
    lock = BoundedSymlinkLock(str(path))
    lock.acquire()
    try:
        data = path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end == len(data):
            return
        backup = path.with_name(f"{path.name}.partial-{time.strftime('%Y%m%dT%H%M%S')}")
        backup.write_bytes(data[end:])
        os.truncate(path, end)
    finally:
        lock.release()
    print(f"gatelab: note: {path}: its last record was half-written (a crash mid-write?); set aside in {backup} "
          f"({len(data) - end} bytes). The trial it belonged to is retried.", file=sys.stderr, flush=True)


class JournalStore(StudyStore):
    """A journal file; the lock is an ``flock`` beside it, which the kernel releases when its holder dies."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.display = str(path)
        with store_errors(str(path)):
            backend = JournalBackend(path)
            set_aside_partial_record(path)
        try:
            self.storage = JournalStorage(backend)
        except (ValueError, KeyError) as error:  # json.JSONDecodeError is a ValueError
            raise DataError(f"{path}: a record of the study journal is damaged ({error}); restore the file from a "
                            "backup, or give a new --storage (a new journal) and start the sweep again.") from None

    @contextlib.contextmanager
    def lock(self, name: str) -> Iterator[None]:
        lock_path = self.path.with_name(f"{self.path.name}.{hashlib.sha256(name.encode()).hexdigest()[:12]}.lock")
        with open(lock_path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def keepalive(self, trial_id: int) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def _fail_dead(self, study: optuna.Study) -> list[FrozenTrial]:
        dead = [trial for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
                if OWNER_ATTR in trial.user_attrs and not owner_alive(trial.user_attrs[OWNER_ATTR])]
        for trial in dead:
            self._fail(study, trial)
        return dead


class PostgresStore(StudyStore):
    """PostgreSQL through ``RDBStorage`` with heartbeats; the lock is a session advisory lock.

    Args:
        url: the database URL (``postgresql://`` or ``postgresql+<driver>://``).
        heartbeat: seconds between a running trial's heartbeats; a trial whose last heartbeat is
            older than three of them is stale.
    """

    def __init__(self, url: str, heartbeat: int) -> None:
        import sqlalchemy

        self.display = redact(url)
        self.heartbeat = heartbeat
        if urlsplit(url).scheme.lower() == "postgresql":  # the driver this project installs (psycopg 3)
            url = "postgresql+psycopg" + url[len("postgresql"):]
        self._retry = _RecordingRetry()
        engine_kwargs = {"connect_args": {"connect_timeout": 10}, "pool_pre_ping": True}
        try:
            self.rdb = RDBStorage(url, engine_kwargs=engine_kwargs, heartbeat_interval=heartbeat,
                                  grace_period=3 * heartbeat, heartbeat_stale_trial_callback=self._retry)
            self._engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool, **engine_kwargs)
        except (sqlalchemy.exc.SQLAlchemyError, ImportError, ValueError) as error:
            reason = redact(" ".join(str(getattr(error, "orig", None) or error).split()))[:400]
            raise ConfigError(f"cannot open the study storage {self.display}: {reason}. Check the host, port, "
                              "database name and credentials (the database must exist), or leave --storage "
                              "out to use a journal file beside the MLflow store.") from None
        self.storage = self.rdb

    @contextlib.contextmanager
    def lock(self, name: str) -> Iterator[None]:
        import sqlalchemy

        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        with self._engine.connect() as connection:
            connection.execute(sqlalchemy.text("SELECT pg_advisory_lock(:key)"), {"key": key})
            try:
                yield
            finally:
                connection.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:key)"), {"key": key})

    @contextlib.contextmanager
    def keepalive(self, trial_id: int) -> Iterator[None]:
        self.rdb.record_heartbeat(trial_id)
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self.heartbeat):
                self.rdb.record_heartbeat(trial_id)

        thread = threading.Thread(target=beat, name=f"heartbeat-{trial_id}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def _fail_dead(self, study: optuna.Study) -> list[FrozenTrial]:
        """Optuna's own heartbeat check; its callback (``_retry``) records and retries what it fails."""
        self._retry.failed = []
        optuna.storages.fail_stale_trials(study)
        return self._retry.failed


class _RecordingRetry(RetryHeartbeatStaleTrialCallback):
    """Optuna's retry of heartbeat-stale trials, also noting which trials it saw."""

    def __init__(self) -> None:
        super().__init__(max_retry=MAX_RETRY)
        self.failed: list[FrozenTrial] = []

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self.failed.append(trial)
        super().__call__(study, trial)


def journal_path(store: Path) -> Path:
    """The default Optuna journal: ``optuna.journal`` beside the MLflow store."""
    return store / "optuna.journal"


def open_store(url: str | None, store: Path, heartbeat: int = 10) -> StudyStore:
    """The study store a URL names (see the module's docstring); ``None`` reads ``GATELAB_STORAGE``, then the default.

    Raises:
        ConfigError: an unsupported scheme, or a database that cannot be reached (password redacted).
    """
    url = url or os.environ.get(STORAGE_ENV) or None
    if url is None:
        return JournalStore(journal_path(store))
    scheme = urlsplit(url).scheme.lower()
    if scheme == "postgresql" or scheme.startswith("postgresql+"):
        return PostgresStore(url, heartbeat)
    if scheme == "file":
        return JournalStore(Path(urlsplit(url).path))
    if not scheme and url.endswith(".journal"):
        return JournalStore(Path(url))
    shown = redact(url)
    if scheme.startswith("sqlite"):
        raise ConfigError(f"study storage {shown}: SQLite is not safe for several concurrent workers (Optuna's FAQ); "
                          "leave --storage out for a journal file, or give a postgresql:// URL.")
    raise ConfigError(f"study storage {shown}: unsupported; give a postgresql://user@host:port/database URL, "
                      "a path ending in .journal, or nothing (a journal file beside the MLflow store).")
